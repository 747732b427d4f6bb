"""The message pipeline: every channel calls these.

receive (save the shopper's message, ledger row, ack) → ``ai.reply`` task → ``agent_reply``
(run the agent, save the AI message, update the conversation, hand off when triggered).
Every inbound message ends with an outcome on its ``InboundMessage`` row: REPLIED, HANDED_OFF,
HUMAN or IGNORED. ``inbound_sweep`` re-queues rows left RECEIVED by a dead worker and hands off
the ones that keep failing, so nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.channels.models import Channel, ChannelType
from apps.conversations import events
from apps.conversations.models import (
    Conversation,
    ConvStatus,
    Customer,
    InboundMessage,
    InboundOutcome,
    Message,
    MessageRole,
)
from apps.stores.models import Store
from apps.stores.scoping import enqueue_on_commit
from convix.ai import offline_engine
from convix.tenancy import store_scope, unscoped

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
SENTIMENT_SMOOTHING = 0.5


def customer_resolve(
    *,
    store: Store,
    channel_type: str,
    external_id: str = "",
    email: str = "",
    name: str = "",
    phone: str = "",
) -> Customer:
    """The store's customer behind a channel identity or email, created on first contact."""
    email = (email or "").strip().lower()
    customer = None
    if email:
        customer = Customer.objects.filter(store=store, email__iexact=email).first()
    if customer is None and external_id:
        customer = Customer.objects.filter(
            store=store, channel_ids__contains={channel_type: external_id}
        ).first()
    if customer is None and phone:
        customer = Customer.objects.filter(store=store, phone=phone).first()
    if customer is None:
        customer = Customer.objects.create(store=store, email=email, name=name, phone=phone)
    changed = []
    if external_id and customer.channel_ids.get(channel_type) != external_id:
        customer.channel_ids = {**customer.channel_ids, channel_type: external_id}
        changed.append("channel_ids")
    if name and not customer.name:
        customer.name = name
        changed.append("name")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def conversation_start(
    *,
    store: Store,
    channel_type: str = ChannelType.WEB_WIDGET,
    channel: Channel | None = None,
    customer: Customer | None = None,
    is_customer_verified: bool = False,
    subject: str = "",
    metadata: dict | None = None,
) -> Conversation:
    conversation = Conversation.objects.create(
        store=store,
        channel=channel,
        channel_type=channel_type,
        customer=customer,
        is_customer_verified=is_customer_verified,
        subject=subject[:300],
        metadata=metadata or {},
    )
    events.conversation_new_on_commit(conversation)
    return conversation


def check_message_text(text: str) -> str:
    """The message text, stripped; a clear error for empty or oversized input."""
    if not isinstance(text, str):
        raise ValidationError("The message must be text.", code="invalid")
    text = text.replace("\x00", "").strip()
    if not text:
        raise ValidationError("The message is empty.", code="empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationError(f"The message is longer than {MAX_MESSAGE_CHARS} characters.", code="too_long")
    return text


def message_receive(
    *,
    store: Store,
    conversation: Conversation,
    text: str,
    provider_message_id: str = "",
    metadata: dict | None = None,
) -> tuple[Message, bool]:
    """Save a shopper's message and queue the AI reply. Returns (message, is_new).

    A repeated ``provider_message_id`` (a provider retry) returns the first message and queues
    nothing. A conversation with a human in charge routes the message to the human.
    """
    text = check_message_text(text)
    key = provider_message_id or f"local:{uuid.uuid4()}"
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            store=store,
            channel_type=conversation.channel_type,
            provider_message_id=key[:300],
            defaults={"conversation": conversation},
        )
        if not created:
            return inbound.message, False
        message = Message.objects.create(
            store=store,
            conversation=conversation,
            role=MessageRole.USER,
            content=text,
            metadata=metadata or {},
        )
        inbound.message = message
        now = timezone.now()
        updates = {"last_message_at": now, "updated_at": now}
        if conversation.status in (ConvStatus.RESOLVED, ConvStatus.ABANDONED):
            updates["status"] = ConvStatus.ACTIVE
        Conversation.objects.filter(store=store, pk=conversation.pk).update(**updates)
        for key_name, value in updates.items():
            setattr(conversation, key_name, value)
        if conversation.status == ConvStatus.HANDED_OFF:
            inbound.outcome = InboundOutcome.HUMAN
            inbound.completed_at = now
        inbound.save()
        events.message_created_on_commit(message)
        if inbound.outcome == InboundOutcome.RECEIVED:
            events.typing_on_commit(conversation, is_typing=True)
            # Robust: with the broker down the message is still saved and acknowledged; the
            # sweeper queues it later.
            enqueue_on_commit("ai.reply", robust=True, store_id=str(store.id), inbound_id=str(inbound.id))
    return message, True


