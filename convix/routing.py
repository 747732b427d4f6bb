"""WebSocket routes (the widget and dashboard sockets are added by the realtime layer)."""

websocket_urlpatterns: list = []
