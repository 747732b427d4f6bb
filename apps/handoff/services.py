"""Handoffs: creating them with an AI summary, assigning, resolving with a learning note."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from apps.handoff.models import Handoff, HandoffStatus
from apps.stores.models import HandoffDestination, Store, StoreSettings

TRIGGER_REASONS = {
    "LOW_CONFIDENCE": "the AI was not confident enough to answer",
    "AMBIGUOUS_INTENT": "the AI could not tell what the shopper wants",
    "ANGER_DETECTED": "the shopper is upset",
    "EXPLICIT_REQUEST": "the shopper asked for a person",
    "HIGH_VALUE_AT_RISK": "a high-value cart or quote is at stake",
    "UNRESOLVED_AFTER_3": "three replies did not resolve the shopper's issue",
}


def handoff_summary(*, conversation: Conversation, trigger: str, context: dict | None = None) -> str:
    """A short brief for the human: the issue, what was tried, customer and order context."""
    context = context or {}
    messages = list(
        Message.objects.filter(store=conversation.store, conversation=conversation).order_by("created_at")
    )
    shopper = [m.content for m in messages if m.role == MessageRole.USER]
    ai = [m for m in messages if m.role == MessageRole.AI]
    lines = [f"Handed off because {TRIGGER_REASONS.get(trigger, trigger)}."]
    if shopper:
        lines.append(f"Shopper's latest message: “{shopper[-1][:300]}”")
        if len(shopper) > 1:
            lines.append(
                f"Earlier: “{shopper[0][:200]}”"
                + (f" (+{len(shopper) - 2} more)" if len(shopper) > 2 else "")
            )
    if ai:
        intents = sorted({m.metadata.get("intent", "") for m in ai if m.metadata.get("intent")})
        lines.append(f"AI replies so far: {len(ai)}; topics: {', '.join(intents) or 'none'}.")
        last = ai[-1].metadata.get("confidence", {})
        if last:
            lines.append(
                f"Last confidence {last.get('composite')} (factual {last.get('factual')}, intent {last.get('intent')}, emotional {last.get('emotional')})."
            )
    customer = conversation.customer
    if customer:
        who = ", ".join(x for x in (customer.name, customer.email, customer.phone) if x)
        if customer.is_b2b:
            who += f" · B2B account {customer.company}".rstrip()
        lines.append(
            f"Customer: {who or 'anonymous'}; verified: {'yes' if conversation.is_customer_verified else 'no'}."
        )
    if context.get("orders"):
        lines.append("Orders discussed: " + ", ".join(context["orders"]) + ".")
    if context.get("at_risk_value"):
        lines.append(f"Value at stake: {context['at_risk_value']} {conversation.store.currency}.")
    lines.append(f"Sentiment {conversation.sentiment:+.2f}; purchase intent {conversation.intent_score:.2f}.")
    return "\n".join(lines)


@transaction.atomic
def handoff_create(
    *,
    store: Store,
    conversation: Conversation,
    trigger: str,
    confidence: float | None = None,
    context: dict | None = None,
) -> Handoff:
    """Hand ``conversation`` to a human. Idempotent: an open handoff is returned as is.

    The conversation row is locked first, so two concurrent calls (a redelivered task, the sweeper
    asking again) create one handoff, not two.
    """
    Conversation.objects.select_for_update().filter(store=store, pk=conversation.pk).first()
    existing = (
        Handoff.objects.filter(store=store, conversation=conversation)
        .exclude(status=HandoffStatus.RESOLVED)
        .order_by("-created_at")
        .first()
    )
    if existing:
        return existing
    settings = StoreSettings.objects.filter(store=store).first()
    handoff = Handoff.objects.create(
        store=store,
        conversation=conversation,
        trigger=trigger,
        confidence=confidence,
        destination=settings.handoff_destination if settings else HandoffDestination.LIVE_AGENT,
        summary=handoff_summary(conversation=conversation, trigger=trigger, context=context),
    )
    Conversation.objects.filter(store=store, pk=conversation.pk).update(
        status=ConvStatus.HANDED_OFF, updated_at=timezone.now()
    )
    conversation.status = ConvStatus.HANDED_OFF
    from apps.conversations import events

    events.handoff_triggered_on_commit(handoff)
    return handoff


@transaction.atomic
def handoff_resolve(*, store: Store, handoff: Handoff, by, learning_note: str = "") -> Handoff:
    """Close the handoff (and its conversation), keeping the agent's note for the learning loop."""
    handoff = Handoff.objects.select_for_update().get(store=store, pk=handoff.pk)
    handoff.status = HandoffStatus.RESOLVED
    handoff.resolved_at = timezone.now()
    handoff.assigned_to = handoff.assigned_to or by
    # PostgreSQL text cannot hold NUL; a note pasted from anywhere may carry one.
    handoff.learning_note = str(learning_note or "").replace("\x00", "").strip()
    handoff.save(update_fields=["status", "resolved_at", "assigned_to", "learning_note"])
    Conversation.objects.filter(store=store, pk=handoff.conversation_id).update(
        status=ConvStatus.RESOLVED, resolved_at=timezone.now(), updated_at=timezone.now()
    )
    return handoff


