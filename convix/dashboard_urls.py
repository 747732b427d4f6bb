"""Dashboard and onboarding pages (Django templates). Each area's pages live in its own app."""

from django.urls import include, path

from apps.stores.dashboard import switch_store

urlpatterns = [
    path("dashboard/switch-store", switch_store, name="dashboard-switch-store"),
    # /dashboard (overview), /dashboard/conversations[/<id>]
    path("", include("apps.conversations.dashboard_urls")),
    # /dashboard/analytics
    path("", include("apps.analytics.dashboard_urls")),
    # /dashboard/training
    path("", include("apps.training.dashboard_urls")),
    # /dashboard/channels[/<channel>], /dashboard/widget
    path("", include("apps.channels.dashboard_urls")),
    # /dashboard/settings[/escalation|/team|/billing], /onboarding/<step>
    path("", include("apps.stores.dashboard_urls")),
    # /onboarding/{connect-store,train-ai,customize,channels,go-live}
    path("", include("apps.stores.onboarding_urls")),
]
