from django.apps import AppConfig


class TrainingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.training"
    label = "training"
    verbose_name = "Training"

    def ready(self):
        # Register this app's Celery tasks in every process (web included), so tasks queued
        # by name find them.
        from apps.training import tasks  # noqa: F401