def _claim(store: Store, inbound_id) -> InboundMessage | None:
    with transaction.atomic():
        inbound = (
            InboundMessage.objects.select_for_update(of=("self",))
            .select_related("conversation", "message")
            .filter(store=store, pk=inbound_id)
            .first()
        )
        if inbound is None or inbound.outcome != InboundOutcome.RECEIVED or inbound.message is None:
            return None
        inbound.attempts += 1
        inbound.last_attempt_at = timezone.now()
        inbound.save(update_fields=["attempts", "last_attempt_at"])
        return inbound


def agent_reply(*, store: Store, inbound_id) -> Message | None:
    """Answer one inbound message (the ``ai.reply`` task). Idempotent.

    The agent runs outside any transaction; its result is saved only if the ledger row is still
    unanswered, so a duplicate task never sends a second reply. If the agent itself fails, the
    conversation is handed to a human rather than left unanswered.
    """
    inbound = _claim(store, inbound_id)
    if inbound is None:
        return None
    conversation = inbound.conversation
    if conversation.status == ConvStatus.HANDED_OFF:
        _finish(store, inbound, InboundOutcome.HUMAN)
        return None
    from apps.conversations.agent import run_agent

    try:
        reply = run_agent(
            store=store,
            conversation=conversation,
            message=inbound.message,
            on_stream=events.reply_stream(conversation.id, stream_id=inbound.id),
        )
    except Exception as error:  # noqa: BLE001 - any agent failure becomes a handoff, never silence
        logger.exception("agent failed on inbound %s", inbound.id)
        return _save_failure_handoff(store, inbound, error)
    return _save_reply(store, inbound, reply)


def _finish(store: Store, inbound: InboundMessage, outcome: str, error: str = "") -> None:
    InboundMessage.objects.filter(store=store, pk=inbound.pk).update(
        outcome=outcome, completed_at=timezone.now(), last_error=error[:2000]
    )


def _create_reply(**fields) -> Message | None:
    """The AI message answering the ledger row ``reply_to`` (locked by the caller).

    If that inbound message already has its reply, the database refuses a second one
    (``Message.reply_to`` is unique): the row is closed from the existing reply and None returned.
    """
    inbound = fields["reply_to"]
    try:
        with transaction.atomic():
            return Message.objects.create(role=MessageRole.AI, **fields)
    except IntegrityError:
        existing = Message.objects.filter(store=inbound.store_id, reply_to=inbound).first()
        if existing is None:
            raise
    logger.warning("inbound %s already has its reply %s; a second one was refused", inbound.pk, existing.pk)
    outcome = (
        InboundOutcome.HANDED_OFF if existing.metadata.get("handoff_trigger") else InboundOutcome.REPLIED
    )
    InboundMessage.objects.filter(store=inbound.store_id, pk=inbound.pk).update(
        outcome=outcome, completed_at=timezone.now()
    )
    return None


def _enqueue_handoff(store: Store, conversation_id, request: dict) -> None:
    enqueue_on_commit(
        "handoff.create", robust=True, store_id=str(store.id), conversation_id=str(conversation_id), **request
    )


def _save_reply(store: Store, inbound: InboundMessage, reply) -> Message | None:
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(store=store, pk=inbound.pk)
        if locked.outcome != InboundOutcome.RECEIVED:
            return None  # another worker answered first
        conversation = Conversation.objects.select_for_update().get(store=store, pk=inbound.conversation_id)
        metadata = reply.metadata()
        if reply.trigger:
            # Kept with the reply so the sweeper can ask again if the handoff task is lost.
            metadata["handoff_request"] = {
                "trigger": reply.trigger,
                "confidence": reply.confidence.composite,
                "context": {
                    "orders": [o["number"] for o in reply.orders],
                    "at_risk_value": str(reply.at_risk_value) if reply.at_risk_value else "",
                },
            }
        message = _create_reply(
            store=store,
            conversation=conversation,
            reply_to=locked,
            content=reply.text,
            confidence=reply.confidence.composite,
            metadata=metadata,
        )
        if message is None:
            return None
        events.message_created_on_commit(message)
        u = reply.understanding
        conversation.sentiment = round(
            (1 - SENTIMENT_SMOOTHING) * conversation.sentiment + SENTIMENT_SMOOTHING * u.sentiment, 4
        )
        conversation.intent_score = round(max(u.purchase_intent, 0.7 * conversation.intent_score), 4)
        conversation.last_intent = str(u.intent)
        conversation.unresolved_turns = min(int(reply.state.get("unresolved_turns", 0)), 32000)
        recommended = conversation.metadata.get("recommended_products", [])
        recommended = list(dict.fromkeys([*recommended, *[p["id"] for p in reply.products]]))[-50:]
        conversation.metadata = {
            **conversation.metadata,
            "agent": reply.state,
            "recommended_products": recommended,
        }
        if reply.at_risk_value > conversation.cart_value:
            conversation.cart_value = Decimal(reply.at_risk_value)
        conversation.last_message_at = timezone.now()
        if reply.trigger:
            conversation.status = ConvStatus.HANDED_OFF
        conversation.save()
        locked.outcome = InboundOutcome.HANDED_OFF if reply.trigger else InboundOutcome.REPLIED
        locked.completed_at = timezone.now()
        locked.save(update_fields=["outcome", "completed_at"])
        if reply.trigger:
            _enqueue_handoff(store, conversation.id, metadata["handoff_request"])
        enqueue_on_commit(
            "conversations.message_created", robust=True, store_id=str(store.id), message_id=str(message.id)
        )
    return message


