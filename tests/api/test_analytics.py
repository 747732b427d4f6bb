"""Analytics: overview, volume, channels, clustered questions, handoffs (admin)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from convix.tenancy import unscoped
from tests.api.conftest import error_of
from tests.factories import ConversationFactory, HandoffFactory, MessageFactory

pytestmark = pytest.mark.django_db

QUESTIONS = [
    "Do you ship to Canada?",
    "How long is shipping to Canada?",
    "Can you ship to Canada please",
    "Where is my order 1042?",
    "Where is my order? it is late",
    "Do you have the tent in green?",
]


@pytest.fixture
def activity(store, other_store):
    now = timezone.now()
    with unscoped("tests"):
        for index, text in enumerate(QUESTIONS):
            conversation = ConversationFactory(
                store=store,
                channel_type="WHATSAPP" if index < 2 else "WEB_WIDGET",
                status=ConvStatus.RESOLVED if index in (0, 3) else ConvStatus.ACTIVE,
                revenue_attributed=Decimal("10.00"),
                last_intent="SHIPPING"
                if "ship" in text.lower()
                else "ORDER_STATUS"
                if "order" in text
                else "PRODUCT",
            )
            Conversation.objects.filter(pk=conversation.pk).update(created_at=now - timedelta(days=index % 2))
            MessageFactory(conversation=conversation, content=text)
            MessageFactory(conversation=conversation, role=MessageRole.AI, content="Answer", confidence=0.8)
            if index == 3:
                HandoffFactory(conversation=conversation)
        # Another store's activity never counts.
        other = ConversationFactory(store=other_store)
        MessageFactory(conversation=other, content="Do you ship to Canada?")
        Message.objects.filter(store=store).update(created_at=now - timedelta(hours=1))


def url(store, name):
    return f"/v1/stores/{store.pk}/analytics/{name}"


def test_overview(admin_client, store, activity):
    body = admin_client.get(url(store, "overview")).json()
    assert body["conversations"] == 6 and body["messages"] == 12
    assert body["resolved"] == 2 and body["resolved_by_ai"] == 1 and body["handed_off"] == 1
    assert body["ai_resolution_rate"] == round(1 / 6, 4) and body["handoff_rate"] == round(1 / 6, 4)
    assert body["average_confidence"] == 0.8
    assert body["revenue_attributed"] == "60.00"


def test_volume_by_day_and_week(admin_client, store, activity):
    days = admin_client.get(url(store, "volume"), {"interval": "day"}).json()
    assert sum(d["conversations"] for d in days) == 6
    assert sum(d["messages"] for d in days) == 12
    weeks = admin_client.get(url(store, "volume"), {"interval": "week"}).json()
    assert sum(w["conversations"] for w in weeks) == 6 and len(weeks) <= 2
    bad = admin_client.get(url(store, "volume"), {"interval": "hour"})
    assert bad.status_code == 400 and set(error_of(bad)["fields"]) == {"interval"}


def test_channels(admin_client, store, activity):
    rows = admin_client.get(url(store, "channels")).json()
    assert [(r["channel_type"], r["conversations"]) for r in rows] == [("WEB_WIDGET", 4), ("WHATSAPP", 2)]
    assert rows[0]["handoff_rate"] == 0.25


def test_questions_are_clustered_by_topic(admin_client, store, activity):
    topics = admin_client.get(url(store, "questions")).json()
    assert topics[0]["count"] == 3 and topics[0]["intent"] == "SHIPPING"
    assert "canada" in topics[0]["terms"]
    assert set(topics[0]["examples"]) <= set(QUESTIONS[:3])
    assert topics[1]["count"] == 2 and topics[1]["intent"] == "ORDER_STATUS"
    assert sum(t["count"] for t in topics) == 6


def test_handoffs_trend_and_triggers(admin_client, store, activity):
    body = admin_client.get(url(store, "handoffs")).json()
    assert body["total"] == 1
    assert body["triggers"] == [{"trigger": "EXPLICIT_REQUEST", "count": 1}]
    assert sum(row["handoffs"] for row in body["trend"]) == 1
    assert sum(row["conversations"] for row in body["trend"]) == 6


def test_period_validation(admin_client, store):
    bad = admin_client.get(
        url(store, "overview"), {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    )
    assert bad.status_code == 400 and set(error_of(bad)["fields"]) == {"until"}
    assert admin_client.get(url(store, "overview"), {"cursor": "x"}).status_code == 400
