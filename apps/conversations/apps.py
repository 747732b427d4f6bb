from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.conversations"
    label = "conversations"
    verbose_name = "Conversations"

    def ready(self):
        # Register this app's Celery tasks in every process (web included), so tasks queued
        # by name find them.
        from apps.conversations import tasks  # noqa: F401
