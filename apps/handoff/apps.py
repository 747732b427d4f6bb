from django.apps import AppConfig


class HandoffConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.handoff"
    label = "handoff"
    verbose_name = "Handoff"

    def ready(self):
        # Register this app's Celery tasks in every process (web included), so tasks queued
        # by name find them.
        from apps.handoff import tasks  # noqa: F401
