"""``/v1/widget/<store_id>/...``: the public widget API."""

from django.urls import path

from apps.channels.widget import views

urlpatterns = [
    path("<str:store_id>/config", views.WidgetConfigView.as_view(), name="widget-config"),
    path("<str:store_id>/conversation", views.WidgetConversationView.as_view(), name="widget-conversation"),
    path("<str:store_id>/message", views.WidgetMessageView.as_view(), name="widget-message"),
]
