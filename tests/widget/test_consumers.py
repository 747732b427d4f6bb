"""The widget and dashboard sockets (Channels' WebsocketCommunicator on the real ASGI app):
who may connect, who hears what, the agent actions, and garbage on the wire."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.accounts.models import UserRole
from apps.channels.models import Channel, ChannelType
from apps.channels.widget import services as widget
from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
from apps.handoff.models import Handoff, HandoffStatus
from apps.handoff.services import handoff_create
from convix.asgi import application
from convix.tenancy import store_scope, unscoped

OWN_ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")
QUIET = 0.3  # how long "nothing arrives" is watched for


@pytest.fixture(autouse=True)
def clean_layer():
    async_to_sync(get_channel_layer().flush)()
    yield
    async_to_sync(get_channel_layer().flush)()


@pytest.fixture
def world(committed):
    """Two stores, each with a widget channel, two conversations, an agent; and an outsider."""
    from tests.factories import MembershipFactory, StoreFactory, UserFactory

    data = {}
    for key in ("a", "b"):
        owner = UserFactory(email=f"owner@{key}.sockets.example", name=f"Owner {key.upper()}")
        store = StoreFactory(name=f"Socket store {key}", slug=f"socket-store-{key}", owner=owner)
        agent = UserFactory(email=f"agent@{key}.sockets.example", name=f"Agent {key.upper()} Person")
        second = UserFactory(email=f"agent2@{key}.sockets.example", name=f"Second {key.upper()}")
        with unscoped("tests"):
            MembershipFactory(store=store, user=agent, role=UserRole.AGENT)
            MembershipFactory(store=store, user=second, role=UserRole.AGENT)
        with store_scope(store):
            channel = Channel.objects.create(store=store, type=ChannelType.WEB_WIDGET)
            conversations = [
                Conversation.objects.create(store=store, channel=channel, channel_type=ChannelType.WEB_WIDGET)
                for _ in range(2)
            ]
        data[key] = {
            "store": store,
            "agent": agent,
            "second": second,
            "conversations": conversations,
            "tokens": [widget.token_for(c) for c in conversations],
        }
    data["outsider"] = UserFactory(email="outsider@sockets.example")
    for user in (data["outsider"], *(data[k][role] for k in ("a", "b") for role in ("agent", "second"))):
        user.cookie = session_cookie(user)
    return data


def session_cookie(user) -> tuple[bytes, bytes]:
    """A real login session's cookie (computed before the async part: it writes the session)."""
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def run(scenario):
    async_to_sync(scenario)()


async def widget_socket(store, token=None, origin=OWN_ORIGIN):
    communicator = WebsocketCommunicator(application, f"/ws/widget/{store.id}/", headers=[HOST, origin])
    connected, code = await communicator.connect()
    assert connected, code
    if token:
        await communicator.send_to(text_data=json.dumps({"type": "join", "conversation": token}))
        joined = await communicator.receive_json_from(timeout=5)
        assert joined["type"] == "joined", joined
    return communicator


async def dashboard_socket(store, user):
    communicator = WebsocketCommunicator(
        application, f"/ws/dashboard/{store.id}/", headers=[HOST, OWN_ORIGIN, user.cookie]
    )
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def drain(communicator, timeout=QUIET) -> list[dict]:
    """Every frame that arrives within ``timeout`` of the previous one (a close is a frame too)."""
    frames = []
    while True:
        # receive_nothing watches without cancelling the application (a timed-out receive would).
        if await communicator.receive_nothing(timeout=timeout, interval=0.02):
            return frames
        output = await communicator.receive_output()
        if output["type"] == "websocket.close":
            frames.append({"closed": output.get("code")})
            return frames
        frames.append(json.loads(output["text"]))


def test_widget_socket_refuses_unknown_store_and_foreign_origin(world):
    async def scenario():
        for path in ("/ws/widget/00000000-0000-0000-0000-000000000000/", "/ws/widget/nope/"):
            communicator = WebsocketCommunicator(application, path, headers=[HOST, OWN_ORIGIN])
            connected, code = await communicator.connect()
            assert (connected, code) == (False, 4404)
        store = world["a"]["store"]
        communicator = WebsocketCommunicator(
            application, f"/ws/widget/{store.id}/", headers=[HOST, (b"origin", b"https://evil.example")]
        )
        connected, code = await communicator.connect()
        assert (connected, code) == (False, 4403)
        allowed = WebsocketCommunicator(
            application,
            f"/ws/widget/{store.id}/",
            headers=[HOST, (b"origin", f"https://{store.domain}".encode())],
        )
        connected, _ = await allowed.connect()
        assert connected
        await allowed.disconnect()

    run(scenario)


