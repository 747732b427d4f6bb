from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.channels"
    # Its own label, so it never collides with the Django Channels library.
    label = "convix_channels"
    verbose_name = "Channels"
