"""Realtime events: built here and only here, sent on commit, to exactly one audience each.

Two audiences, two group names:

- ``widget_group(conversation_id)``: the shopper's widget sockets of ONE conversation. They get
  the public view of that conversation's messages (never SYSTEM messages, internal metadata,
  handoff summaries or another conversation's anything), typing state and status changes.
- ``dashboard_group(store_id)``: the store's members in the dashboard. They get everything about
  their own store's conversations (``conversation:new``, ``conversation:updated``, ``message:new``,
  ``handoff:triggered``, ``analytics:update``).

Services call the ``*_on_commit`` functions inside their transaction; the events leave only when
the transaction commits, so a rolled-back write never reaches a screen. Sending goes through the
configured channel layer (channels-redis in distributed mode, in memory in the embedded default),
so an event raised in a Celery worker reaches sockets held by a web process.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Count, Q

from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole

logger = logging.getLogger(__name__)

# The consumer method the layer calls for every event ("realtime.event" → realtime_event).
LAYER_MESSAGE_TYPE = "realtime.event"
# What a shopper may see of an AI message's metadata.
WIDGET_METADATA_KEYS = ("products", "orders", "quick_replies")


def widget_group(conversation_id) -> str:
    return f"widget.conversation.{conversation_id}"


def dashboard_group(store_id) -> str:
    return f"dashboard.store.{store_id}"


# --- payloads ------------------------------------------------------------------------------


def agent_display_name(user) -> str:
    """What a shopper sees of a human agent: the first name only (never the email)."""
    if user is None:
        return ""
    name = (getattr(user, "name", "") or "").strip()
    return name.split()[0] if name else "Our team"


def widget_message(message: Message) -> dict | None:
    """The shopper's view of a message, or None for a message the shopper must not see."""
    if message.role == MessageRole.SYSTEM:
        return None
    metadata = message.metadata or {}
    payload = {
        "id": str(message.id),
        "role": message.role,
        "text": message.content,
        "created_at": message.created_at.isoformat(),
    }
    if message.role == MessageRole.AI:
        payload["confidence"] = metadata.get("confidence") or {}
        payload["handoff_trigger"] = metadata.get("handoff_trigger")
        for key in WIDGET_METADATA_KEYS:
            payload[key] = _public_list(key, metadata.get(key) or [])
    if message.role == MessageRole.AGENT:
        payload["agent_name"] = agent_display_name(message.author)
    if message.role == MessageRole.USER and metadata.get("client_id"):
        payload["client_id"] = metadata["client_id"]
    return payload


def _public_list(key: str, items: list) -> list:
    """Product and order cards without internal fields (stock counts stay, B2B tiers only if present)."""
    if key == "products":
        fields = ("id", "title", "price", "max_price", "currency", "url", "image_url", "in_stock")
        return [{field: item.get(field) for field in fields} for item in items if isinstance(item, dict)]
    if key == "orders":
        fields = ("number", "status", "carrier", "tracking_number", "tracking_url", "total", "currency")
        return [{field: item.get(field) for field in fields} for item in items if isinstance(item, dict)]
    return [str(item)[:120] for item in items][:6]


def dashboard_message(message: Message) -> dict:
    """The team's view of a message: everything, including the confidence breakdown and evidence."""
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "role": message.role,
        "text": message.content,
        "confidence": message.confidence,
        "metadata": message.metadata or {},
        "author": {"id": str(message.author_id), "name": agent_display_name(message.author)}
        if message.author_id
        else None,
        "created_at": message.created_at.isoformat(),
    }


def dashboard_conversation(conversation: Conversation) -> dict:
    customer = conversation.customer if conversation.customer_id else None
    return {
        "id": str(conversation.id),
        "channel_type": conversation.channel_type,
        "status": conversation.status,
        "subject": conversation.subject,
        "sentiment": conversation.sentiment,
        "intent_score": conversation.intent_score,
        "cart_value": str(conversation.cart_value),
        "is_customer_verified": conversation.is_customer_verified,
        "customer": {"id": str(customer.id), "name": customer.name, "email": customer.email}
        if customer
        else None,
        "assigned_agent": {
            "id": str(conversation.assigned_agent_id),
            "name": agent_display_name(conversation.assigned_agent),
        }
        if conversation.assigned_agent_id
        else None,
        "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
    }