def test_join_needs_a_valid_token_of_this_store(world):
    a, b = world["a"], world["b"]

    async def scenario():
        for token, code in (
            ("forged", "invalid_token"),
            (b["tokens"][0], "invalid_token"),
            (None, "invalid_token"),
        ):
            communicator = await widget_socket(a["store"])
            await communicator.send_to(text_data=json.dumps({"type": "join", "conversation": token}))
            error = await communicator.receive_json_from(timeout=5)
            assert (error["type"], error["code"]) == ("error", code)
            assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"

    run(scenario)


def test_join_returns_state_and_history_for_resuming(world):
    a = world["a"]
    conversation = a["conversations"][0]
    with store_scope(a["store"]):
        Message.objects.create(
            store=a["store"], conversation=conversation, role=MessageRole.USER, content="hi"
        )
        Message.objects.create(
            store=a["store"], conversation=conversation, role=MessageRole.SYSTEM, content="internal"
        )

    async def scenario():
        communicator = WebsocketCommunicator(
            application, f"/ws/widget/{a['store'].id}/", headers=[HOST, OWN_ORIGIN]
        )
        await communicator.connect()
        await communicator.send_to(text_data=json.dumps({"type": "join", "conversation": a["tokens"][0]}))
        joined = await communicator.receive_json_from(timeout=5)
        assert joined["state"] == {"status": "ACTIVE", "agent_name": "", "is_handed_off": False}
        assert [(m["role"], m["text"]) for m in joined["messages"]] == [("USER", "hi")]
        await communicator.disconnect()

    run(scenario)


def test_garbage_frames_get_clear_errors_and_the_socket_survives(world):
    a = world["a"]

    async def scenario():
        communicator = await widget_socket(a["store"])
        await communicator.send_to(text_data=json.dumps({"type": "message", "text": "before joining"}))
        assert (await communicator.receive_json_from())["code"] == "not_joined"
        await communicator.send_to(text_data=json.dumps({"type": "join", "conversation": a["tokens"][0]}))
        assert (await communicator.receive_json_from())["type"] == "joined"
        for frame, code in (
            ("{not json", "invalid_json"),
            ("[1, 2]", "invalid_frame"),
            ('{"no": "type"}', "invalid_frame"),
            ('{"type": "rm -rf"}', "unknown_type"),
            ("x" * 20_000, "invalid_frame"),
            (json.dumps({"type": "message", "text": ""}), "empty"),
            (json.dumps({"type": "message", "text": ["a"]}), "invalid"),
            (json.dumps({"type": "message", "text": "ok", "client_id": 5}), "invalid_client_id"),
        ):
            await communicator.send_to(text_data=frame)
            error = await communicator.receive_json_from(timeout=5)
            assert (error["type"], error["code"]) == ("error", code), frame
        await communicator.send_to(bytes_data=b"\x00\x01")
        assert (await communicator.receive_json_from())["code"] == "invalid_frame"
        await communicator.send_to(text_data=json.dumps({"type": "ping"}))
        assert await communicator.receive_json_from() == {"type": "pong"}
        await communicator.disconnect()

    run(scenario)
    with store_scope(a["store"]):
        assert Message.objects.filter(store=a["store"]).count() == 0


def test_a_flooding_socket_is_closed(world, settings):
    settings.WIDGET_SOCKET_FRAMES_PER_10S = 5
    a = world["a"]

    async def scenario():
        communicator = await widget_socket(a["store"])
        for _ in range(6):
            await communicator.send_to(text_data=json.dumps({"type": "ping"}))
        frames = await drain(communicator)
        assert frames[:5] == [{"type": "pong"}] * 5
        assert frames[5]["code"] == "rate_limited"
        assert frames[6:] == [{"closed": 4429}]

    run(scenario)


