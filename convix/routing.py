"""WebSocket routes: the shopper's widget socket and the team's dashboard socket.

The widget socket authenticates by conversation token (no cookies), so it checks the Origin
against the store's allowed domains itself; the dashboard socket uses the session cookie, so it
keeps Django's allowed-hosts origin check against cross-site socket hijacking.
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from apps.conversations.consumers import DashboardConsumer, WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/widget/<str:store_id>/", WidgetConsumer.as_asgi()),
    path(
        "ws/dashboard/<str:store_id>/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi())),
    ),
]
