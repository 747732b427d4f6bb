"""Conversations: list with filters and stable pagination, detail, status changes, handoffs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation, ConvStatus
from apps.conversations.serializers import ConversationSerializer
from apps.handoff.models import Handoff, HandoffStatus
from convix.tenancy import unscoped
from tests.api.conftest import error_of
from tests.factories import (
    ChannelFactory,
    ConversationFactory,
    CustomerFactory,
    HandoffFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db


def url(store, suffix=""):
    return f"/v1/stores/{store.pk}/conversations{suffix}"


@pytest.fixture
def conversations(store):
    now = timezone.now()
    with unscoped("tests"):
        made = []
        for index in range(7):
            conversation = ConversationFactory(
                store=store,
                channel_type="WHATSAPP" if index % 2 else "WEB_WIDGET",
                status=ConvStatus.RESOLVED if index == 3 else ConvStatus.ACTIVE,
                subject=f"Question {index}",
            )
            Conversation.objects.filter(pk=conversation.pk).update(
                created_at=now - timedelta(days=index), last_message_at=now - timedelta(hours=index)
            )
            MessageFactory(
                conversation=conversation, content="Do you ship to Canada?" if index == 5 else "Hello"
            )
            made.append(conversation)
        HandoffFactory(conversation=made[2])
    return made


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_list_is_most_recent_first_and_pages_stably(agent_client, store, conversations):
    first = agent_client.get(url(store), {"limit": 3})
    assert first.status_code == 200
    assert ids(first) == [str(c.pk) for c in conversations[:3]]
    # A new conversation arriving between pages does not shift the next page.
    with unscoped("tests"):
        ConversationFactory(store=store)
    second = agent_client.get(first.json()["next"])
    assert ids(second) == [str(c.pk) for c in conversations[3:6]]
    assert agent_client.get(url(store), {"limit": 101}).status_code == 400
    assert error_of(agent_client.get(url(store), {"cursor": "garbage"}))["fields"] == {
        "cursor": ["This cursor is not valid: use the next or previous link as given."]
    }


def test_list_filters(agent_client, store, conversations):
    assert ids(agent_client.get(url(store), {"status": "RESOLVED"})) == [str(conversations[3].pk)]
    assert set(ids(agent_client.get(url(store), {"channel": "WHATSAPP"}))) == {
        str(c.pk) for c in conversations[1::2]
    }
    assert ids(agent_client.get(url(store), {"handed_off": "true"})) == [str(conversations[2].pk)]
    assert len(ids(agent_client.get(url(store), {"handed_off": "false"}))) == 6
    assert ids(agent_client.get(url(store), {"q": "canada"})) == [str(conversations[5].pk)]
    since = (timezone.now() - timedelta(days=1, hours=12)).isoformat()
    assert ids(agent_client.get(url(store), {"since": since})) == [str(c.pk) for c in conversations[:2]]


def test_list_rejects_bad_and_unknown_filters(agent_client, store, conversations):
    bad = agent_client.get(url(store), {"status": "NOPE", "colour": "red"})
    assert bad.status_code == 400
    assert set(error_of(bad)["fields"]) == {"colour", "status"}
    bad = agent_client.get(url(store), {"status": "NOPE"})
    assert set(error_of(bad)["fields"]) == {"status"}
    bad = agent_client.get(url(store), {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert set(error_of(bad)["fields"]) == {"until"}


def test_list_query_count_does_not_grow_with_rows(
    agent_client, store, conversations, django_assert_num_queries
):
    # user, membership, page of conversations with their customers: no query per row.
    with django_assert_num_queries(3):
        assert agent_client.get(url(store), {"limit": 7}).status_code == 200


def test_list_rows_are_what_the_conversation_serializer_writes(agent_client, agent, store):
    # The list builds its rows from plain values for speed; each must equal, key for key and
    # format for format, what ConversationSerializer (the documented schema) writes.
    now = timezone.now()
    with unscoped("tests"):
        full = ConversationFactory(
            store=store,
            customer=CustomerFactory(store=store, phone="+15550100", is_b2b=True),
            channel=ChannelFactory(store=store),
            channel_type="WHATSAPP",
            status=ConvStatus.RESOLVED,
            subject="Bulk order",
            sentiment=-0.25,
            intent_score=0.875,
            last_intent="purchase",
            cart_value=Decimal("1234.5"),
            revenue_attributed=Decimal("99.99"),
            assigned_agent=agent,
            resolved_at=now.replace(microsecond=0),
        )
        bare = ConversationFactory(store=store, customer=None, subject="")
        Conversation.objects.filter(pk=full.pk).update(last_message_at=now)
        Conversation.objects.filter(pk=bare.pk).update(last_message_at=now - timedelta(minutes=1))
        expected = [ConversationSerializer(Conversation.objects.get(pk=pk)).data for pk in (full.pk, bare.pk)]
    rows = agent_client.get(url(store)).json()["results"]
    assert rows == [dict(item) for item in expected]
    assert rows[0]["customer"]["is_b2b"] is True and rows[0]["cart_value"] == "1234.50"
    assert rows[1]["customer"] is None and rows[1]["channel_id"] is None


def test_detail_has_messages_and_handoffs(agent_client, store, conversations):
    body = agent_client.get(url(store, f"/{conversations[2].pk}")).json()
    assert [m["content"] for m in body["messages"]] == ["Hello"]
    assert [h["trigger"] for h in body["handoffs"]] == ["EXPLICIT_REQUEST"]
    assert body["customer"]["email"].endswith("@example.com")


def test_resolve_resolves_open_handoffs(agent_client, agent, store, conversations):
    response = agent_client.patch(
        url(store, f"/{conversations[2].pk}"), {"status": "RESOLVED"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "RESOLVED"
    with unscoped("tests"):
        handoff = Handoff.objects.get(conversation=conversations[2])
        assert handoff.status == HandoffStatus.RESOLVED and handoff.assigned_to == agent
        assert Conversation.objects.get(pk=conversations[2].pk).resolved_at is not None


def test_status_change_validation(agent_client, store, conversations):
    response = agent_client.patch(
        url(store, f"/{conversations[0].pk}"), {"status": "HANDED_OFF"}, format="json"
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"status"}
    response = agent_client.patch(
        url(store, f"/{conversations[0].pk}"), {"status": "RESOLVED", "subject": "x"}, format="json"
    )
    assert error_of(response)["fields"] == {"subject": ["This field is not accepted here."]}
    with unscoped("tests"):
        assert Conversation.objects.get(pk=conversations[0].pk).status == ConvStatus.ACTIVE


def test_manual_handoff(agent_client, store, conversations):
    response = agent_client.post(
        url(store, f"/{conversations[0].pk}/handoff"), {"trigger": "ANGER_DETECTED"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["trigger"] == "ANGER_DETECTED"
    assert response.json()["summary"].startswith("Handed off because the shopper is upset.")
    with unscoped("tests"):
        assert Conversation.objects.get(pk=conversations[0].pk).status == ConvStatus.HANDED_OFF
    bad = agent_client.post(
        url(store, f"/{conversations[1].pk}/handoff"), {"trigger": "BORED"}, format="json"
    )
    assert bad.status_code == 400 and set(error_of(bad)["fields"]) == {"trigger"}