def test_dashboard_socket_is_for_members_of_that_store_only(world):
    a = world["a"]

    async def scenario():
        anonymous = WebsocketCommunicator(
            application, f"/ws/dashboard/{a['store'].id}/", headers=[HOST, OWN_ORIGIN]
        )
        assert await anonymous.connect() == (False, 4401)
        for user in (world["outsider"], world["b"]["agent"]):
            communicator = WebsocketCommunicator(
                application, f"/ws/dashboard/{a['store'].id}/", headers=[HOST, OWN_ORIGIN, user.cookie]
            )
            assert await communicator.connect() == (False, 4404)
        # A member's session from a foreign page cannot open the socket (cross-site hijacking).
        hijack = WebsocketCommunicator(
            application,
            f"/ws/dashboard/{a['store'].id}/",
            headers=[HOST, (b"origin", b"https://evil.example"), a["agent"].cookie],
        )
        connected, _ = await hijack.connect()
        assert not connected
        member = await dashboard_socket(a["store"], a["agent"])
        await member.disconnect()

    run(scenario)


def test_events_reach_only_their_audience(world):
    a, b = world["a"], world["b"]

    async def scenario():
        shopper_1 = await widget_socket(a["store"], a["tokens"][0])
        shopper_2 = await widget_socket(a["store"], a["tokens"][1])
        shopper_b = await widget_socket(b["store"], b["tokens"][0])
        team_a = await dashboard_socket(a["store"], a["agent"])
        team_b = await dashboard_socket(b["store"], b["agent"])

        # A handoff in conversation 1: the team gets the summary, the shopper only the status.
        def hand_off():
            with store_scope(a["store"]):
                conversation = Conversation.objects.get(pk=a["conversations"][0].pk)
                handoff_create(store=a["store"], conversation=conversation, trigger="EXPLICIT_REQUEST")

        await database_sync_to_async(hand_off)()
        team_frames = await drain(team_a)
        handoff_event = next(f for f in team_frames if f["type"] == "handoff:triggered")
        assert handoff_event["handoff"]["conversation_id"] == str(a["conversations"][0].id)
        assert handoff_event["handoff"]["summary"].startswith(
            "Handed off because the shopper asked for a person"
        )
        assert any(f["type"] == "analytics:update" and f["counts"]["handed_off"] == 1 for f in team_frames)
        assert await drain(shopper_1) == [{"type": "conversation", "status": "HANDED_OFF", "agent_name": ""}]

        # The agent joins and writes; only conversation 1's shopper hears it, by first name.
        await team_a.send_json_to(
            {"type": "agent:join-conversation", "conversation_id": str(a["conversations"][0].id)}
        )
        await team_a.send_json_to(
            {
                "type": "agent:message",
                "conversation_id": str(a["conversations"][0].id),
                "text": "Hello from a human",
            }
        )
        shopper_frames = await drain(shopper_1)
        assert {"type": "conversation", "status": "HANDED_OFF", "agent_name": "Agent"} in shopper_frames
        message = next(f for f in shopper_frames if f["type"] == "message")["message"]
        assert (message["role"], message["text"], message["agent_name"]) == (
            "AGENT",
            "Hello from a human",
            "Agent",
        )
        assert "agent@a.sockets.example" not in json.dumps(shopper_frames)
        team_frames = await drain(team_a)
        assert [f["action"] for f in team_frames if f["type"] == "ack"] == [
            "agent:join-conversation",
            "agent:message",
        ]
        assert any(
            f["type"] == "message:new" and f["message"]["text"] == "Hello from a human" for f in team_frames
        )

        # Nobody else heard anything.
        assert await drain(shopper_2) == []
        assert await drain(shopper_b) == []
        assert await drain(team_b) == []
        for communicator in (shopper_1, shopper_2, shopper_b, team_a, team_b):
            await communicator.disconnect()

    run(scenario)


def test_shopper_message_over_the_socket_reaches_the_team_and_gets_an_ack(world):
    a = world["a"]

    async def scenario():
        shopper = await widget_socket(a["store"], a["tokens"][0])
        team = await dashboard_socket(a["store"], a["agent"])
        await shopper.send_to(text_data=json.dumps({"type": "message", "text": "Hello?", "client_id": "c1"}))
        frames = []
        while not any(f["type"] == "ack" for f in frames):  # the ack comes once the reply is saved
            frames.append(await shopper.receive_json_from(timeout=60))
        frames += await drain(shopper)
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack["client_id"] == "c1"
        echoed = next(
            f["message"] for f in frames if f["type"] == "message" and f["message"]["role"] == "USER"
        )
        assert (echoed["id"], echoed["client_id"]) == (ack["message_id"], "c1")
        # The store has no knowledge, so the AI replies (or hands off) — either way the shopper hears it.
        assert any(f["type"] == "message" and f["message"]["role"] == "AI" for f in frames)
        team_frames = await drain(team)
        assert any(f["type"] == "message:new" and f["message"]["text"] == "Hello?" for f in team_frames)
        await shopper.disconnect()
        await team.disconnect()

    run(scenario)


