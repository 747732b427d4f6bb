"""Handoffs from the AI to a human, and what the humans teach back."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.conversations.models import Conversation
from apps.stores.models import HandoffDestination, Store
from convix.tenancy import StoreScopedManager


class HandoffTrigger(models.TextChoices):
    LOW_CONFIDENCE = "LOW_CONFIDENCE", "Low confidence"
    AMBIGUOUS_INTENT = "AMBIGUOUS_INTENT", "Ambiguous intent"
    ANGER_DETECTED = "ANGER_DETECTED", "Anger detected"
    EXPLICIT_REQUEST = "EXPLICIT_REQUEST", "Asked for a human"
    HIGH_VALUE_AT_RISK = "HIGH_VALUE_AT_RISK", "High value at risk"
    UNRESOLVED_AFTER_3 = "UNRESOLVED_AFTER_3", "Unresolved after 3 replies"


class HandoffStatus(models.TextChoices):
    OPEN = "OPEN", "Waiting for a human"
    ASSIGNED = "ASSIGNED", "Taken by an agent"
    TICKETED = "TICKETED", "Ticket opened in the helpdesk"
    RESOLVED = "RESOLVED", "Resolved"


class Handoff(models.Model):
    """A conversation passed to a person, with the AI's summary and, once resolved, a learning note."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="handoffs")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    trigger = models.CharField(max_length=30, choices=HandoffTrigger.choices)
    status = models.CharField(max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.OPEN)
    destination = models.CharField(
        max_length=20, choices=HandoffDestination.choices, default=HandoffDestination.LIVE_AGENT
    )
    summary = models.TextField(blank=True)
    confidence = models.FloatField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="handoffs"
    )
    helpdesk_ticket_id = models.CharField(max_length=100, blank=True)
    helpdesk_ticket_url = models.URLField(max_length=500, blank=True)
    learning_note = models.TextField(blank=True)
    learned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["store", "status", "-created_at"], name="handoff_store_status"),
            models.Index(fields=["store", "-created_at"], name="handoff_store_created"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} · {self.conversation_id}"
