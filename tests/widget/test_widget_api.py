"""The public widget API against the demo store, through Django's test client (real pipeline,
real offline engine, eager background work run at commit)."""

from __future__ import annotations

import json

import pytest
from django.core import signing

from apps.channels.models import Channel, ChannelType
from apps.channels.widget import services as widget
from apps.conversations.models import Conversation, ConvStatus, InboundMessage, Message, MessageRole
from apps.stores.models import Order, PlanTier
from convix.tenancy import store_scope, unscoped


def post(client, url, body, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def api(demo_store):
    return f"/v1/widget/{demo_store.id}"


@pytest.fixture
def live_api(committed, demo_store):
    """The API on committed rows (no test transaction): on_commit work runs as in production."""
    from django.utils import timezone

    from tests.widget.conftest import demo_conversation_cleanup

    since = timezone.now()
    yield f"/v1/widget/{demo_store.id}"
    demo_conversation_cleanup(demo_store, since)
    with unscoped("tests"):
        from apps.conversations.models import Customer

        Customer.objects.filter(store=demo_store, created_at__gte=since).delete()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a request queued on commit (the AI reply), as after a real commit."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def start(client, api, **body):
    response = post(client, f"{api}/conversation", body)
    assert response.status_code in (200, 201), response.content
    return response.json()["conversation"]


def conversation_of(store, token) -> Conversation:
    with store_scope(store):
        return widget.conversation_from_token(store=store, token=token)


@pytest.mark.django_db
def test_config_describes_the_widget(client, api, demo_store):
    response = client.get(f"{api}/config")
    assert response.status_code == 200
    data = response.json()
    assert data["store"] == {"id": str(demo_store.id), "name": "Alder & Pine Outfitters"}
    assert data["launcher_text"] == "Ask our gear crew"
    assert data["primary_color"] == "#2F5D50"
    assert data["position"] == "right"
    assert data["greeting"].startswith("Hey there, welcome to Alder & Pine!")
    assert "127.0.0.1" in data["allowed_origins"] and "alderandpine.example" in data["allowed_origins"]
    assert set(data["business_hours"]) == {"is_open", "timezone", "notice"}
    assert data["business_hours"]["timezone"] == "America/Denver"


@pytest.mark.django_db
def test_unknown_or_malformed_store_is_a_clear_404(client, demo_store):
    for store_id in ("00000000-0000-0000-0000-000000000000", "not-a-store", "1"):
        response = client.get(f"/v1/widget/{store_id}/config")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "unknown_store", "message": "No such store."}}


@pytest.mark.django_db
def test_start_returns_a_token_that_resumes_the_same_conversation(client, api, demo_store):
    first = post(client, f"{api}/conversation", {})
    assert first.status_code == 201
    token = first.json()["conversation"]
    assert first.json()["is_new"] is True
    again = post(client, f"{api}/conversation", {"conversation": token})
    assert again.status_code == 200
    assert again.json()["is_new"] is False
    assert again.json()["conversation"] == token
    conversation = conversation_of(demo_store, token)
    assert conversation.channel_type == ChannelType.WEB_WIDGET
    assert conversation.is_customer_verified is False


@pytest.mark.django_db
def test_faq_question_without_wait_is_answered_after_commit(client, api, demo_store, run_on_commit):
    token = start(client, api)
    response = run_on_commit(
        post, client, f"{api}/message", {"conversation": token, "text": "How much does shipping cost?"}
    )
    assert response.status_code == 202
    assert response.json()["pending"] is True
    # The reply was produced at commit; a second client asking with wait sees the conversation's reply.
    conversation = conversation_of(demo_store, token)
    with store_scope(demo_store):
        reply = Message.objects.filter(conversation=conversation, role=MessageRole.AI).get()
    assert "$7.95" in reply.content


@pytest.mark.django_db
def test_wait_holds_the_response_until_the_reply(client, api, demo_store, run_on_commit, settings):
    """With ``wait`` the view polls the ledger; here the reply already exists when it looks."""
    token = start(client, api)
    conversation = conversation_of(demo_store, token)
    with store_scope(demo_store):
        message, _ = run_on_commit(
            widget.widget_message_send,
            store=demo_store,
            conversation=conversation,
            text="Do you ship to Canada?",
        )
        reply = widget.reply_wait(store=demo_store, message=message, timeout=1)
    assert reply is not None and reply.role == MessageRole.AI
    assert "Canad" in reply.content and "$19.95" in reply.content


