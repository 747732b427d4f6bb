"""The dashboard's overview, conversation list and thread: roles, tenancy, filters, pagination,
takeover, replies, resolving with a learning note, and bounded queries per page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import UserRole
from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from apps.conversations.views import decode_cursor, encode_cursor
from apps.handoff.models import Handoff, HandoffStatus, HandoffTrigger
from convix.tenancy import unscoped
from tests.factories import (
    ConversationFactory,
    CustomerFactory,
    HandoffFactory,
    MembershipFactory,
    MessageFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLE_CLIENTS = ["owner_client", "admin_client_", "agent_client"]

AI_METADATA = {
    "confidence": {"factual": 0.91, "intent": 0.82, "emotional": 0.73, "composite": 0.84},
    "intent": "PRODUCT_QUESTION",
    "evidence": {"chunks": ["c1"], "products": ["p1"], "orders": ["#1042"]},
    "sources": [{"doc_id": "d1", "title": "Shipping policy", "type": "POLICY"}],
    "products": [{"id": "p1", "title": "Ridge 2P Tent", "price": "349.00", "currency": "USD"}],
    "orders": [{"number": "#1042", "status": "SHIPPED"}],
}


def thread(store, *, customer=None, status=ConvStatus.ACTIVE, handoff=False, messages=2, **fields):
    """A conversation of ``store`` with ``messages`` messages (shopper and AI in turn)."""
    with unscoped("tests"):
        customer = customer or CustomerFactory(store=store)
        conversation = ConversationFactory(store=store, customer=customer, status=status, **fields)
        for index in range(messages):
            if index % 2 == 0:
                MessageFactory(conversation=conversation, role=MessageRole.USER, content=f"Question {index}")
            else:
                MessageFactory(
                    conversation=conversation,
                    role=MessageRole.AI,
                    content=f"Answer {index}",
                    confidence=0.84,
                    metadata=AI_METADATA,
                )
        if handoff:
            HandoffFactory(conversation=conversation, summary="Shopper wants a person about tent sizes.")
    return conversation


def at(conversation, **times):
    """Set ``created_at``/``last_message_at`` (auto fields) directly."""
    with unscoped("tests"):
        Conversation.objects.filter(pk=conversation.pk).update(**times)


def flashes(response) -> list[str]:
    """The messages this action queued (each test consumes them by following its redirect)."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, path, data=None):
    """POST an action and follow the redirect back to the thread (consuming its messages)."""
    response = client.post(path, data or {})
    assert response.status_code == 302, response.status_code
    messages = flashes(response)
    client.get(response["Location"])
    return messages


def fresh(conversation) -> Conversation:
    with unscoped("tests"):
        return Conversation.objects.select_related("assigned_agent").get(pk=conversation.pk)


@pytest.fixture
def second_agent(store):
    user = UserFactory(email="agent2@store-a.example", name="Sam Second")
    with unscoped("tests"):
        MembershipFactory(store=store, user=user, role=UserRole.AGENT)
    return user


@pytest.fixture
def second_agent_client(second_agent):
    client = Client()
    client.force_login(second_agent)
    return client


@pytest.fixture
def waiting(store):
    """A handed-off conversation nobody has taken, from a B2B customer with orders."""
    rep = UserFactory(email="rep@store-a.example", name="Rita Rep")
    with unscoped("tests"):
        customer = CustomerFactory(
            store=store,
            name="Bea Buyer",
            email="bea@buyer.example",
            phone="+13035550123",
            is_b2b=True,
            company="Trailhead Outfitters",
            account_rep=rep,
            channel_ids={"WHATSAPP": "+13035550123"},
        )
        OrderFactory(store=store, number="#1042", email="bea@buyer.example", total=Decimal("349.00"))
    return thread(store, customer=customer, status=ConvStatus.HANDED_OFF, handoff=True, messages=4)


# --- who may see what -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/conversations", "/dashboard/conversations/{id}"])
def test_anonymous_visitor_is_sent_to_log_in(client, waiting, path):
    path = path.format(id=waiting.id)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={path}"