def widget_conversation_state(conversation: Conversation) -> dict:
    """The shopper's view of the conversation itself: its status and who is answering."""
    return {
        "status": conversation.status,
        "agent_name": agent_display_name(conversation.assigned_agent)
        if conversation.assigned_agent_id
        else "",
    }


# --- sending -------------------------------------------------------------------------------


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": LAYER_MESSAGE_TYPE, "event": event})
    except Exception:  # noqa: BLE001 - a realtime hiccup must never fail the write that caused it
        logger.exception("could not send realtime event %s to %s", event.get("type"), group)


def send_on_commit(group: str, event: dict) -> None:
    """Send ``event`` to ``group`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(group, event))


def message_created_on_commit(message: Message) -> None:
    """``message:new`` to the store's team; the public message to the conversation's widget."""
    send_on_commit(
        dashboard_group(message.store_id), {"type": "message:new", "message": dashboard_message(message)}
    )
    public = widget_message(message)
    if public is not None:
        send_on_commit(widget_group(message.conversation_id), {"type": "message", "message": public})
        if message.role in (MessageRole.AI, MessageRole.AGENT):
            send_on_commit(widget_group(message.conversation_id), {"type": "typing", "is_typing": False})


def typing_on_commit(conversation: Conversation, *, is_typing: bool, who: str = "ai") -> None:
    """The typing indicator for the shopper (the AI or an agent is writing)."""
    send_on_commit(widget_group(conversation.id), {"type": "typing", "is_typing": is_typing, "who": who})


def reply_stream(conversation_id, stream_id):
    """A sink for a reply being written (``agent.StreamSink``): each checked sentence goes to the
    conversation's widget as ``reply.delta`` at once (no transaction is open while the model
    writes); ``None`` sends ``reply.discard``. The saved message (``message``) replaces the draft."""
    group = widget_group(conversation_id)
    stream = str(stream_id)

    def sink(text: str | None) -> None:
        if text is None:
            _send(group, {"type": "reply.discard", "stream": stream})
        else:
            _send(group, {"type": "reply.delta", "stream": stream, "text": text})

    return sink


def conversation_new_on_commit(conversation: Conversation) -> None:
    send_on_commit(
        dashboard_group(conversation.store_id),
        {"type": "conversation:new", "conversation": dashboard_conversation(conversation)},
    )
    analytics_update_on_commit(conversation.store_id)


def conversation_updated_on_commit(conversation: Conversation) -> None:
    """The new status (and agent) to the team and, in its public form, to the shopper."""
    send_on_commit(
        dashboard_group(conversation.store_id),
        {"type": "conversation:updated", "conversation": dashboard_conversation(conversation)},
    )
    send_on_commit(
        widget_group(conversation.id), {"type": "conversation", **widget_conversation_state(conversation)}
    )
    analytics_update_on_commit(conversation.store_id)


def handoff_triggered_on_commit(handoff) -> None:
    """``handoff:triggered`` (with the AI's summary) to the team; only the new status to the shopper."""
    conversation = handoff.conversation
    send_on_commit(
        dashboard_group(handoff.store_id),
        {
            "type": "handoff:triggered",
            "handoff": {
                "id": str(handoff.id),
                "conversation_id": str(handoff.conversation_id),
                "trigger": handoff.trigger,
                "status": handoff.status,
                "destination": handoff.destination,
                "summary": handoff.summary,
                "created_at": handoff.created_at.isoformat(),
            },
            "conversation": dashboard_conversation(conversation),
        },
    )
    send_on_commit(
        widget_group(conversation.id), {"type": "conversation", **widget_conversation_state(conversation)}
    )
    analytics_update_on_commit(handoff.store_id)


def analytics_counts(store_id) -> dict:
    """Live counters for the dashboard header (one aggregate query)."""
    counts = Conversation.objects.filter(store_id=store_id).aggregate(
        active=Count("id", filter=Q(status=ConvStatus.ACTIVE)),
        handed_off=Count("id", filter=Q(status=ConvStatus.HANDED_OFF)),
        waiting=Count("id", filter=Q(status=ConvStatus.HANDED_OFF, assigned_agent__isnull=True)),
    )
    return counts


def analytics_update_on_commit(store_id) -> None:
    def send():
        from convix.tenancy import store_scope

        with store_scope(store_id):
            counts = analytics_counts(store_id)
        _send(dashboard_group(store_id), {"type": "analytics:update", "counts": counts})

    transaction.on_commit(send)
