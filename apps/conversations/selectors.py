"""Reads of conversations for the dashboard and the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
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


# --- the dashboard's conversation pages ------------------------------------------------------

# Sentiment bands of the dashboard's filter, on the conversation's -1 .. 1 reading.
SENTIMENT_BANDS = {
    "negative": (None, -0.25),
    "neutral": (-0.25, 0.25),
    "positive": (0.25, None),
}
PREVIEW_CHARS = 140


@dataclass(frozen=True)
class ConversationPage:
    """One page of list rows and the keyset cursors around it (None: no such page)."""

    rows: list[dict]
    next_after: tuple[datetime, uuid.UUID] | None
    previous_before: tuple[datetime, uuid.UUID] | None


def conversation_page(
    *,
    store: Store,
    filters: ConversationFilters | None = None,
    sentiment: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 25,
) -> ConversationPage:
    """A page of :func:`conversation_list_rows` for the dashboard, keyset-paginated on
    (``last_message_at``, ``id``) descending, the API's order.

    ``after`` gives the page following that row, ``before`` the page preceding it (at most one
    of them). ``sentiment`` is a key of ``SENTIMENT_BANDS``. Each row also carries the
    assigned agent's name and ``preview``, the start of the conversation's latest message.
    Two queries, whatever the page size.
    """
    from django.db.models.functions import Left

    rows = conversation_list(store=store, filters=filters)
    if sentiment in SENTIMENT_BANDS:
        low, high = SENTIMENT_BANDS[sentiment]
        if low is not None:
            rows = rows.filter(sentiment__gte=low)
        if high is not None:
            rows = rows.filter(sentiment__lt=high)
    rows = rows.values(*CONVERSATION_ROW_FIELDS, "assigned_agent__name")
    if before is not None:
        at, pk = before
        rows = rows.filter(Q(last_message_at__gt=at) | Q(last_message_at=at, id__gt=pk))
        page = list(rows.order_by("last_message_at", "id")[: limit + 1])
        has_more = len(page) > limit
        page = list(reversed(page[:limit]))
        has_newer, has_older = has_more, True
    else:
        if after is not None:
            at, pk = after
            rows = rows.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=pk))
        page = list(rows.order_by("-last_message_at", "-id")[: limit + 1])
        has_older = len(page) > limit
        page = page[:limit]
        has_newer = after is not None
    if page:
        previews = dict(
            Message.objects.filter(store=store, conversation_id__in=[row["id"] for row in page])
            .exclude(role=MessageRole.SYSTEM)
            .order_by("conversation_id", "-created_at")
            .distinct("conversation_id")
            .values_list("conversation_id", Left("content", PREVIEW_CHARS))
        )
        for row in page:
            row["preview"] = previews.get(row["id"], "")
    return ConversationPage(
        rows=page,
        next_after=(page[-1]["last_message_at"], page[-1]["id"]) if page and has_older else None,
        previous_before=(page[0]["last_message_at"], page[0]["id"]) if page and has_newer else None,
    )


def conversation_for_thread(*, store: Store, conversation_id) -> Conversation:
    """:func:`conversation_get` with what the thread page shows alongside (customer, its account
    rep, the assigned agent, the channel) in one query; same not-found contract."""
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        raise Conversation.DoesNotExist("No such conversation.") from None
    return Conversation.objects.select_related(
        "customer", "customer__account_rep", "assigned_agent", "channel"
    ).get(store=store, pk=pk)


def conversation_thread(*, store: Store, conversation: Conversation, limit: int = 500) -> list[Message]:
    """The latest ``limit`` messages of a conversation with their authors, oldest first (one query)."""
    latest = (
        Message.objects.filter(store=store, conversation=conversation)
        .select_related("author")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(reversed(latest))


def conversation_handoffs(*, store: Store, conversation: Conversation) -> list:
    """The conversation's handoffs, latest first, with who took each (one query)."""
    from apps.handoff.models import Handoff

    return list(
        Handoff.objects.filter(store=store, conversation=conversation)
        .select_related("assigned_to")
        .order_by("-created_at")
    )


def customer_orders(*, store: Store, customer, limit: int = 10) -> list:
    """The customer's latest orders in the store (matched by email; none without one)."""
    from apps.stores.models import Order

    if customer is None or not customer.email:
        return []
    # Exact matches (the (store, email) index), as given and lower-cased.
    emails = {customer.email, customer.email.lower()}
    return list(Order.objects.filter(store=store, email__in=emails).order_by("-placed_at")[:limit])


QUEUE_COUNT_CAP = 1000


def handoff_queue(*, store: Store, limit: int = 10) -> tuple[list, int]:
    """The live queue: open handoffs of handed-off conversations nobody has taken yet, oldest
    first, with their conversation and customer; and how many there are, counted up to
    ``QUEUE_COUNT_CAP`` (a longer queue reads "1,000+"; two queries)."""
    from apps.handoff.models import Handoff, HandoffStatus

    waiting = Handoff.objects.filter(
        store=store,
        status=HandoffStatus.OPEN,
        conversation__status=ConvStatus.HANDED_OFF,
        conversation__assigned_agent__isnull=True,
    )
    return (
        list(waiting.select_related("conversation", "conversation__customer").order_by("created_at")[:limit]),
        waiting[:QUEUE_COUNT_CAP].count(),
    )


def conversation_figures(*, store: Store, since: datetime, until: datetime) -> dict:
    """The overview's headline figures for conversations started in ``[since, until)``: how
    many, handed off, resolved by the AI alone, their rates and the attributed revenue (two
    queries, on the (store, created_at) indexes of conversations and handoffs).

    ``apps.analytics.selectors.overview`` adds the period's message figures to these.
    """
    from django.db.models import Avg, Count, Sum

    from apps.handoff.models import Handoff

    started = Conversation.objects.filter(store=store, created_at__gte=since, created_at__lt=until)
    figures = started.aggregate(
        total=Count("id"),
        resolved=Count("id", filter=Q(status=ConvStatus.RESOLVED)),
        revenue=Sum("revenue_attributed"),
        sentiment=Avg("sentiment"),
    )
    # Handed off = has a handoff. Counted from the period's handoffs (a handoff comes after its
    # conversation starts), joined to their conversations: a probe per handoff, not per
    # conversation (an EXISTS per conversation cost 0.6 s at 33,000 conversations a month).
    handoffs = Handoff.objects.filter(
        store=store,
        created_at__gte=since,
        conversation__created_at__gte=since,
        conversation__created_at__lt=until,
    )
    handed = handoffs.aggregate(
        all=Count("conversation", distinct=True),
        resolved=Count("conversation", distinct=True, filter=Q(conversation__status=ConvStatus.RESOLVED)),
    )
    figures["handed_off"] = handed["all"]
    figures["resolved_by_ai"] = figures["resolved"] - handed["resolved"]
    total = figures["total"]
    return {
        "since": since,
        "until": until,
        "conversations": total,
        "resolved": figures["resolved"],
        "handed_off": figures["handed_off"],
        "resolved_by_ai": figures["resolved_by_ai"],
        "ai_resolution_rate": round(figures["resolved_by_ai"] / total, 4) if total else 0.0,
        "handoff_rate": round(figures["handed_off"] / total, 4) if total else 0.0,
        "average_sentiment": round(figures["sentiment"], 4) if figures["sentiment"] is not None else None,
        "revenue_attributed": figures["revenue"] or 0,
        "currency": store.currency,
    }
