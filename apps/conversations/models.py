"""Customers, conversations, messages and the ledger of inbound messages."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from apps.channels.models import Channel, ChannelType
from apps.stores.models import Store
from convix.tenancy import StoreScopedManager


class Customer(models.Model):
    """One shopper across channels: the widget, WhatsApp, SMS, email, ... of one store."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # {"WHATSAPP": "+13035550123", "INSTAGRAM": "1784...", "MESSENGER": "PSID", "SLACK": "U123"}
    channel_ids = models.JSONField(default=dict, blank=True)
    is_opted_out = models.BooleanField(default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    accepts_marketing = models.BooleanField(default=False)
    is_b2b = models.BooleanField(default=False)
    company = models.CharField(max_length=200, blank=True)
    account_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="b2b_accounts",
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "email"], condition=~models.Q(email=""), name="customer_unique_store_email"
            )
        ]
        indexes = [
            models.Index(fields=["store", "phone"]),
            GinIndex(fields=["channel_ids"], name="customer_channel_ids"),
        ]
        ordering = ["name", "email"]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or str(self.id)


class ConvStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    HANDED_OFF = "HANDED_OFF", "Handed off"
    RESOLVED = "RESOLVED", "Resolved"
    ABANDONED = "ABANDONED", "Abandoned"


class Conversation(models.Model):
    """A thread between a shopper and the store on one channel."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="conversations")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    channel_type = models.CharField(
        max_length=20, choices=ChannelType.choices, default=ChannelType.WEB_WIDGET
    )
    # The provider's thread (email Message-ID chain, Slack thread_ts, ...).
    external_thread_id = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, choices=ConvStatus.choices, default=ConvStatus.ACTIVE)
    subject = models.CharField(max_length=300, blank=True)
    # -1 (negative) .. 1 (positive), the latest reading of the shopper's messages.
    sentiment = models.FloatField(default=0.0)
    # 0 .. 1, how likely the shopper is to buy.
    intent_score = models.FloatField(default=0.0)
    last_intent = models.CharField(max_length=40, blank=True)
    cart_value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    revenue_attributed = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    attributed_order_number = models.CharField(max_length=50, blank=True)
    # AI replies in a row that did not resolve the shopper's question (for UNRESOLVED_AFTER_3).
    unresolved_turns = models.PositiveSmallIntegerField(default=0)
    is_customer_verified = models.BooleanField(default=False)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    last_message_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["store", "-last_message_at", "id"], name="conv_store_recent"),
            models.Index(fields=["store", "status", "-last_message_at"], name="conv_store_status_recent"),
            models.Index(
                fields=["store", "channel_type", "-last_message_at"], name="conv_store_channel_recent"
            ),
            models.Index(fields=["store", "-created_at"], name="conv_store_created"),
            models.Index(fields=["store", "customer"], name="conv_store_customer"),
        ]
        ordering = ["-last_message_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_type_display()} conversation {str(self.id)[:8]}"


class MessageRole(models.TextChoices):
    USER = "USER", "Shopper"
    AI = "AI", "AI agent"
    AGENT = "AGENT", "Human agent"
    SYSTEM = "SYSTEM", "System"


class DeliveryStatus(models.TextChoices):
    NOT_APPLICABLE = "", "—"
    PENDING = "PENDING", "Pending"
    SENT = "SENT", "Sent"
    DELIVERED = "DELIVERED", "Delivered"
    READ = "READ", "Read"
    FAILED = "FAILED", "Failed"


class Message(models.Model):
    """One message in a conversation.

    For AI messages, ``confidence`` is the composite score and ``metadata`` holds the breakdown
    (factual, intent, emotional), the evidence (chunk ids, product ids, order refs), the intent
    and the handoff decision.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    content = models.TextField()
    confidence = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The provider's id of an outbound message once sent, and its delivery state.
    external_id = models.CharField(max_length=300, blank=True)
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.NOT_APPLICABLE, blank=True
    )
    # For an AI message: the inbound message it answers. Unique, so a second worker running the same
    # ``ai.reply`` task can never save (and send) a second reply: the database refuses it.
    reply_to = models.OneToOneField(
        "InboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="reply"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conversation_time"),
            # The analytics figures of a period (counts by role, average AI confidence) read this
            # index alone (an index-only scan) instead of the store's whole message table.
            models.Index(
                fields=["store", "created_at"], include=["role", "confidence"], name="message_store_time"
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


class InboundOutcome(models.TextChoices):
    RECEIVED = "RECEIVED", "Received, not yet answered"
    REPLIED = "REPLIED", "Answered by the AI"
    HANDED_OFF = "HANDED_OFF", "Handed to a human"
    HUMAN = "HUMAN", "Answered by a human"
    IGNORED = "IGNORED", "Ignored (echo, opt-out, empty)"


class InboundMessage(models.Model):
    """The ledger of inbound provider messages: idempotency and "nothing lost".

    One row per provider message id and channel type. A duplicate delivery finds its row and is
    dropped. Every row ends with an outcome; a periodic sweeper re-queues rows still RECEIVED.
    At most one AI message answers a row (``Message.reply_to`` is unique).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="inbound_messages")
    channel_type = models.CharField(max_length=20, choices=ChannelType.choices)
    provider_message_id = models.CharField(max_length=300)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="inbound_messages"
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="inbound_record"
    )
    outcome = models.CharField(max_length=12, choices=InboundOutcome.choices, default=InboundOutcome.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the reply was last queued by the sweeper or started by a worker: the sweeper waits a
    # full period after it before queueing the message again (null: never since it was received).
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "channel_type", "provider_message_id"], name="inbound_unique_provider_id"
            )
        ]
        indexes = [models.Index(fields=["outcome", "received_at"], name="inbound_outcome_received")]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.channel_type} {self.provider_message_id} → {self.outcome}"
