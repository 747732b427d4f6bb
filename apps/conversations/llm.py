"""The LLM path of the agent: the same tools and guardrails as the offline engine, any
OpenAI-compatible provider writing the words. Any provider failure returns None, and the
caller keeps the offline engine's reply."""

from __future__ import annotations

import dataclasses
import logging
import re
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from apps.training.selectors import knowledge_search
from convix.ai import offline_engine as compose
from convix.ai.confidence import Confidence
from convix.ai.prompts import system_prompt
from convix.ai.providers.base import ProviderError, ToolCall, ToolSpec, run_tool_loop

logger = logging.getLogger(__name__)

TOOLS = [
    ToolSpec(
        "search_knowledge",
        "Search the store's FAQs and policies. Use for shipping, returns, refunds, warranty, account and store questions.",
        {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    ToolSpec(
        "search_products",
        "Search the store's products, with optional price bounds and an in-stock filter. Returns titles, prices, stock and links.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "min_price": {"type": "number"},
                "max_price": {"type": "number"},
                "in_stock": {"type": "boolean"},
            },
            "required": ["query"],
        },
    ),
    ToolSpec(
        "lookup_order",
        "Look up an order's status and tracking. Needs the order number and the email used on the order (unless the customer is verified).",
        {
            "type": "object",
            "properties": {"order_number": {"type": "string"}, "email": {"type": "string"}},
            "required": ["order_number"],
        },
    ),
    ToolSpec(
        "start_return",
        "Record a return request for a delivered order the shopper owns (order number and email required).",
        {
            "type": "object",
            "properties": {
                "order_number": {"type": "string"},
                "email": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["order_number", "reason"],
        },
    ),
    ToolSpec(
        "request_human",
        "Hand the conversation to a person from the store's team.",
        {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
    ),
]


# A sentence ends at . ! ? or a line break followed by whitespace ("$12.50" and "e.g." inside a
# word do not end one).
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


class SentenceGate:
    """Streams a reply on as it is written, one sentence at a time, each checked first.

    ``feed`` takes the model's tokens; every complete sentence goes to ``check`` (the guardrails:
    the reasons it must not be sent) and, when clean, to ``sink``. The first sentence that fails
    stops the stream and sends ``None`` (the shopper's draft is dropped; the final reply, checked
    as a whole, replaces it). Text after the last sentence end waits for the final reply.
    """

    def __init__(self, sink, check) -> None:
        self.sink = sink
        self.check = check
        self.pending = ""
        self.sent: list[str] = []
        self.blocked = False

    def feed(self, token: str) -> None:
        if self.blocked or not token:
            return
        self.pending += token
        while not self.blocked and (end := SENTENCE_END.search(self.pending)):
            sentence, self.pending = self.pending[: end.end()], self.pending[end.end() :]
            if not sentence.strip():
                continue
            if self.check(sentence):
                self.blocked = True
                self.sink(None)
                return
            self.sent.append(sentence)
            self.sink(sentence)


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def write_with_llm(turn, reply, provider, *, on_stream=None):
    """Let the provider write the reply with tools; None on any provider failure.

    With ``on_stream`` the reply is streamed sentence by sentence through a ``SentenceGate``
    whose check is the agent's guardrail against the evidence gathered so far (tool results
    included).
    """
    from apps.conversations import agent
    from apps.training.selectors import product_search

    evidence = {
        "chunks": list(reply.chunks),
        "products": list(reply.products),
        "orders": [],
        "actions": [],
        "human": False,
    }

    def execute(call: ToolCall) -> dict:
        arguments = call.arguments or {}
        if call.name == "search_knowledge":
            chunks = knowledge_search(store=turn.store, query=str(arguments.get("query", ""))[:500], k=5)
            evidence["chunks"].extend(c for c in chunks if c.id not in {e.id for e in evidence["chunks"]})
            return {"results": [{"title": c.title, "section": c.section, "text": c.text} for c in chunks]}
        if call.name == "search_products":
            products = product_search(
                store=turn.store,
                query=str(arguments.get("query", ""))[:500],
                min_price=_decimal(arguments.get("min_price")),
                max_price=_decimal(arguments.get("max_price")),
                in_stock=arguments.get("in_stock") if isinstance(arguments.get("in_stock"), bool) else None,
                limit=5,
            )
            cards = [agent.product_card(p, b2b=agent.is_b2b_customer(turn)) for p in products]
            evidence["products"].extend(
                c for c in cards if c["id"] not in {p["id"] for p in evidence["products"]}
            )
            return {"products": cards}
        if call.name in ("lookup_order", "start_return"):
            order, reason = agent.lookup_order(
                store=turn.store,
                number=str(arguments.get("order_number", ""))[:40],
                email=str(arguments.get("email") or "") or None,
                verified_email=turn.verified_email,
            )
            if order is None:
                return {
                    "error": "Ask for the order's email."
                    if reason == "needs_email"
                    else "No order with that number and email."
                }
            evidence["orders"].append(agent.order_card(order))
            if call.name == "start_return":
                evidence["actions"].append({"type": "return_requested", "order": order.number})
                return {"ok": True, "order": order.number, "next": "The team will email a return label."}
            return {"order": agent.order_card(order), "summary": agent.order_text(order, turn.store)}
        if call.name == "request_human":
            evidence["human"] = True
            return {"ok": True}
        return {"error": f"Unknown tool {call.name}."}

    blocks = [f"{c.title} — {c.section}: {c.text}" for c in reply.chunks]
    blocks += [
        f"Product {p['title']}: {compose.format_money(p['price'], p['currency'])}, stock {p['stock']}, {p['url']}"
        for p in reply.products
    ]
    customer = ""
    if turn.verified_email:
        customer = f"verified customer {turn.verified_email}"
    messages = [
        {
            "role": "system",
            "content": system_prompt(
                store_name=turn.store.name,
                brand_voice=turn.settings.brand_voice,
                today=timezone.localdate(),
                forbidden_topics=turn.settings.forbidden_topics or [],
                context_blocks=blocks,
                customer_context=customer,
            ),
        }
    ]
    for past in turn.history[-8:]:
        role = "user" if past.role == "USER" else "assistant"
        messages.append({"role": role, "content": past.content})
    messages.append({"role": "user", "content": turn.text})
    on_token = None
    if on_stream is not None:
        draft = dataclasses.replace(reply)  # its cited products are read again only when they change

        def check(sentence: str) -> list[str]:
            draft.chunks, draft.products, draft.orders = (
                evidence["chunks"],
                evidence["products"],
                evidence["orders"],
            )
            return agent.guardrail_violations(turn, draft, sentence)

        on_token = SentenceGate(on_stream, check).feed
    try:
        result, _ = run_tool_loop(
            provider, messages, tools=TOOLS, execute=execute, max_steps=4, on_token=on_token
        )
    except ProviderError as error:
        logger.warning("LLM provider failed (%s); using the offline reply", error)
        return None
    text = (result.text or "").strip()
    if not text and not evidence["human"]:
        return None
    new = dataclasses.replace(
        reply,
        text=text or compose.HANDOFF_MESSAGES["EXPLICIT_REQUEST"],
        engine="llm",
        chunks=evidence["chunks"][:8],
        products=evidence["products"][:5],
        orders=evidence["orders"],
        actions=[*reply.actions, *evidence["actions"]],
        requested_human=evidence["human"],
    )
    if evidence["orders"]:
        new.confidence = Confidence(1.0, reply.confidence.intent, reply.confidence.emotional)
    return new
