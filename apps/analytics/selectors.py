"""Reports over a store's conversations, messages and handoffs, for the dashboard and the API.

Every function takes the store and a period ``[since, until)``; the defaults are the last 30
days. They read only: nothing here writes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from apps.handoff.models import Handoff
from apps.stores.models import Store

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime


def period(since: datetime | None = None, until: datetime | None = None) -> Period:
    until = until or timezone.now()
    return Period(since=since or until - timedelta(days=DEFAULT_DAYS), until=until)


def _conversations(store: Store, p: Period):
    return Conversation.objects.filter(store=store, created_at__gte=p.since, created_at__lt=p.until)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def overview(*, store: Store, since: datetime | None = None, until: datetime | None = None) -> dict:
    """Headline figures: conversations, messages, AI-resolved and handoff rates, average AI
    confidence, average sentiment, attributed revenue. The conversation figures are
    ``conversation_figures`` (the dashboard overview's), the message ones read the period's
    messages on their (store, created_at) index."""
    from apps.conversations.selectors import conversation_figures

    p = period(since, until)
    figures = conversation_figures(store=store, since=p.since, until=p.until)
    messages = Message.objects.filter(store=store, created_at__gte=p.since, created_at__lt=p.until).aggregate(
        total=Count("id"),
        from_shoppers=Count("id", filter=Q(role=MessageRole.USER)),
        from_ai=Count("id", filter=Q(role=MessageRole.AI)),
        confidence=Avg("confidence", filter=Q(role=MessageRole.AI)),
    )
    return {
        "since": p.since,
        "until": p.until,
        "conversations": figures["conversations"],
        "messages": messages["total"],
        "shopper_messages": messages["from_shoppers"],
        "ai_messages": messages["from_ai"],
        "resolved": figures["resolved"],
        "resolved_by_ai": figures["resolved_by_ai"],
        "handed_off": figures["handed_off"],
        "ai_resolution_rate": figures["ai_resolution_rate"],
        "handoff_rate": figures["handoff_rate"],
        "average_confidence": round(messages["confidence"], 4)
        if messages["confidence"] is not None
        else None,
        "average_sentiment": figures["average_sentiment"],
        "revenue_attributed": figures["revenue_attributed"],
        "currency": store.currency,
    }


def volume(
    *, store: Store, interval: str = "day", since: datetime | None = None, until: datetime | None = None
) -> list[dict]:
    """Conversations and messages per day or week (``interval``), oldest first; empty buckets
    are left out."""
    p = period(since, until)
    trunc = TruncWeek if interval == "week" else TruncDay
    conversations = {
        row["bucket"]: row["count"]
        for row in _conversations(store, p)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(count=Count("id"))
    }
    messages = {
        row["bucket"]: row["count"]
        for row in Message.objects.filter(store=store, created_at__gte=p.since, created_at__lt=p.until)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(count=Count("id"))
    }
    return [
        {
            "period_start": bucket,
            "conversations": conversations.get(bucket, 0),
            "messages": messages.get(bucket, 0),
        }
        for bucket in sorted(set(conversations) | set(messages))
    ]


def channels(*, store: Store, since: datetime | None = None, until: datetime | None = None) -> list[dict]:
    """Conversations per channel type, with their handoff and resolution rates, busiest first."""
    p = period(since, until)
    handed = Exists(Handoff.objects.filter(store=store, conversation=OuterRef("pk")))
    rows = (
        _conversations(store, p)
        .values("channel_type")
        .annotate(
            conversations=Count("id"),
            handed_off=Count("id", filter=Q(handed)),
            resolved=Count("id", filter=Q(status=ConvStatus.RESOLVED)),
            revenue=Sum("revenue_attributed"),
        )
        .order_by("-conversations", "channel_type")
    )
    return [
        {
            "channel_type": row["channel_type"],
            "conversations": row["conversations"],
            "handed_off": row["handed_off"],
            "handoff_rate": _rate(row["handed_off"], row["conversations"]),
            "resolution_rate": _rate(row["resolved"], row["conversations"]),
            "revenue_attributed": row["revenue"] or 0,
        }
        for row in rows
    ]


_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    "a an the and or but if of to in on for with at by from is are was were be been am i you we it my me "
    "your our do does did can could would should will have has had hi hello hey please thanks thank "
    "there this that what when where how why which who so not no yes just any some get".split()
)
QUESTIONS_SAMPLE = 2000


def _terms(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS and len(word) > 2]


def questions(
    *, store: Store, since: datetime | None = None, until: datetime | None = None, limit: int = 10
) -> list[dict]:
    """The shoppers' top questions, clustered by topic.

    The latest shopper messages of the period (up to ``QUESTIONS_SAMPLE``) are grouped by the
    intent the agent recognised, then within an intent by their most telling shared word, with
    TF-IDF-like weights so that words every message uses do not make a topic. Each topic gives
    its size, its key terms and up to three example questions.
    """
    p = period(since, until)
    rows = list(
        Message.objects.filter(
            store=store, role=MessageRole.USER, created_at__gte=p.since, created_at__lt=p.until
        )
        .order_by("-created_at")
        .values_list("content", "conversation__last_intent")[:QUESTIONS_SAMPLE]
    )
    if not rows:
        return []
    documents = [(_terms(text), text, intent or "") for text, intent in rows]
    frequency = Counter(term for terms, _, _ in documents for term in set(terms))
    total = len(documents)
    clusters: dict[tuple[str, str], list[tuple[list[str], str]]] = {}
    for terms, text, intent in documents:
        if not terms:
            key = (intent, "")
        else:
            # The word that best tells this message apart: common enough to form a topic,
            # rare enough not to be everywhere.
            key = (
                intent,
                max(
                    terms, key=lambda t: (frequency[t] > 1) * frequency[t] * (1 - frequency[t] / (total + 1))
                ),
            )
        clusters.setdefault(key, []).append((terms, text))
    ranked = sorted(clusters.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    result = []
    for (intent, _term), members in ranked:
        counts = Counter(t for terms, _ in members for t in set(terms))
        examples = list(dict.fromkeys(text.strip()[:300] for _, text in members))[:3]
        result.append(
            {
                "topic": " ".join(t for t, _ in counts.most_common(3))
                or intent.lower().replace("_", " ")
                or "other",
                "intent": intent,
                "count": len(members),
                "share": _rate(len(members), total),
                "terms": [t for t, _ in counts.most_common(5)],
                "examples": examples,
            }
        )
    return result


def handoffs(
    *, store: Store, interval: str = "day", since: datetime | None = None, until: datetime | None = None
) -> dict:
    """The handoff rate over time (handoffs / conversations started per bucket) and the
    breakdown by trigger."""
    p = period(since, until)
    trunc = TruncWeek if interval == "week" else TruncDay
    handoffs_qs = Handoff.objects.filter(store=store, created_at__gte=p.since, created_at__lt=p.until)
    per_bucket = {
        row["bucket"]: row["count"]
        for row in handoffs_qs.annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(count=Count("id"))
    }
    started = {
        row["bucket"]: row["count"]
        for row in _conversations(store, p)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(count=Count("id"))
    }
    trend = [
        {
            "period_start": bucket,
            "conversations": started.get(bucket, 0),
            "handoffs": per_bucket.get(bucket, 0),
            "rate": _rate(per_bucket.get(bucket, 0), started.get(bucket, 0)),
        }
        for bucket in sorted(set(per_bucket) | set(started))
    ]
    triggers = [
        {"trigger": row["trigger"], "count": row["count"]}
        for row in handoffs_qs.values("trigger").annotate(count=Count("id")).order_by("-count", "trigger")
    ]
    total = sum(row["count"] for row in triggers)
    return {"since": p.since, "until": p.until, "total": total, "trend": trend, "triggers": triggers}