def test_anonymous_post_changes_nothing(client, waiting):
    response = client.post(f"/dashboard/conversations/{waiting.id}/reply", {"text": "hi"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
    with unscoped("tests"):
        assert not Message.objects.filter(conversation=waiting, role=MessageRole.AGENT).exists()


@pytest.mark.parametrize("client_name", ROLE_CLIENTS)
def test_every_role_reads_the_list_and_the_thread(request, client_name, waiting, other_store):
    client = request.getfixturevalue(client_name)
    foreign = thread(other_store, subject="Foreign secret")

    listing = client.get("/dashboard/conversations")
    assert listing.status_code == 200
    ids = [row["id"] for row in listing.context["rows"]]
    assert ids == [waiting.id]
    assert b"Bea Buyer" in listing.content
    assert b"Foreign secret" not in listing.content
    assert str(foreign.id).encode() not in listing.content

    page = client.get(f"/dashboard/conversations/{waiting.id}")
    assert page.status_code == 200
    html = page.content.decode()
    # the thread, with each AI message's confidence breakdown and cited sources
    assert "Question 0" in html and "Answer 3" in html
    assert html.count('class="confidence"') == 2
    for figure in ("91%", "82%", "73%", "84%"):
        assert figure in html
    assert "Shipping policy" in html and "Ridge 2P Tent" in html and "#1042" in html
    # the customer sidebar: contact, channel ids, orders, B2B and the account rep
    assert "bea@buyer.example" in html and "Trailhead Outfitters" in html and "Rita Rep" in html
    assert "WHATSAPP" in html and "+13035550123" in html
    assert page.context["orders"][0].number == "#1042"
    # the handoff panel
    assert "Asked for a human" in html and "Shopper wants a person about tent sizes." in html
    assert "Take over" in html


@pytest.mark.parametrize("client_name", ROLE_CLIENTS)
def test_every_role_can_take_over(request, client_name, waiting):
    client = request.getfixturevalue(client_name)
    response = client.post(f"/dashboard/conversations/{waiting.id}/join")
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/conversations/{waiting.id}"
    assert fresh(waiting).assigned_agent_id == response.wsgi_request.user.pk
    with unscoped("tests"):
        assert Handoff.objects.get(conversation=waiting).status == HandoffStatus.ASSIGNED
    assert flashes(response) == ["You have taken over this conversation; the AI has stopped answering."]


def test_another_stores_conversation_is_404_and_nothing_changes(other_owner_client, waiting):
    base = f"/dashboard/conversations/{waiting.id}"
    assert other_owner_client.get(base).status_code == 404
    for action, data in (
        ("join", {}),
        ("reply", {"text": "Hello from store B"}),
        ("resolve", {"learning_note": "nope"}),
        ("status", {"status": "ABANDONED"}),
    ):
        assert other_owner_client.post(f"{base}/{action}", data).status_code == 404
    after = fresh(waiting)
    assert after.status == ConvStatus.HANDED_OFF
    assert after.assigned_agent_id is None
    with unscoped("tests"):
        assert Message.objects.filter(conversation=waiting).count() == 4
        assert Handoff.objects.get(conversation=waiting).status == HandoffStatus.OPEN


@pytest.mark.parametrize("conversation_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_malformed_conversation_is_404(agent_client, store, conversation_id):
    assert agent_client.get(f"/dashboard/conversations/{conversation_id}").status_code == 404
    assert agent_client.post(f"/dashboard/conversations/{conversation_id}/join").status_code == 404


def test_actions_need_post(agent_client, waiting):
    assert agent_client.get(f"/dashboard/conversations/{waiting.id}/join").status_code == 405
    assert fresh(waiting).assigned_agent_id is None


# --- takeover, reply, resolve ----------------------------------------------------------------


def test_take_over_reply_and_resolve_with_a_learning_note(agent_client, agent, waiting):
    base = f"/dashboard/conversations/{waiting.id}"
    act(agent_client, f"{base}/join")
    assert act(agent_client, f"{base}/reply", {"text": "Hi, Avery here. The 2P fits two adults."}) == []
    with unscoped("tests"):
        reply = Message.objects.get(conversation=waiting, role=MessageRole.AGENT)
    assert reply.content == "Hi, Avery here. The 2P fits two adults."
    assert reply.author_id == agent.pk

    page = agent_client.get(base)
    assert b"Hi, Avery here." in page.content
    assert b"Take over" not in page.content  # already theirs
    assert b"Resolve" in page.content

    note = {"learning_note": "  The 2P tent fits two adults.  "}
    assert act(agent_client, f"{base}/resolve", note) == ["Conversation resolved."]
    after = fresh(waiting)
    assert after.status == ConvStatus.RESOLVED
    assert after.resolved_at is not None
    with unscoped("tests"):
        handoff = Handoff.objects.get(conversation=waiting)
    assert handoff.status == HandoffStatus.RESOLVED
    assert handoff.learning_note == "The 2P tent fits two adults."
    assert handoff.assigned_to_id == agent.pk
    page = agent_client.get(base)
    assert b"The 2P tent fits two adults." in page.content
    assert b"This conversation is resolved." in page.content


def test_replying_takes_an_unassigned_conversation(agent_client, agent, waiting):
    agent_client.post(f"/dashboard/conversations/{waiting.id}/reply", {"text": "On it."})
    assert fresh(waiting).assigned_agent_id == agent.pk


def test_an_empty_reply_is_refused_and_nothing_is_sent(agent_client, waiting):
    messages = act(agent_client, f"/dashboard/conversations/{waiting.id}/reply", {"text": "   "})
    assert messages == ["The message is empty."]
    with unscoped("tests"):
        assert not Message.objects.filter(conversation=waiting, role=MessageRole.AGENT).exists()
    assert fresh(waiting).assigned_agent_id is None


def test_a_too_long_learning_note_is_refused(agent_client, waiting):
    messages = act(
        agent_client, f"/dashboard/conversations/{waiting.id}/resolve", {"learning_note": "x" * 5001}
    )
    assert messages == ["Keep the learning note under 5000 characters."]
    assert fresh(waiting).status == ConvStatus.HANDED_OFF


def test_a_second_agent_cannot_take_a_taken_conversation(agent_client, second_agent_client, agent, waiting):
    base = f"/dashboard/conversations/{waiting.id}"
    act(agent_client, f"{base}/join")

    page = second_agent_client.get(base)
    assert b"Avery Agent is handling this conversation" in page.content
    assert b"Take over" not in page.content

    for action, data in (
        ("join", {}),
        ("reply", {"text": "Me too"}),
        ("resolve", {"learning_note": "mine"}),
        ("status", {"status": "ABANDONED"}),
    ):
        assert act(second_agent_client, f"{base}/{action}", data) == [
            "Avery is already handling this conversation."
        ]
    after = fresh(waiting)
    assert after.assigned_agent_id == agent.pk
    assert after.status == ConvStatus.HANDED_OFF
    with unscoped("tests"):
        assert not Message.objects.filter(conversation=waiting, role=MessageRole.AGENT).exists()
        assert Handoff.objects.get(conversation=waiting).learning_note == ""


def test_status_change(owner_client, waiting):
    base = f"/dashboard/conversations/{waiting.id}"
    assert act(owner_client, f"{base}/status", {"status": "ABANDONED"}) == ["Status set to Abandoned."]
    assert fresh(waiting).status == ConvStatus.ABANDONED


def test_an_invalid_status_is_refused_and_nothing_changes(owner_client, waiting):
    messages = act(owner_client, f"/dashboard/conversations/{waiting.id}/status", {"status": "HANDED_OFF"})
    assert messages == ["Set ACTIVE, RESOLVED or ABANDONED; hand off with the handoff endpoint."]
    assert fresh(waiting).status == ConvStatus.HANDED_OFF


def test_resolving_a_resolved_conversation_again_is_harmless(agent_client, waiting):
    base = f"/dashboard/conversations/{waiting.id}"
    act(agent_client, f"{base}/resolve", {"learning_note": "first"})
    assert act(agent_client, f"{base}/join") == ["This conversation is resolved."]
    with unscoped("tests"):
        assert Handoff.objects.get(conversation=waiting).learning_note == "first"


# --- the list: filters and pagination -------------------------------------------------------


@pytest.fixture
def mixed(store):
    """Conversations that differ in one thing each, for the filters."""
    now = timezone.now()
    rows = {
        "whatsapp_angry": thread(store, channel_type="WHATSAPP", sentiment=-0.8, subject="Broken zipper"),
        "web_happy": thread(store, channel_type="WEB_WIDGET", sentiment=0.7, subject="Love the tent"),
        "handed": thread(store, status=ConvStatus.HANDED_OFF, handoff=True, subject="Need a person"),
        "resolved_old": thread(store, status=ConvStatus.RESOLVED, subject="Old return"),
    }
    with unscoped("tests"):
        MessageFactory(conversation=rows["web_happy"], content="Does it fit a cot?")
    at(rows["resolved_old"], created_at=now - timedelta(days=40), last_message_at=now - timedelta(days=39))
    return rows


def listed(client, query: str) -> set:
    response = client.get(f"/dashboard/conversations?{query}")
    assert response.status_code == 200
    return {row["subject"] for row in response.context["rows"]}


def test_filters(agent_client, mixed):
    everything = {"Broken zipper", "Love the tent", "Need a person", "Old return"}
    assert listed(agent_client, "") == everything
    assert listed(agent_client, "status=RESOLVED") == {"Old return"}
    assert listed(agent_client, "channel=WHATSAPP") == {"Broken zipper"}
    assert listed(agent_client, "handed_off=yes") == {"Need a person"}
    assert listed(agent_client, "handed_off=no") == everything - {"Need a person"}
    assert listed(agent_client, "sentiment=negative") == {"Broken zipper"}
    assert listed(agent_client, "sentiment=positive") == {"Love the tent"}
    assert listed(agent_client, "sentiment=neutral") == {"Need a person", "Old return"}
    assert listed(agent_client, "q=cot") == {"Love the tent"}
    assert listed(agent_client, "q=zipper") == {"Broken zipper"}
    old = (timezone.localdate() - timedelta(days=40)).isoformat()
    assert listed(agent_client, f"since={old}&until={old}") == {"Old return"}
    recent = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert listed(agent_client, f"since={recent}") == everything - {"Old return"}
    assert listed(agent_client, "status=ACTIVE&channel=WEB_WIDGET&sentiment=positive") == {"Love the tent"}


def test_an_invalid_filter_is_reported_and_the_valid_ones_still_apply(agent_client, mixed):
    response = agent_client.get("/dashboard/conversations?status=NOPE&channel=WHATSAPP&since=yesterday")
    assert response.status_code == 200
    assert {row["subject"] for row in response.context["rows"]} == {"Broken zipper"}
    html = response.content.decode()
    assert "Some filters were not applied" in html
    assert "Select a valid choice. NOPE is not one of the available choices." in html
    assert "Enter a valid date." in html


def test_a_reversed_date_range_is_reported(agent_client, mixed):
    response = agent_client.get("/dashboard/conversations?since=2026-05-02&until=2026-05-01")
    assert "The end date must be on or after the start date." in response.content.decode()


def test_no_match_and_no_conversation_empty_states(agent_client, store):
    assert b"No conversations yet." in agent_client.get("/dashboard/conversations").content
    assert (
        b"No conversation matches these filters." in agent_client.get("/dashboard/conversations?q=zz").content
    )


def test_htmx_filter_request_gets_the_results_partial_only(agent_client, mixed):
    response = agent_client.get("/dashboard/conversations?channel=WHATSAPP", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Broken zipper" in html and "Love the tent" not in html
    assert "<html" not in html and 'role="search"' not in html
    # a plain request (or a reload of the pushed URL) gets the whole page
    assert 'role="search"' in agent_client.get("/dashboard/conversations?channel=WHATSAPP").content.decode()


def test_keyset_pagination_is_stable_with_ties(agent_client, store):
    now = timezone.now()
    conversations = [thread(store, messages=1, subject=f"Subject {i:02d}") for i in range(31)]
    for index, conversation in enumerate(conversations):
        # pairs share a timestamp: the id breaks the tie
        at(conversation, last_message_at=now - timedelta(minutes=index // 2))
    seen = []
    response = agent_client.get("/dashboard/conversations")
    pages = [response.context["rows"]]
    assert len(pages[0]) == 25
    assert response.context["previous_query"] == ""
    next_query = response.context["next_query"]
    response = agent_client.get(f"/dashboard/conversations?{next_query}")
    pages.append(response.context["rows"])
    assert len(pages[1]) == 6
    assert response.context["next_query"] == ""
    for page in pages:
        seen += [row["id"] for row in page]
    with unscoped("tests"):
        expected = list(
            Conversation.objects.filter(store=store)
            .order_by("-last_message_at", "-id")
            .values_list("id", flat=True)
        )
    assert seen == expected
    # back to the newer page: the same 25 rows
    previous = agent_client.get(f"/dashboard/conversations?{response.context['previous_query']}")
    assert [row["id"] for row in previous.context["rows"]] == [row["id"] for row in pages[0]]
    assert previous.context["previous_query"] == ""


def test_pagination_keeps_the_filters(agent_client, store):
    for i in range(40):  # 26 by email
        thread(store, messages=1, channel_type="EMAIL" if i % 3 else "SMS", subject=f"S{i}")
    first = agent_client.get("/dashboard/conversations?channel=EMAIL")
    assert "channel=EMAIL" in first.context["next_query"]
    second = agent_client.get(f"/dashboard/conversations?{first.context['next_query']}")
    assert len(first.context["rows"]) + len(second.context["rows"]) == 26
    assert {row["channel_type"] for row in second.context["rows"]} == {"EMAIL"}


def test_a_broken_cursor_shows_the_latest_page_with_a_message(agent_client, mixed):
    response = agent_client.get("/dashboard/conversations?after=garbage!!")
    assert response.status_code == 200
    assert len(response.context["rows"]) == 4
    assert b"That page link is not valid any more" in response.content


def test_cursor_round_trip():
    moment = timezone.now()
    import uuid

    pk = uuid.uuid4()
    assert decode_cursor(encode_cursor((moment, pk))) == (moment, pk)
    assert decode_cursor("bm90IGEgY3Vyc29y") is None


# --- the overview ---------------------------------------------------------------------------


def test_overview_figures_and_live_queue(agent_client, agent, store, other_store):
    now = timezone.now()
    older = thread(store, status=ConvStatus.HANDED_OFF, handoff=True, subject="First in line")
    newer = thread(store, status=ConvStatus.HANDED_OFF, handoff=True, subject="Second in line")
    taken = thread(store, status=ConvStatus.HANDED_OFF, handoff=True, assigned_agent=agent)
    thread(store, status=ConvStatus.RESOLVED, revenue_attributed=Decimal("120.50"))
    thread(other_store, status=ConvStatus.HANDED_OFF, handoff=True, revenue_attributed=Decimal("999"))
    with unscoped("tests"):
        Handoff.objects.filter(conversation=older).update(created_at=now - timedelta(minutes=30))
        Handoff.objects.filter(conversation=taken).update(status=HandoffStatus.ASSIGNED)
    at(thread(store), created_at=now - timedelta(days=3))

    response = agent_client.get("/dashboard")
    assert response.status_code == 200
    context = response.context
    assert context["month"]["conversations"] == 5
    assert context["today"]["conversations"] == 4
    assert context["month"]["handed_off"] == 3
    assert context["month"]["resolved_by_ai"] == 1
    assert context["month"]["revenue_attributed"] == Decimal("120.50")
    assert [h.conversation_id for h in context["queue"]] == [older.id, newer.id]
    assert context["waiting"] == 2
    html = response.content.decode()
    assert "60%" in html  # handoff rate, 3 of 5
    assert "20%" in html  # AI resolution rate, 1 of 5
    assert "120.50" in html and "999" not in html
    assert f"/dashboard/conversations/{older.id}" in html


def test_overview_queue_partial_for_live_refresh(agent_client, waiting):
    response = agent_client.get("/dashboard?part=queue", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Bea Buyer" in html and "<html" not in html


def test_overview_empty_queue(agent_client, store):
    assert b"Nobody is waiting." in agent_client.get("/dashboard").content


# --- bounded queries ------------------------------------------------------------------------


def queries_for(client, path) -> int:
    client.get(path)  # the session learns the current store on the first page
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_queries_do_not_grow_with_rows(agent_client, store, agent, django_assert_max_num_queries):
    for _ in range(2):
        thread(store, messages=2, handoff=True, status=ConvStatus.HANDED_OFF, assigned_agent=agent)
    few = queries_for(agent_client, "/dashboard/conversations")
    for _ in range(12):
        thread(store, messages=3, handoff=True, status=ConvStatus.HANDED_OFF, assigned_agent=agent)
    assert queries_for(agent_client, "/dashboard/conversations") == few
    assert queries_for(agent_client, "/dashboard/conversations?handed_off=yes&q=Question") == few
    # the shell's 4 (session, user, membership, store switcher) + rows + previews
    with django_assert_max_num_queries(6):
        agent_client.get("/dashboard/conversations")


def test_thread_queries_do_not_grow_with_messages(
    agent_client, agent, waiting, django_assert_max_num_queries
):
    few = queries_for(agent_client, f"/dashboard/conversations/{waiting.id}")
    with unscoped("tests"):
        for index in range(6):
            MessageFactory(
                conversation=waiting, role=MessageRole.AGENT, author=agent, content=f"Agent {index}"
            )
            MessageFactory(
                conversation=waiting, role=MessageRole.AI, metadata=AI_METADATA, content=f"AI {index}"
            )
        HandoffFactory(
            conversation=waiting, trigger=HandoffTrigger.ANGER_DETECTED, status=HandoffStatus.RESOLVED
        )
        OrderFactory(store=waiting.store, number="#2001", email="bea@buyer.example")
    assert queries_for(agent_client, f"/dashboard/conversations/{waiting.id}") == few
    # the shell's 4 + conversation, handoffs, messages, orders
    with django_assert_max_num_queries(8):
        agent_client.get(f"/dashboard/conversations/{waiting.id}")


def test_overview_queries_do_not_grow_with_the_queue(agent_client, store, django_assert_max_num_queries):
    thread(store, status=ConvStatus.HANDED_OFF, handoff=True)
    few = queries_for(agent_client, "/dashboard")
    for _ in range(8):
        thread(store, status=ConvStatus.HANDED_OFF, handoff=True)
    assert queries_for(agent_client, "/dashboard") == few
    # the shell's 4 + queue and its size + 2 × 2 figures + 3 store counts
    with django_assert_max_num_queries(13):
        agent_client.get("/dashboard")


def test_live_panel_partial_follows_the_takeover(agent_client, second_agent_client, waiting):
    path = f"/dashboard/conversations/{waiting.id}?part=panel"
    html = agent_client.get(path, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert 'data-part="panel"' in html and 'data-state="open"' in html and "Take over" in html
    act(agent_client, f"/dashboard/conversations/{waiting.id}/join")
    html = agent_client.get(path, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="mine"' in html and "With Avery Agent" in html and "Take over" not in html
    html = second_agent_client.get(path, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-state="taken"' in html and 'name="text"' not in html


def test_overview_figures_agree_with_the_analytics_definitions(store, other_store):
    """``conversation_figures`` counts handed-off and AI-resolved conversations from the period's
    handoffs (a conversation with two handoffs once, one started before the period not at all, other
    stores never); the analytics overview reports the same figures."""
    from apps.analytics.selectors import overview
    from apps.conversations.selectors import conversation_figures
    from convix.tenancy import store_scope

    now = timezone.now()
    thread(store, status=ConvStatus.RESOLVED, handoff=True, revenue_attributed=Decimal("40"))
    thread(store, status=ConvStatus.RESOLVED, revenue_attributed=Decimal("12.50"))
    thread(store, status=ConvStatus.RESOLVED)
    thread(store, status=ConvStatus.HANDED_OFF, handoff=True)
    twice = thread(store, status=ConvStatus.RESOLVED, handoff=True)
    with unscoped("tests"):
        HandoffFactory(conversation=twice)  # two handoffs count once
    thread(store, status=ConvStatus.ACTIVE)
    old = thread(store, status=ConvStatus.RESOLVED, handoff=True)
    at(old, created_at=now - timedelta(days=40))  # before the period
    thread(other_store, status=ConvStatus.RESOLVED, handoff=True)
    since, until = now - timedelta(days=30), now + timedelta(minutes=1)
    with store_scope(store):
        figures = conversation_figures(store=store, since=since, until=until)
        expected = overview(store=store, since=since, until=until)
    assert (figures["conversations"], figures["handed_off"], figures["resolved_by_ai"]) == (6, 3, 2)
    for key in ("conversations", "handed_off", "resolved_by_ai", "ai_resolution_rate", "handoff_rate"):
        assert figures[key] == expected[key], key
    assert figures["revenue_attributed"] == expected["revenue_attributed"] == Decimal("52.50")


def test_a_long_queue_is_counted_up_to_the_cap(agent_client, store, monkeypatch):
    from apps.conversations import selectors, views

    monkeypatch.setattr(selectors, "QUEUE_COUNT_CAP", 2)
    monkeypatch.setattr(views, "QUEUE_SIZE", 1)
    for _ in range(3):
        thread(store, status=ConvStatus.HANDED_OFF, handoff=True)
    response = agent_client.get("/dashboard")
    assert response.context["waiting"] == 2
    assert 'data-count="waiting">2+</strong>' in response.content.decode()
    assert (
        "See all 2+ waiting"
        in agent_client.get("/dashboard?part=queue", HTTP_HX_REQUEST="true").content.decode()
    )


def test_month_figures_are_kept_for_a_minute_and_today_is_live(agent_client, store):
    from django.core.cache import cache

    cache.clear()
    thread(store)
    first = agent_client.get("/dashboard").context
    thread(store)
    second = agent_client.get("/dashboard").context
    assert (first["month"]["conversations"], second["month"]["conversations"]) == (1, 1)
    assert (first["today"]["conversations"], second["today"]["conversations"]) == (1, 2)
    cache.clear()  # a minute later
    assert agent_client.get("/dashboard").context["month"]["conversations"] == 2
