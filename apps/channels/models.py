"""Connected messaging transports of a store."""

from __future__ import annotations

import uuid

from django.db import models
from encrypted_fields.fields import EncryptedJSONField

from apps.stores.models import Store
from convix.tenancy import StoreScopedManager


class ChannelType(models.TextChoices):
    WEB_WIDGET = "WEB_WIDGET", "Web widget"
    WHATSAPP = "WHATSAPP", "WhatsApp"
    SMS = "SMS", "SMS"
    INSTAGRAM = "INSTAGRAM", "Instagram"
    MESSENGER = "MESSENGER", "Messenger"
    EMAIL = "EMAIL", "Email"
    SLACK = "SLACK", "Slack"


class ChannelStatus(models.TextChoices):
    PENDING = "PENDING", "Not tested yet"
    CONNECTED = "CONNECTED", "Connected"
    ERROR = "ERROR", "Error"


class Channel(models.Model):
    """A transport a store's shoppers write through.

    ``config`` holds credentials and is encrypted at rest; it is write-only outside the server.
    ``public_config`` holds what is safe to show (phone number, page id, inbound address).
    ``routing_key`` is how an inbound webhook finds its channel (WhatsApp phone_number_id,
    Messenger page id, Twilio number, inbound email address, Slack team id).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="channels")
    type = models.CharField(max_length=20, choices=ChannelType.choices)
    name = models.CharField(max_length=120, blank=True)
    config = EncryptedJSONField(default=dict, null=True, blank=True)
    public_config = models.JSONField(default=dict, blank=True)
    routing_key = models.CharField(max_length=200, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.PENDING)
    last_error = models.TextField(blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["type", "routing_key"],
                condition=~models.Q(routing_key=""),
                name="channel_unique_type_routing_key",
            ),
            models.UniqueConstraint(
                fields=["store"],
                condition=models.Q(type="WEB_WIDGET"),
                name="channel_one_web_widget_per_store",
            ),
        ]
        ordering = ["store", "type"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} · {self.store}"
