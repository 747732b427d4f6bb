"""The analytics page (/dashboard/analytics): every role, the empty state, the figures in the
tables and in the chart data (the selectors' own numbers), the period picker, store isolation and
a query count that does not grow with the store's activity."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.analytics import selectors
from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from apps.handoff.models import Handoff, HandoffTrigger
from convix.tenancy import store_scope, unscoped
from tests.factories import ConversationFactory, HandoffFactory, MessageFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/analytics"


def seed(
    store,
    *,
    days_ago: int,
    channel: str,
    text: str,
    revenue: str = "0",
    status=ConvStatus.ACTIVE,
    handoff=None,
):
    """One conversation with a shopper question and an AI answer, ``days_ago`` days old."""
    created = timezone.now() - timedelta(days=days_ago, minutes=5)
    with unscoped("tests"):
        conversation = ConversationFactory(
            store=store,
            channel_type=channel,
            status=status,
            revenue_attributed=Decimal(revenue),
            last_intent="SHIPPING" if "ship" in text.lower() else "PRODUCT",
        )
        Conversation.objects.filter(pk=conversation.pk).update(created_at=created)
        question = MessageFactory(conversation=conversation, content=text)
        answer = MessageFactory(
            conversation=conversation, role=MessageRole.AI, content="Answer.", confidence=0.9
        )
        Message.objects.filter(pk__in=[question.pk, answer.pk]).update(created_at=created)
        if handoff:
            made = HandoffFactory(conversation=conversation, trigger=handoff)
            Handoff.objects.filter(pk=made.pk).update(created_at=created)
    return conversation


@pytest.fixture
def activity(store, other_store):
    seed(
        store,
        days_ago=0,
        channel="WEB_WIDGET",
        text="Do you ship to Canada?",
        revenue="120.00",
        status=ConvStatus.RESOLVED,
    )
    seed(
        store,
        days_ago=1,
        channel="WEB_WIDGET",
        text="How long does shipping to Canada take?",
        revenue="30.50",
    )
    seed(
        store,
        days_ago=2,
        channel="WHATSAPP",
        text="Is the Trailhead tent waterproof?",
        handoff=HandoffTrigger.EXPLICIT_REQUEST,
    )
    seed(
        store,
        days_ago=20,
        channel="WHATSAPP",
        text="Can I ship to Canada with tracking?",
        handoff=HandoffTrigger.LOW_CONFIDENCE,
    )
    seed(store, days_ago=60, channel="SMS", text="Old question about shipping to Canada")
    # Another store's activity never shows.
    seed(other_store, days_ago=0, channel="EMAIL", text="Store B secret question", revenue="999.00")


def chart_data(response) -> dict:
    match = re.search(
        r'<script id="analytics-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "the chart data is embedded with json_script"
    return json.loads(match.group(1))


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login")


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_", "agent_client"])
def test_every_member_sees_analytics(request, persona, activity):
    response = request.getfixturevalue(persona).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Analytics</h1>" in body
    assert (
        'id="chart-volume"' in body
        and "js/analytics.js" in body
        and "vendor/chartjs/chart.umd.min.js" in body
    )


def test_empty_state_without_conversations(owner_client, store):
    response = owner_client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="analytics-empty"' in body and "No conversations in this period yet" in body
    assert "analytics-data" not in body and "<canvas" not in body and "chart.umd.min.js" not in body


def test_figures_in_tables_and_chart_data_are_the_selectors(owner_client, store, activity):
    response = owner_client.get(PAGE)
    body = response.content.decode()
    overview = response.context["overview"]
    assert (overview["conversations"], overview["handed_off"], overview["revenue_attributed"]) == (
        4,
        2,
        Decimal("150.50"),
    )
    assert "150.50" in body and "Store B secret question" not in body and "999" not in body
    data = chart_data(response)
    # Thirty days, one bucket each (the empty ones filled with zeros), oldest first.
    assert len(data["volume"]["labels"]) in (30, 31)
    assert sum(data["volume"]["conversations"]) == 4 and sum(data["volume"]["messages"]) == 8
    assert data["volume"]["conversations"][-1] == 1
    with store_scope(store):
        channels = selectors.channels(store=store, since=overview["since"], until=overview["until"])
    assert data["channels"]["labels"] == ["Web widget", "WhatsApp"]
    assert data["channels"]["conversations"] == [row["conversations"] for row in channels] == [2, 2]
    assert data["channels"]["handoff_rate"] == [0.0, 100.0]
    assert data["revenue"] == {
        "labels": ["Web widget", "WhatsApp"],
        "amounts": [150.5, 0.0],
        "currency": "USD",
    }
    assert sorted(zip(data["triggers"]["labels"], data["triggers"]["counts"], strict=True)) == [
        ("Asked for a human", 1),
        ("Low confidence", 1),
    ]
    assert sum(data["handoff_trend"]["handoffs"]) == 2 and 100.0 in data["handoff_trend"]["rate"]
    # Every chart has a readable table.
    assert "<td>Web widget</td>" in body and "<td>Asked for a human</td>" in body
    # Top questions, clustered: the Canada shipping questions form one topic.
    questions = response.context["questions"]
    assert questions[0]["count"] == 3 and "canada" in questions[0]["terms"]
    assert "“Do you ship to Canada?”" in body


def test_period_picker(owner_client, store, activity):
    week = owner_client.get(PAGE, {"days": "7"})
    assert week.context["overview"]["conversations"] == 3
    assert len(chart_data(week)["volume"]["labels"]) in (7, 8)
    quarter = owner_client.get(PAGE, {"days": "90"})
    assert quarter.context["interval"] == "week"  # 90 days read best by week
    assert quarter.context["overview"]["conversations"] == 5
    assert sum(chart_data(quarter)["volume"]["conversations"]) == 5
    assert all(label.startswith("Week of") for label in chart_data(quarter)["volume"]["labels"])
    by_day = owner_client.get(PAGE, {"days": "90", "interval": "day"})
    assert by_day.context["interval"] == "day" and len(chart_data(by_day)["volume"]["labels"]) in (90, 91)
    # A grouping the member chose is kept when the range changes; the default one is not.
    assert 'name="interval" value="day"' in by_day.content.decode().split('aria-label="Grouping"')[0]
    assert 'type="hidden" name="interval"' not in quarter.content.decode()
    # Unknown values fall back to 30 days by day.
    odd = owner_client.get(PAGE, {"days": "365", "interval": "hour"})
    assert odd.status_code == 200 and (odd.context["days"], odd.context["interval"]) == (30, "day")
    assert odd.context["overview"]["conversations"] == 4


def test_user_text_is_escaped(owner_client, store):
    seed(
        store, days_ago=0, channel="WEB_WIDGET", text="<script>alert('shipping')</script> shipping to Canada?"
    )
    body = owner_client.get(PAGE).content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body


def test_another_store_member_sees_only_their_store(other_owner_client, activity):
    response = other_owner_client.get(PAGE)
    assert response.context["overview"]["conversations"] == 1
    assert "Store B secret question" in response.content.decode()
    assert "Do you ship to Canada?" not in response.content.decode()


def test_query_count_does_not_grow_with_activity(owner_client, store, django_assert_max_num_queries):
    seed(store, days_ago=0, channel="WEB_WIDGET", text="Do you ship to Canada?")
    owner_client.get(PAGE)
    with django_assert_max_num_queries(20) as few:
        assert owner_client.get(PAGE).status_code == 200
    for index in range(25):
        seed(
            store,
            days_ago=index % 9,
            channel=["WEB_WIDGET", "WHATSAPP", "SMS"][index % 3],
            text=f"Question {index} about the tent",
            handoff=HandoffTrigger.ANGER_DETECTED if index % 4 == 0 else None,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert owner_client.get(PAGE).status_code == 200