# --- live agents (the dashboard socket's actions) -----------------------------------------------


class AgentActionError(Exception):
    """A refused agent action, with a stable ``code`` and a message for the agent."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _conversation_for_agent(*, store: Store, conversation_id, agent) -> Conversation:
    """The conversation, locked, if ``agent`` may act on it (unassigned or theirs)."""
    from django.core.exceptions import ValidationError

    try:
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer", "assigned_agent")
            .filter(store=store, pk=conversation_id)
            .first()
        )
    except (ValidationError, ValueError, TypeError):
        conversation = None
    if conversation is None:
        raise AgentActionError("not_found", "No such conversation.")
    if conversation.assigned_agent_id and conversation.assigned_agent_id != agent.pk:
        from apps.conversations.events import agent_display_name

        raise AgentActionError(
            "taken",
            f"{agent_display_name(conversation.assigned_agent)} is already handling this conversation.",
        )
    return conversation


def _take(store: Store, conversation: Conversation, agent) -> None:
    from apps.conversations import events

    now = timezone.now()
    conversation.assigned_agent = agent
    conversation.status = ConvStatus.HANDED_OFF
    conversation.save(update_fields=["assigned_agent", "status", "updated_at"])
    Handoff.objects.filter(store=store, conversation=conversation).exclude(
        status__in=(HandoffStatus.RESOLVED, HandoffStatus.ASSIGNED)
    ).update(status=HandoffStatus.ASSIGNED, assigned_to=agent, assigned_at=now)
    events.conversation_updated_on_commit(conversation)


@transaction.atomic
def conversation_join(*, store: Store, conversation_id, agent) -> Conversation:
    """``agent`` takes the conversation: the AI stops answering and the shopper sees their name.

    Only one agent holds a conversation; another agent's attempt is refused (``taken``).
    """
    conversation = _conversation_for_agent(store=store, conversation_id=conversation_id, agent=agent)
    if conversation.status == ConvStatus.RESOLVED:
        raise AgentActionError("resolved", "This conversation is resolved.")
    if conversation.assigned_agent_id != agent.pk:
        _take(store, conversation, agent)
    return conversation


@transaction.atomic
def agent_message_send(*, store: Store, conversation_id, agent, text) -> Message:
    """A human agent's reply; takes the conversation first if nobody holds it."""
    from apps.conversations import events
    from apps.conversations.services import check_message_text
    from apps.stores.scoping import enqueue_on_commit

    try:
        text = check_message_text(text)
    except Exception as error:  # ValidationError: empty, too long, not text
        raise AgentActionError("invalid_message", getattr(error, "messages", [str(error)])[0]) from error
    conversation = _conversation_for_agent(store=store, conversation_id=conversation_id, agent=agent)
    if conversation.assigned_agent_id != agent.pk:
        _take(store, conversation, agent)
    message = Message.objects.create(
        store=store, conversation=conversation, role=MessageRole.AGENT, content=text, author=agent
    )
    Conversation.objects.filter(store=store, pk=conversation.pk).update(
        last_message_at=message.created_at, updated_at=timezone.now()
    )
    events.message_created_on_commit(message)
    # Delivery through the conversation's channel (WhatsApp, email, ...) happens in this fan-out.
    enqueue_on_commit("conversations.message_created", store_id=str(store.id), message_id=str(message.id))
    return message