def _save_failure_handoff(store: Store, inbound: InboundMessage, error: Exception) -> Message | None:
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(store=store, pk=inbound.pk)
        if locked.outcome != InboundOutcome.RECEIVED:
            return None
        handoff_request = {"trigger": "LOW_CONFIDENCE", "confidence": 0.0, "context": {}}
        message = _create_reply(
            store=store,
            conversation_id=inbound.conversation_id,
            reply_to=locked,
            content=offline_engine.HANDOFF_MESSAGES["LOW_CONFIDENCE"],
            confidence=0.0,
            metadata={
                "engine": "fallback",
                "handoff_trigger": "LOW_CONFIDENCE",
                "error": type(error).__name__,
                "handoff_request": handoff_request,
            },
        )
        if message is None:
            return None
        events.message_created_on_commit(message)
        Conversation.objects.filter(store=store, pk=inbound.conversation_id).update(
            status=ConvStatus.HANDED_OFF, last_message_at=timezone.now(), updated_at=timezone.now()
        )
        locked.outcome = InboundOutcome.HANDED_OFF
        locked.completed_at = timezone.now()
        locked.last_error = f"{type(error).__name__}: {error}"[:2000]
        locked.save(update_fields=["outcome", "completed_at", "last_error"])
        _enqueue_handoff(store, inbound.conversation_id, handoff_request)
        enqueue_on_commit(
            "conversations.message_created", robust=True, store_id=str(store.id), message_id=str(message.id)
        )
    return message


def inbound_sweep(*, older_than: timedelta = timedelta(seconds=60), max_attempts: int = 3) -> dict:
    """Bring every inbound message to an outcome: the ledger's safety net, run by Celery beat.

    - Re-queues ``ai.reply`` for messages still unanswered ``older_than`` after they were last
      received, queued or started (a killed worker, a broker that lost its queue). Timing from the
      last attempt, not from receipt, keeps a backlog from being queued again on every sweep.
    - Hands off the ones that were started ``max_attempts`` times without an outcome.
    - Asks again for the handoff of a message handed off ``older_than`` ago whose conversation got
      no handoff since (the handoff task was lost with the broker).

    Visits stores one at a time.
    """
    now = timezone.now()
    cutoff = now - older_than
    idle = Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at__isnull=True, received_at__lt=cutoff)
    with unscoped("maintenance"):
        stuck = list(
            InboundMessage.objects.filter(idle, outcome=InboundOutcome.RECEIVED)
            .select_related("store")
            .order_by("received_at")[:500]
        )
        handoffs_lost = list(
            InboundMessage.objects.filter(
                Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff),
                outcome=InboundOutcome.HANDED_OFF,
                completed_at__lt=cutoff,
                completed_at__gte=now - timedelta(days=1),
                reply__metadata__has_key="handoff_request",
            )
            .exclude(conversation__handoffs__created_at__gte=F("completed_at"))
            .select_related("store", "reply")
            .order_by("completed_at")[:500]
        )
    requeued = handed_off = handoffs_requested = 0
    for inbound in stuck:
        with store_scope(inbound.store):
            if inbound.attempts >= max_attempts:
                if _save_failure_handoff(inbound.store, inbound, RuntimeError("no reply after retries")):
                    handed_off += 1
                continue
            with transaction.atomic():
                InboundMessage.objects.filter(
                    store=inbound.store, pk=inbound.pk, outcome=InboundOutcome.RECEIVED
                ).update(last_attempt_at=timezone.now())
                enqueue_on_commit(
                    "ai.reply", robust=True, store_id=str(inbound.store_id), inbound_id=str(inbound.id)
                )
            requeued += 1
    for inbound in handoffs_lost:
        with store_scope(inbound.store), transaction.atomic():
            # A full period before asking again, so a slow handoff task is not asked for twice.
            InboundMessage.objects.filter(store=inbound.store, pk=inbound.pk).update(
                last_attempt_at=timezone.now()
            )
            _enqueue_handoff(
                inbound.store, inbound.conversation_id, inbound.reply.metadata["handoff_request"]
            )
        handoffs_requested += 1
    return {"requeued": requeued, "handed_off": handed_off, "handoffs_requested": handoffs_requested}
