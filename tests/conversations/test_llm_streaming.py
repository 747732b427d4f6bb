"""Streaming an LLM reply to the shopper's widget, sentence by sentence, through the guardrails.

The fake OpenAI-compatible server streams Server-Sent Events over real HTTP; the events are read
from the real channel layer group the widget's sockets join.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.conversations import events, services
from apps.conversations.llm import SentenceGate
from apps.conversations.models import ConvStatus, Message, MessageRole
from tests.conversations.test_llm_path import receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def patient_layer(monkeypatch):
    """Keep layer messages for 10 minutes: a first turn on a loaded machine (models loading) can
    take longer than the layer's 60 s expiry, and the test reads the events after the turn."""
    monkeypatch.setattr(get_channel_layer(), "expiry", 600)


def ask_and_listen(store, text):
    """Start a conversation, join its widget group like a socket, ask, and return what arrived."""
    layer = get_channel_layer()
    conversation = services.conversation_start(store=store)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.widget_group(conversation.id), channel)
    receive(store=store, conversation=conversation, text=text)

    async def drain():
        got = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.3)
            except TimeoutError:
                return got
            got.append(message["event"])

    arrived = [e for e in async_to_sync(drain)() if e["type"] not in ("typing", "conversation")]
    conversation.refresh_from_db()
    return conversation, arrived


def test_reply_streams_sentence_by_sentence_before_the_saved_message(scoped, llm):
    llm.queue_text(
        "You can return unused gear within 45 days of delivery. Start it from your order page! "
        "We email you a label.",
        chunk_delay=0.25,
    )
    conversation, arrived = ask_and_listen(scoped, "how long do I have to return stuff?")
    assert llm.chat_requests[0].body["stream"] is True
    user, *streamed, final = arrived
    assert user["type"] == "message" and user["message"]["role"] == "USER"
    assert [e["type"] for e in streamed] == ["reply.delta", "reply.delta"]
    assert [e["text"] for e in streamed] == [
        "You can return unused gear within 45 days of delivery. ",
        "Start it from your order page! ",
    ]
    assert len({e["stream"] for e in streamed}) == 1
    assert final["type"] == "message" and final["message"]["role"] == "AI"
    assert final["message"]["text"] == "".join(e["text"] for e in streamed) + "We email you a label."
    assert conversation.status == ConvStatus.ACTIVE


def test_a_sentence_the_guardrails_refuse_is_never_streamed(scoped, llm):
    llm.queue_text("Our tents are great value. The cheapest is only $9.99 today! Come and see.")
    conversation, arrived = ask_and_listen(scoped, "what's your cheapest tent?")
    kinds = [e["type"] for e in arrived]
    assert kinds == ["message", "reply.delta", "reply.discard", "message"]
    assert arrived[1]["text"] == "Our tents are great value. "
    assert all("$9.99" not in str(e) for e in arrived)
    final = Message.objects.get(conversation=conversation, role=MessageRole.AI)
    assert "$9.99" not in final.content
    assert final.metadata["guardrail_violations"] == [
        "price $9.99 is not in the store data behind this reply"
    ]
    assert conversation.status == ConvStatus.HANDED_OFF


def test_a_tool_result_backs_the_prices_streamed_after_it(scoped, llm):
    from apps.stores.models import Product

    product = Product.objects.filter(store=scoped, is_active=True).order_by("price").first()
    price = f"${product.price:.2f}"
    llm.queue_tool_calls(("search_products", {"query": product.title}))
    llm.queue_text(f"The {product.title} is {price}. It ships in two days.")
    _, arrived = ask_and_listen(scoped, f"how much is the {product.title}?")
    deltas = [e["text"] for e in arrived if e["type"] == "reply.delta"]
    assert deltas == [f"The {product.title} is {price}. "]
    assert "reply.discard" not in [e["type"] for e in arrived]


def test_nothing_streams_when_the_turn_goes_to_a_human(scoped, llm):
    llm.queue_text("I am sorry to hear that. Let me help you with your order.")
    conversation, arrived = ask_and_listen(
        scoped, "This is ridiculous! My tent arrived broken and nobody answers my emails. I'm furious!"
    )
    assert llm.chat_requests  # the model wrote, but the turn was going to a person anyway
    assert [e["type"] for e in arrived if e["type"].startswith("reply.")] == []
    assert conversation.status == ConvStatus.HANDED_OFF


def test_sentence_gate_keeps_prices_and_stops_at_the_first_bad_sentence():
    sent = []
    gate = SentenceGate(sent.append, lambda s: ["bad"] if "secret" in s else [])
    for token in ["It costs $12", ".50 per ", "box. Next", " line?\nThe secret is out. ", "More. "]:
        gate.feed(token)
    assert sent == ["It costs $12.50 per box. ", "Next line?\n", None]