@transaction.atomic
def conversation_resolve(*, store: Store, conversation_id, agent, learning_note: str = "") -> Conversation:
    """Close the conversation (and its open handoff, keeping the learning note)."""
    from apps.conversations import events

    conversation = _conversation_for_agent(store=store, conversation_id=conversation_id, agent=agent)
    handoff = (
        Handoff.objects.filter(store=store, conversation=conversation)
        .exclude(status=HandoffStatus.RESOLVED)
        .order_by("-created_at")
        .first()
    )
    if handoff is not None:
        handoff_resolve(store=store, handoff=handoff, by=agent, learning_note=str(learning_note or "")[:5000])
    else:
        Conversation.objects.filter(store=store, pk=conversation.pk).update(
            status=ConvStatus.RESOLVED, resolved_at=timezone.now(), updated_at=timezone.now()
        )
    if conversation.assigned_agent_id is None:  # whoever resolves it answered for it
        Conversation.objects.filter(store=store, pk=conversation.pk).update(assigned_agent=agent)
    conversation.refresh_from_db()
    events.conversation_updated_on_commit(conversation)
    return conversation


STATUS_CHANGES = {ConvStatus.ACTIVE, ConvStatus.RESOLVED, ConvStatus.ABANDONED}


@transaction.atomic
def conversation_status_set(
    *, store: Store, conversation: Conversation, status: str, by=None
) -> Conversation:
    """Set a conversation's status from the dashboard or the API.

    RESOLVED resolves its open handoffs too (``by`` is the human, or None for an integration);
    ACTIVE reopens it (the AI answers again); ABANDONED closes it without resolving. A handoff
    is started with :func:`handoff_create`, not here. Raises ValidationError otherwise.
    """
    from django.core.exceptions import ValidationError

    if status not in STATUS_CHANGES:
        raise ValidationError(
            {"status": ["Set ACTIVE, RESOLVED or ABANDONED; hand off with the handoff endpoint."]}
        )
    conversation = Conversation.objects.select_for_update().get(store=store, pk=conversation.pk)
    if status == ConvStatus.RESOLVED:
        for handoff in Handoff.objects.filter(store=store, conversation=conversation).exclude(
            status=HandoffStatus.RESOLVED
        ):
            handoff_resolve(store=store, handoff=handoff, by=by)
    conversation.status = status
    conversation.resolved_at = timezone.now() if status == ConvStatus.RESOLVED else None
    conversation.save(update_fields=["status", "resolved_at", "updated_at"])
    from apps.conversations import events

    events.conversation_updated_on_commit(conversation)
    return conversation


@transaction.atomic
def agent_status_set(*, store: Store, conversation_id, agent, status: str) -> Conversation:
    """:func:`conversation_status_set` by a human agent in the dashboard: refused (``taken``) when
    another agent holds the conversation, like every other agent action. Raises AgentActionError
    or ValidationError (a status that cannot be set by hand)."""
    conversation = _conversation_for_agent(store=store, conversation_id=conversation_id, agent=agent)
    return conversation_status_set(store=store, conversation=conversation, status=status, by=agent)
