from django.apps import AppConfig


class HandoffConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.handoff"
    label = "handoff"
    verbose_name = "Handoff"