def test_two_agents_cannot_both_take_one_conversation(world):
    a = world["a"]
    conversation_id = str(a["conversations"][0].id)

    async def scenario():
        first = await dashboard_socket(a["store"], a["agent"])
        second = await dashboard_socket(a["store"], a["second"])
        await first.send_json_to({"type": "agent:join-conversation", "conversation_id": conversation_id})
        assert any(f["type"] == "ack" for f in await drain(first))
        await drain(second)
        for frame in (
            {"type": "agent:join-conversation", "conversation_id": conversation_id},
            {"type": "agent:message", "conversation_id": conversation_id, "text": "me too"},
            {"type": "agent:resolve", "conversation_id": conversation_id},
        ):
            await second.send_json_to(frame)
            error = next(f for f in await drain(second) if f["type"] == "error")
            assert error["code"] == "taken"
            assert error["message"] == "Agent is already handling this conversation."
        # Another store's conversation id is simply not found.
        await second.send_json_to(
            {"type": "agent:join-conversation", "conversation_id": str(world["b"]["conversations"][0].id)}
        )
        assert next(f for f in await drain(second) if f["type"] == "error")["code"] == "not_found"
        await second.send_json_to({"type": "agent:message", "conversation_id": "garbage", "text": "x"})
        assert next(f for f in await drain(second) if f["type"] == "error")["code"] == "not_found"
        await first.disconnect()
        await second.disconnect()

    run(scenario)
    with store_scope(a["store"]):
        conversation = Conversation.objects.get(pk=conversation_id)
        assert conversation.assigned_agent_id == a["agent"].id
        assert Message.objects.filter(conversation=conversation).count() == 0
    with store_scope(world["b"]["store"]):
        assert Conversation.objects.get(pk=world["b"]["conversations"][0].pk).assigned_agent_id is None


def test_resolve_closes_the_handoff_and_tells_the_shopper(world):
    a = world["a"]
    with store_scope(a["store"]):
        conversation = Conversation.objects.get(pk=a["conversations"][0].pk)
        handoff = handoff_create(store=a["store"], conversation=conversation, trigger="ANGER_DETECTED")

    async def scenario():
        shopper = await widget_socket(a["store"], a["tokens"][0])
        team = await dashboard_socket(a["store"], a["agent"])
        await team.send_json_to(
            {
                "type": "agent:resolve",
                "conversation_id": str(conversation.id),
                # A NUL (pasted from anywhere) is dropped: PostgreSQL text cannot hold one.
                "learning_note": "Offer the free exchange\x00 first.",
            }
        )
        frames = await drain(team)
        ack = next(f for f in frames if f["type"] == "ack")
        assert (ack["action"], ack["status"]) == ("agent:resolve", "RESOLVED")
        assert any(
            f["type"] == "conversation:updated" and f["conversation"]["status"] == "RESOLVED" for f in frames
        )
        assert await drain(shopper) == [{"type": "conversation", "status": "RESOLVED", "agent_name": "Agent"}]
        await shopper.disconnect()
        await team.disconnect()

    run(scenario)
    with store_scope(a["store"]):
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.RESOLVED
        assert handoff.learning_note == "Offer the free exchange first."
        assert Conversation.objects.get(pk=conversation.pk).status == ConvStatus.RESOLVED
        assert Handoff.objects.filter(store=a["store"]).count() == 1


@pytest.mark.django_db
def test_widget_group_names_never_collide_across_conversations(store):
    """(Also makes pytest-django create the test database when this module runs alone.)"""
    from apps.conversations import events

    with store_scope(store):
        first, second = (Conversation.objects.create(store=store) for _ in range(2))
    assert events.widget_group(first.id) != events.widget_group(second.id)
    assert events.widget_group(first.id) != events.dashboard_group(store.id)