def test_wait_response_carries_reply_confidence_and_products(client, live_api, demo_store):
    """The full ``wait`` response shape; committed, as in the embedded default, where the AI
    work runs in-process right after the shopper's message commits."""
    api = live_api
    token = start(client, api)
    response = post(
        client,
        f"{api}/message",
        {"conversation": token, "text": "Can you recommend a 2 person backpacking tent?", "wait": True},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["pending"] is False
    assert data["message"]["role"] == "USER"
    reply = data["reply"]
    assert reply["role"] == "AI"
    assert set(reply["confidence"]) == {"factual", "intent", "emotional", "composite"}
    assert reply["products"], reply
    assert set(reply["products"][0]) == {
        "id",
        "title",
        "price",
        "max_price",
        "currency",
        "url",
        "image_url",
        "in_stock",
    }
    assert any("Tent" in p["title"] for p in reply["products"])
    assert data["status"] == ConvStatus.ACTIVE


def test_handoff_answer_has_the_status_and_trigger(client, live_api, demo_store):
    api = live_api
    token = start(client, api)
    response = post(
        client,
        f"{api}/message",
        {"conversation": token, "text": "I want to talk to a human please", "wait": True},
    )
    data = response.json()
    assert response.status_code == 200
    assert data["status"] == ConvStatus.HANDED_OFF
    assert data["trigger"] == "EXPLICIT_REQUEST"
    assert "team" in data["reply"]["text"]
    # Internal fields never reach the shopper.
    assert "summary" not in json.dumps(data) and "evidence" not in data["reply"]


def test_verified_identity_sees_their_own_order(client, live_api, demo_store):
    api = live_api
    with unscoped("tests"):
        order = Order.objects.filter(store=demo_store).exclude(tracking_number="").first()
    email = order.email
    with store_scope(demo_store):
        good_hash = widget.identity_hash(store=demo_store, email=email)
    token = start(client, api, customer={"email": email, "name": "Verified Buyer"}, identity_hash=good_hash)
    conversation = conversation_of(demo_store, token)
    assert conversation.is_customer_verified is True
    assert conversation.customer.email == email.lower()
    response = post(
        client,
        f"{api}/message",
        {"conversation": token, "text": f"Where is my order {order.number}?", "wait": True},
    )
    reply = response.json()["reply"]
    assert [o["number"] for o in reply["orders"]] == [order.number]


@pytest.mark.django_db
def test_unverified_identity_claim_is_not_trusted(client, api, demo_store):
    with unscoped("tests"):
        order = Order.objects.filter(store=demo_store).first()
    for claimed_hash in ("", "0" * 64, "not-hex"):
        token = start(
            client, api, customer={"email": order.email, "name": "Mallory"}, identity_hash=claimed_hash
        )
        conversation = conversation_of(demo_store, token)
        assert conversation.is_customer_verified is False
        assert conversation.customer is None


@pytest.mark.django_db
def test_token_opens_only_its_own_conversation(client, api, demo_store, other_store):
    mine = start(client, api)
    theirs = start(client, api)
    mine_conversation = conversation_of(demo_store, mine)
    response = post(client, f"{api}/message", {"conversation": mine, "text": "hello there"})
    assert response.status_code == 202
    with store_scope(demo_store):
        assert Message.objects.filter(conversation=mine_conversation).count() == 1
        assert Message.objects.filter(conversation=conversation_of(demo_store, theirs)).count() == 0
    # The demo store's token does not open anything in another store.
    with store_scope(other_store):
        Channel.objects.create(store=other_store, type=ChannelType.WEB_WIDGET)
    response = post(client, f"/v1/widget/{other_store.id}/message", {"conversation": mine, "text": "hi"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    with unscoped("tests"):
        assert Message.objects.filter(store=other_store).count() == 0


@pytest.mark.django_db
def test_forged_and_expired_tokens_are_refused_and_nothing_is_saved(client, api, demo_store, settings):
    token = start(client, api)
    conversation = conversation_of(demo_store, token)
    forged = signing.dumps(
        {"s": str(demo_store.id), "c": str(conversation.id)}, key="not-the-secret", salt=widget.TOKEN_SALT
    )
    for bad, code in ((forged, "invalid_token"), (token[:-2] + "xx", "invalid_token"), ("", "invalid")):
        response = post(client, f"{api}/message", {"conversation": bad, "text": "hello"})
        assert response.status_code in (400, 401)
        assert response.json()["error"]["code"] == code
    settings.WIDGET_TOKEN_TTL_SECONDS = -1
    response = post(client, f"{api}/message", {"conversation": token, "text": "hello"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "expired_token"
    with store_scope(demo_store):
        assert Message.objects.filter(conversation=conversation).count() == 0


@pytest.mark.django_db
def test_empty_oversized_and_non_json_messages_get_clear_errors(client, api, demo_store, settings):
    token = start(client, api)
    conversation = conversation_of(demo_store, token)
    cases = [
        ({"conversation": token, "text": "   "}, 400, "empty"),
        ({"conversation": token, "text": "x" * (settings.WIDGET_MAX_MESSAGE_CHARS + 1)}, 400, "too_long"),
        ({"conversation": token, "text": "y" * 20_000}, 413, "too_large"),
        ({"conversation": token}, 400, "invalid"),
        ({"conversation": token, "text": 42}, 400, "invalid"),
    ]
    for body, status, code in cases:
        response = post(client, f"{api}/message", body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["error"]["code"] == code
    response = client.post(f"{api}/message", data="{not json", content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
    response = client.post(f"{api}/message", data="text=hi", content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()["error"]["code"]) == (415, "unsupported_media_type")
    response = post(client, f"{api}/message", ["a", "list"])
    assert response.status_code == 400
    with store_scope(demo_store):
        assert Message.objects.filter(conversation=conversation).count() == 0


@pytest.mark.django_db
def test_html_is_kept_as_text(client, api, demo_store):
    token = start(client, api)
    text = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    response = post(client, f"{api}/message", {"conversation": token, "text": text})
    assert response.json()["message"]["text"] == text


@pytest.mark.django_db
def test_client_id_makes_a_resend_a_no_op(client, api, demo_store):
    token = start(client, api)
    body = {"conversation": token, "text": "Is the Juniper tent waterproof?", "client_id": "abc123"}
    first = post(client, f"{api}/message", body)
    second = post(client, f"{api}/message", body)
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    with store_scope(demo_store):
        conversation = conversation_of(demo_store, token)
        assert Message.objects.filter(conversation=conversation, role=MessageRole.USER).count() == 1
        assert InboundMessage.objects.filter(conversation=conversation).count() == 1


@pytest.mark.django_db
def test_inactive_channel_refuses_clearly(client, api, demo_store):
    token = start(client, api)
    with store_scope(demo_store):
        Channel.objects.filter(store=demo_store, type=ChannelType.WEB_WIDGET).update(is_active=False)
    for response in (
        client.get(f"{api}/config"),
        post(client, f"{api}/conversation", {}),
        post(client, f"{api}/message", {"conversation": token, "text": "hi"}),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "channel_inactive"


@pytest.mark.django_db
def test_inactive_store_is_unknown(client, api, demo_store):
    from apps.stores.models import Store

    Store.objects.filter(pk=demo_store.pk).update(is_active=False)
    response = client.get(f"{api}/config")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_store")


@pytest.mark.django_db
def test_over_the_monthly_conversation_limit_gets_a_clear_message(client, store):
    with store_scope(store):
        channel = Channel.objects.create(store=store, type=ChannelType.WEB_WIDGET)
        limit = store.limits.monthly_conversations
        Conversation.objects.bulk_create(
            [
                Conversation(store=store, channel=channel, channel_type=ChannelType.WEB_WIDGET)
                for _ in range(limit)
            ]
        )
    assert store.plan_tier == PlanTier.STARTER
    response = post(client, f"/v1/widget/{store.id}/conversation", {})
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "plan_limit"
    assert "monthly conversation limit" in error["message"]
    with store_scope(store):
        assert Conversation.objects.filter(store=store).count() == limit


@pytest.mark.django_db
def test_one_ip_flooding_is_rate_limited_and_others_are_not(client, api, demo_store, settings):
    settings.WIDGET_RATE_MESSAGES = "3/minute"
    token = start(client, api)
    statuses = [
        post(client, f"{api}/message", {"conversation": token, "text": f"message {n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [202, 202, 202, 429, 429]
    limited = post(client, f"{api}/message", {"conversation": token, "text": "again"})
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    other_ip = post(
        client, f"{api}/message", {"conversation": token, "text": "from elsewhere"}, REMOTE_ADDR="10.0.0.9"
    )
    assert other_ip.status_code == 202
    with store_scope(demo_store):
        assert Message.objects.filter(conversation=conversation_of(demo_store, token)).count() == 4


@pytest.mark.django_db
def test_forwarded_for_header_does_not_evade_the_limit(client, api, demo_store, settings):
    settings.WIDGET_RATE_MESSAGES = "2/minute"
    token = start(client, api)
    statuses = [
        post(
            client,
            f"{api}/message",
            {"conversation": token, "text": f"m{n}"},
            HTTP_X_FORWARDED_FOR=f"10.1.1.{n}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]


@pytest.mark.django_db
def test_cors_allows_only_the_stores_domains(client, api, demo_store):
    allowed = client.get(f"{api}/config", HTTP_ORIGIN="https://alderandpine.example")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://alderandpine.example"
    preflight = client.options(
        f"{api}/message", HTTP_ORIGIN="http://localhost:3000", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    for origin in (
        "https://evil.example",
        "https://alderandpine.example.evil.com",
        "null",
        "javascript:alert(1)",
    ):
        refused = post(client, f"{api}/conversation", {}, HTTP_ORIGIN=origin)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused


@pytest.mark.django_db
def test_frame_is_csp_strict_and_framable_only_by_allowed_domains(client, demo_store):
    response = client.get(f"/widget/frame/{demo_store.id}")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'self'" in csp and "https://alderandpine.example" in csp
    assert "evil" not in csp
    assert "X-Frame-Options" not in response
    assert b"<script>" not in response.content  # no inline script
    assert client.get("/widget/frame/not-a-store").status_code == 404


@pytest.mark.django_db
def test_loader_and_demo_page_are_served(client, demo_store):
    loader = client.get("/widget.js")
    assert loader.status_code == 200
    assert loader["Content-Type"].startswith("application/javascript")
    assert b"postMessage" in loader.content and b'"*"' not in loader.content
    demo = client.get("/demo")
    assert demo.status_code == 200
    assert f'src="/widget.js" data-store="{demo_store.id}"'.encode() in demo.content
    assert b"Alder &amp; Pine Outfitters" in demo.content


@pytest.mark.django_db
def test_widget_endpoints_are_in_the_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "/v1/widget/{store_id}/config" in paths
    assert "/v1/widget/{store_id}/conversation" in paths
    assert "/v1/widget/{store_id}/message" in paths


def test_concurrent_waits_each_get_their_own_reply(live_api, demo_store):
    """Shoppers posting at once (each request on its own thread, as under Daphne): each ``wait``
    answers with the reply to its own message, never another shopper's."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    questions = [
        ("Do you ship to Canada?", "Canad"),
        ("How long do I have to return something?", "return"),
        ("Can you recommend a 2 person backpacking tent?", "Tent"),
        ("What payment methods do you take?", "pay"),
    ]

    def shopper(question):
        try:
            client = Client()
            token = start(client, live_api)
            response = post(
                client, f"{live_api}/message", {"conversation": token, "text": question, "wait": True}
            )
            return token, response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(shopper, [q for q, _ in questions]))
    for (question, expected), (token, status, data) in zip(questions, results, strict=True):
        assert status == 200, data
        assert data["pending"] is False and data["message"]["text"] == question
        reply = data["reply"]
        assert expected.lower() in (reply["text"] + json.dumps(reply.get("products"))).lower(), reply
        conversation = conversation_of(demo_store, token)
        with store_scope(demo_store):
            saved = Message.objects.get(store=demo_store, pk=reply["id"])
            assert saved.conversation_id == conversation.id
            assert str(saved.reply_to.message_id) == data["message"]["id"]


@pytest.mark.django_db
def test_nul_characters_are_refused_not_a_server_error(client, api, demo_store):
    token = start(client, api)
    conversation = conversation_of(demo_store, token)
    for body in (
        {"conversation": token, "text": "hi", "client_id": "c\u0000"},
        {"conversation": "tok\u0000", "text": "hi"},
    ):
        response = post(client, f"{api}/message", body)
        assert response.status_code == 400, body
    # The socket hands its frame's client_id to the service as it came.
    with store_scope(demo_store), pytest.raises(widget.WidgetError) as error:
        widget.widget_message_send(
            store=demo_store, conversation=conversation, text="hi", client_id="c\u0000"
        )
    assert (error.value.code, error.value.status) == ("invalid_client_id", 400)
    with store_scope(demo_store):
        assert Message.objects.filter(conversation=conversation).count() == 0
