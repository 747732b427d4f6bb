from django.urls import path

from apps.conversations import views

urlpatterns = [
    path("dashboard", views.overview, name="dashboard"),
    path("dashboard/conversations", views.conversation_list, name="dashboard-conversations"),
    path(
        "dashboard/conversations/<str:conversation_id>",
        views.conversation_detail,
        name="dashboard-conversation",
    ),
    path(
        "dashboard/conversations/<str:conversation_id>/join",
        views.conversation_join,
        name="dashboard-conversation-join",
    ),
    path(
        "dashboard/conversations/<str:conversation_id>/reply",
        views.conversation_reply,
        name="dashboard-conversation-reply",
    ),
    path(
        "dashboard/conversations/<str:conversation_id>/resolve",
        views.conversation_resolve,
        name="dashboard-conversation-resolve",
    ),
    path(
        "dashboard/conversations/<str:conversation_id>/status",
        views.conversation_status,
        name="dashboard-conversation-status",
    ),
]
