"""/dashboard/channels[/<channel>] and /dashboard/widget."""

from django.urls import path

from apps.channels import views

urlpatterns = [
    path("dashboard/channels", views.channel_list, name="dashboard-channels"),
    path("dashboard/channels/new", views.channel_new, name="dashboard-channel-new"),
    path("dashboard/channels/<uuid:channel_id>", views.channel_detail, name="dashboard-channel"),
    path("dashboard/channels/<uuid:channel_id>/test", views.channel_test, name="dashboard-channel-test"),
    path(
        "dashboard/channels/<uuid:channel_id>/delete", views.channel_delete, name="dashboard-channel-delete"
    ),
    path("dashboard/widget", views.widget_customizer, name="dashboard-widget"),
    path("dashboard/widget/enable", views.widget_enable, name="dashboard-widget-enable"),
]
