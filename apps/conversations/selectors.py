"""Reads of conversations for the dashboard and the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.conversations.models import Conversation, Message
from apps.stores.models import Store


@dataclass(frozen=True)
class ConversationFilters:
    status: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    handed_off: bool | None = None
    q: str | None = None


def conversation_list(*, store: Store, filters: ConversationFilters | None = None) -> QuerySet[Conversation]:
    """The store's conversations, most recent activity first, with their customer.

    ``since``/``until`` bound the start (``created_at``); ``handed_off`` keeps those that were
    (or were never) handed to a human; ``q`` searches the subject, the customer's name, email
    and phone, and the messages' text.
    """
    from apps.handoff.models import Handoff

    filters = filters or ConversationFilters()
    conversations = Conversation.objects.filter(store=store).select_related("customer")
    if filters.status:
        conversations = conversations.filter(status=filters.status)
    if filters.channel:
        conversations = conversations.filter(channel_type=filters.channel)
    if filters.since:
        conversations = conversations.filter(created_at__gte=filters.since)
    if filters.until:
        conversations = conversations.filter(created_at__lt=filters.until)
    if filters.handed_off is not None:
        handed = Exists(Handoff.objects.filter(store=store, conversation=OuterRef("pk")))
        conversations = conversations.filter(handed if filters.handed_off else ~handed)
    if filters.q:
        text = filters.q.strip()
        in_messages = Exists(
            Message.objects.filter(store=store, conversation=OuterRef("pk"), content__icontains=text)
        )
        conversations = conversations.filter(
            Q(subject__icontains=text)
            | Q(customer__name__icontains=text)
            | Q(customer__email__icontains=text)
            | Q(customer__phone__icontains=text)
            | in_messages
        )
    return conversations


# The columns of a list row: the conversation's own and its customer's summary (one LEFT JOIN).
CONVERSATION_ROW_FIELDS = (
    "id",
    "status",
    "channel_type",
    "channel_id",
    "subject",
    "sentiment",
    "intent_score",
    "last_intent",
    "cart_value",
    "revenue_attributed",
    "assigned_agent_id",
    "last_message_at",
    "created_at",
    "resolved_at",
    "customer_id",
    "customer__name",
    "customer__email",
    "customer__phone",
    "customer__is_b2b",
)


def conversation_list_rows(*, store: Store, filters: ConversationFilters | None = None) -> QuerySet[dict]:
    """:func:`conversation_list` as plain rows (``CONVERSATION_ROW_FIELDS``) for the API's list:
    no model instances, no unused columns (metadata, channel ids)."""
    return conversation_list(store=store, filters=filters).values(*CONVERSATION_ROW_FIELDS)


def conversation_get(*, store: Store, conversation_id) -> Conversation:
    """One of the store's conversations; another store's, a missing one and a malformed id all
    raise Conversation.DoesNotExist."""
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        raise Conversation.DoesNotExist("No such conversation.") from None
    return Conversation.objects.select_related("customer").get(store=store, pk=pk)


def conversation_messages(*, store: Store, conversation: Conversation, limit: int = 500) -> list[Message]:
    """The latest ``limit`` messages of a conversation, oldest first."""
    latest = Message.objects.filter(store=store, conversation=conversation).order_by("-created_at", "-id")[
        :limit
    ]
    return list(reversed(latest))
