"""``/onboarding/<step>``: the set-up steps after sign-up (views in ``apps.stores.onboarding``)."""

from django.urls import path

from apps.stores import onboarding

urlpatterns = [
    path("onboarding", onboarding.resume, name="onboarding"),
    path("onboarding/connect-store", onboarding.connect_store, name="onboarding-connect-store"),
    path("onboarding/train-ai", onboarding.train_ai, name="onboarding-train-ai"),
    path("onboarding/train-ai/status", onboarding.train_ai_status, name="onboarding-train-ai-status"),
    path("onboarding/customize", onboarding.customize, name="onboarding-customize"),
    path("onboarding/channels", onboarding.channels, name="onboarding-channels"),
    path("onboarding/go-live", onboarding.go_live, name="onboarding-go-live"),
]
