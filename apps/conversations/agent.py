"""The agent: understand a shopper's message, use the store's data, reply or hand off.

``run_agent`` is called by the message pipeline (``services.agent_reply``) inside the store's
scope. It never writes; it returns an ``AgentReply`` the pipeline saves. The offline engine
composes replies only from the store's FAQs, policies, products and orders; when an LLM provider
is configured it writes the reply instead, with the same tools and the same guardrails, and any
provider failure falls back to the offline reply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import numpy as np
from django.utils import timezone

from apps.conversations.models import Conversation, Message, MessageRole
from apps.stores.models import Order, Product, Store, StoreSettings
from apps.training.selectors import RetrievedChunk, knowledge_search, product_search, similarity_threshold
from convix.ai import guardrails
from convix.ai import offline_engine as compose
from convix.ai.confidence import (
    Confidence,
    Signals,
    clamp,
    decide_handoff,
    emotional_score,
    intent_score,
)
from convix.ai.embeddings import get_embedder
from convix.ai.intents import Intent
from convix.ai.understanding import Understanding, understand

logger = logging.getLogger(__name__)

AI_QUESTION = re.compile(
    r"\b(are|r) (you|u) (a |an )?(bot|robot|ai|human|real person|person|machine|chatbot)\b|\bam i (talking|chatting) to a (bot|human|person|real)",
    re.IGNORECASE,
)
DISSATISFIED = re.compile(
    r"\b(didn'?t|doesn'?t|does not|did not|not) (help|work|answer|make sense)|\bnot what i (asked|meant|need)"
    r"|\bthat'?s (not|wrong|useless)|\buseless\b|\bstill (don'?t|doesn'?t|not|no|confused|waiting)|\bno,? that\b"
    r"|\byou (already|keep) (said|saying)|\bwrong answer\b|\bnot helpful\b",
    re.IGNORECASE,
)
QUOTE_WORDS = re.compile(
    r"\b(quote|bulk|wholesale|invoice|net.?30|for (my|our) (team|company|group|troop|staff))\b", re.I
)
UNDER_PRICE = re.compile(
    r"\b(under|below|less than|max(imum)?|up to|no more than|cheaper than|within)\b", re.I
)
OVER_PRICE = re.compile(r"\b(over|above|more than|at least|min(imum)?)\b", re.I)


# Words added to the retrieval query when the intent is clear, so a shopper's own phrasing
# ("send something back") meets the store's ("returns").
INTENT_HINTS = {
    Intent.RETURN: "returns policy return window",
    Intent.REFUND: "refunds policy refund",
    Intent.SHIPPING: "shipping policy delivery",
    Intent.PAYMENT: "payment methods billing",
    Intent.ACCOUNT: "account",
}


@dataclass
class AgentReply:
    """What the agent decided for one shopper message."""

    text: str
    confidence: Confidence
    understanding: Understanding
    trigger: str | None = None
    engine: str = "offline"
    chunks: list[RetrievedChunk] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    quick_replies: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    at_risk_value: Decimal = Decimal("0")
    resolved: bool = True
    requested_human: bool = False
    guardrail_violations: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        u = self.understanding
        return {
            "engine": self.engine,
            "confidence": self.confidence.as_dict(),
            "intent": str(u.intent),
            "intent_confidence": round(u.intent_confidence, 4),
            "purchase_intent": round(u.purchase_intent, 4),
            "sentiment": round(u.sentiment, 4),
            "anger": round(u.anger, 4),
            "handoff_trigger": self.trigger,
            "evidence": {
                "chunks": [str(c.id) for c in self.chunks],
                "products": [p["id"] for p in self.products],
                "orders": [o["number"] for o in self.orders],
            },
            "sources": [{"doc_id": str(c.doc_id), "title": c.title, "type": c.doc_type} for c in self.chunks],
            "products": self.products,
            "orders": self.orders,
            "quick_replies": self.quick_replies,
            "actions": self.actions,
            "guardrail_violations": self.guardrail_violations,
        }


@dataclass
class Turn:
    """Everything the agent knows about the message it is answering."""

    store: Store
    settings: StoreSettings
    conversation: Conversation
    message: Message
    understanding: Understanding
    history: list[Message]
    state: dict
    query_vector: np.ndarray
    verified_email: str | None

    @property
    def text(self) -> str:
        return self.message.content

    def retrieval_query(self) -> tuple[str, np.ndarray]:
        """The text and vector to search knowledge with: the message, plus the intent's words."""
        u = self.understanding
        hint = INTENT_HINTS.get(u.intent) if u.intent_confidence >= 0.6 else None
        if not hint:
            return self.text, self.query_vector
        query = f"{self.text} ({hint})"
        return query, get_embedder().embed([query])[0]


# --- data tools (also offered to the LLM) ------------------------------------------------------


def product_card(product: Product, *, b2b: bool = False) -> dict:
    variants = list(product.variants.all())
    stock = sum(max(v.stock, 0) for v in variants)
    prices = sorted({v.price for v in variants} or {product.price})
    return {
        "id": str(product.id),
        "sku": product.sku,
        "title": product.title,
        "price": str(prices[0]),
        "max_price": str(prices[-1]),
        "currency": product.currency,
        "url": product.url,
        "image_url": product.image_url,
        "in_stock": stock > 0,
        "stock": stock,
        "b2b_price_tiers": product.b2b_price_tiers if b2b else [],
    }


def order_card(order: Order) -> dict:
    return {
        "number": order.number,
        "status": order.status,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "total": str(order.total),
        "currency": order.currency,
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
        "items": [{"title": i.get("title", ""), "quantity": i.get("quantity", 1)} for i in order.items],
    }


def lookup_order(
    *, store: Store, number: str, email: str | None, verified_email: str | None
) -> tuple[Order | None, str]:
    """The order if the shopper proved it is theirs, else None and why.

    Proof is the order's email given in the conversation, or a verified customer identity whose
    email is the order's. Another customer's order and a missing order look the same.
    """
    normalized = number.strip().lstrip("#").upper()
    candidates = {normalized, f"#{normalized}"}
    if normalized.isdigit():
        candidates |= {f"AP-{normalized}"}
    order = Order.objects.filter(store=store, number__in=candidates).first()
    proof = {e.lower() for e in (email, verified_email) if e}
    if order is None or order.email.lower() not in proof:
        return None, "not_found" if proof else "needs_email"
    return order, "ok"


def price_for_quantity(product: Product, quantity: int, *, b2b: bool) -> Decimal:
    """Unit price for ``quantity`` units: the B2B tier price when the buyer qualifies."""
    price = product.price
    if b2b:
        for tier in sorted(product.b2b_price_tiers or [], key=lambda t: t.get("min_quantity", 0)):
            if quantity >= int(tier.get("min_quantity", 0)):
                price = Decimal(str(tier["price"]))
    return price


# --- helpers -----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _topic_vectors(topics: tuple[str, ...]) -> np.ndarray:
    return get_embedder().embed(list(topics))


def forbidden_topic(turn: Turn) -> str | None:
    topics = tuple(t for t in (turn.settings.forbidden_topics or []) if t)
    if not topics:
        return None
    lowered = turn.text.lower()
    for topic in topics:
        words = [
            w for w in re.findall(r"[a-z]+", topic.lower()) if len(w) > 3 and w not in {"advice", "about"}
        ]
        if words and all(w in lowered for w in words):
            return topic
    scores = _topic_vectors(topics) @ turn.query_vector
    best = int(np.argmax(scores))
    return topics[best] if scores[best] >= 0.5 else None


def factual_from_similarity(similarity: float) -> float:
    """Map a cosine similarity to 0..1 around the calibrated threshold."""
    threshold = similarity_threshold()
    return clamp(0.65 + (similarity - threshold) * 1.75)


def is_b2b_customer(turn: Turn) -> bool:
    customer = turn.conversation.customer
    return bool(customer and customer.is_b2b and turn.conversation.is_customer_verified)


def store_intro(turn: Turn) -> str:
    return (
        f"I'm {turn.store.name}'s AI assistant. I can help with products and recommendations, orders and "
        "tracking, returns, shipping and our policies, and I can bring in a person from our team anytime."
    )


# --- the offline engine's answers, one per kind of request -------------------------------------


def answer_greeting(turn: Turn) -> AgentReply:
    u = turn.understanding
    if AI_QUESTION.search(turn.text):
        text = f"Yes, I'm an AI assistant, not a human. {store_intro(turn)}"
    elif re.search(r"\b(thanks|thank you|thx|cheers|appreciate)\b", turn.text, re.I):
        text = "You're welcome! Is there anything else I can help you with?"
    elif re.search(r"\b(bye|goodbye|see you|that'?s all)\b", turn.text, re.I):
        text = "Thanks for stopping by. Happy trails!"
    else:
        text = f"{turn.settings.greeting} {store_intro(turn)}"
    return AgentReply(
        text=text,
        confidence=Confidence(
            1.0, max(u.intent_confidence, 0.8), emotional_score(anger=u.anger, sentiment=u.sentiment)
        ),
        understanding=u,
        quick_replies=["Track my order", "Shipping & returns", "Help me choose"],
    )


def answer_out_of_scope(turn: Turn, *, topic: str | None = None) -> AgentReply:
    u = turn.understanding
    if topic:
        text = (
            f"I'm sorry, I can't help with {topic}. For that, please ask a qualified professional. "
            f"I'm happy to help with anything about {turn.store.name}'s products, orders and policies."
        )
    else:
        text = (
            f"That's outside what I can help with here. I'm {turn.store.name}'s AI assistant: ask me about "
            "our products, your orders, shipping, returns or our policies."
        )
    return AgentReply(
        text=text,
        confidence=Confidence(
            1.0, max(u.intent_confidence, 0.7), emotional_score(anger=u.anger, sentiment=u.sentiment)
        ),
        understanding=u,
        resolved=False,
        quick_replies=["Help me choose", "Track my order"],
    )


def answer_clarify(turn: Turn) -> AgentReply:
    u = turn.understanding
    return AgentReply(
        text=(
            "I want to get this right: could you tell me a bit more? For example, are you asking about a "
            "product, an order you placed, shipping, or a return?"
        ),
        confidence=Confidence(
            1.0, intent_score(intent_confidence=u.intent_confidence, is_ambiguous=True), 1.0
        ),
        understanding=u,
        resolved=False,
        quick_replies=["A product", "My order", "Shipping", "A return"],
        state={"last_ambiguous": True},
    )


def answer_from_knowledge(turn: Turn, *, doc_types: list[str] | None = None) -> AgentReply:
    u = turn.understanding
    query, vector = turn.retrieval_query()
    chunks = knowledge_search(store=turn.store, query=query, k=5, query_vector=vector, doc_types=doc_types)
    threshold = similarity_threshold()
    usable = [c for c in chunks if c.similarity >= threshold]  # in fused (hybrid) rank order
    if not usable:
        return dont_know(turn, chunks)
    best = usable[0]
    if best.doc_type == "FAQ":
        answer = best.metadata.get("answer") or best.text.split("\n", 1)[-1]
        sentences = [answer.strip()]
    else:
        sentences = compose.relevant_sentences(turn.query_vector, best.text, get_embedder(), limit=3)
    cited = [best] + [c for c in usable if c.id != best.id and c.doc_id != best.doc_id][:1]
    text = " ".join(sentences)
    emotional = emotional_score(anger=u.anger, sentiment=u.sentiment)
    if u.intent == Intent.COMPLAINT:
        text = "I'm sorry about that. " + text
    return AgentReply(
        text=text,
        confidence=Confidence(
            factual_from_similarity(best.similarity),
            intent_score(intent_confidence=u.intent_confidence, is_ambiguous=u.is_ambiguous),
            emotional,
        ),
        understanding=u,
        chunks=cited,
    )


def dont_know(turn: Turn, chunks: list[RetrievedChunk] | None = None) -> AgentReply:
    u = turn.understanding
    best = max((c.similarity for c in chunks or []), default=0.0)
    return AgentReply(
        text="I'm not sure about that, and I'd rather not guess.",
        confidence=Confidence(
            min(0.3, factual_from_similarity(best)),
            intent_score(intent_confidence=u.intent_confidence, is_ambiguous=u.is_ambiguous),
            emotional_score(anger=u.anger, sentiment=u.sentiment),
        ),
        understanding=u,
        resolved=False,
    )


def price_bounds(turn: Turn) -> tuple[Decimal | None, Decimal | None]:
    money = turn.understanding.entities.money
    if not money:
        return None, None
    if OVER_PRICE.search(turn.text) and not UNDER_PRICE.search(turn.text):
        return money[0], None
    if len(money) >= 2:
        return min(money), max(money)
    return None, money[0]


def answer_products(turn: Turn) -> AgentReply:
    u = turn.understanding
    minimum, maximum = price_bounds(turn)
    recommending = u.intent == Intent.RECOMMENDATION
    products = product_search(
        store=turn.store,
        query=turn.text,
        min_price=minimum,
        max_price=maximum,
        in_stock=True if recommending else None,
        limit=3 if recommending else 2,
    )
    b2b = is_b2b_customer(turn)
    emotional = emotional_score(anger=u.anger, sentiment=u.sentiment)
    intent = intent_score(intent_confidence=u.intent_confidence, is_ambiguous=u.is_ambiguous)
    if not products:
        if maximum is not None:
            text = f"I couldn't find anything in stock at {compose.format_money(maximum, turn.store.currency)} or less that fits. Would you like to see options a little above that budget?"
            return AgentReply(
                text=text, confidence=Confidence(0.75, intent, emotional), understanding=u, resolved=False
            )
        knowledge = answer_from_knowledge(turn)
        return knowledge
    cards = [product_card(p, b2b=b2b) for p in products]
    similarity = product_similarity(turn, products[0])
    if recommending:
        lines = []
        for product, card in zip(products, cards, strict=True):
            price = compose.format_money(card["price"], card["currency"])
            if card["max_price"] != card["price"]:
                price += f"–{compose.format_money(card['max_price'], card['currency'])}"
            lines.append(
                compose.product_line(
                    title=product.title,
                    price_text=price,
                    stock_text=compose.stock_label(card["stock"]),
                    url=product.url,
                )
            )
        text = compose.join_reply("Here are a few good options:", *lines, "Want details on any of these?")
        factual = max(0.75, factual_from_similarity(similarity))
    else:
        text = describe_product(turn, products[0], b2b=b2b)
        cards = cards[:1]
        factual = factual_from_similarity(similarity)
    return AgentReply(
        text=text,
        confidence=Confidence(factual, intent, emotional),
        understanding=u,
        products=cards,
        quick_replies=["Shipping & returns"],
    )


def product_similarity(turn: Turn, product: Product) -> float:
    vector = get_embedder().embed([f"{product.title}. {product.category}. {product.description[:300]}"])[0]
    return float(vector @ turn.query_vector)


def describe_product(turn: Turn, product: Product, *, b2b: bool) -> str:
    variants = [v for v in product.variants.all() if v.is_active]
    currency = product.currency
    lowered = turn.text.lower()
    mentioned = [
        v
        for v in variants
        if any(
            str(value).lower() in re.findall(r"[a-z0-9.\"']+", lowered)
            for value in (v.options or {}).values()
        )
    ]
    parts = []
    if mentioned:
        for variant in mentioned[:3]:
            parts.append(
                f"{product.title} ({variant.title}) is {compose.format_money(variant.price, currency)} and {compose.stock_label(variant.stock)}."
            )
    else:
        prices = sorted({v.price for v in variants} or {product.price})
        price = compose.format_money(prices[0], currency)
        if len(prices) > 1:
            price = f"{price} to {compose.format_money(prices[-1], currency)}"
        in_stock = [v.title for v in variants if v.stock > 0]
        out = [v.title for v in variants if v.stock <= 0]
        stock = (
            "in stock"
            if in_stock and not out
            else ("out of stock" if not in_stock else f"in stock except {compose.list_sentence(out)}")
        )
        if len(variants) == 1:
            stock = compose.stock_label(variants[0].stock)
        parts.append(f"{product.title} is {price} and {stock}.")
    detail = compose.relevant_sentences(turn.query_vector, product.description, get_embedder(), limit=2)
    if detail:
        parts.append(" ".join(detail))
    if b2b and product.b2b_price_tiers:
        tiers = ", ".join(
            f"{compose.format_money(t['price'], currency)} each from {t['min_quantity']} units"
            for t in product.b2b_price_tiers
        )
        parts.append(f"Your account's volume pricing: {tiers}.")
    if product.url:
        parts.append(product.url)
    return " ".join(parts)


def conversation_emails(turn: Turn) -> list[str]:
    emails = list(turn.understanding.entities.emails)
    emails += [e for e in turn.state.get("emails", []) if e not in emails]
    return emails


def answer_order(turn: Turn) -> AgentReply:
    u = turn.understanding
    numbers = list(u.entities.order_numbers) or (
        [turn.state["order_number"]] if turn.state.get("order_number") else []
    )
    emails = conversation_emails(turn)
    emotional = emotional_score(anger=u.anger, sentiment=u.sentiment)
    intent = intent_score(intent_confidence=u.intent_confidence, is_ambiguous=u.is_ambiguous)
    if not numbers and turn.verified_email:
        orders = list(
            Order.objects.filter(store=turn.store, email__iexact=turn.verified_email).order_by("-placed_at")[
                :3
            ]
        )
        if orders:
            lines = [order_text(o, turn.store) for o in orders]
            return AgentReply(
                text=compose.join_reply("Here are your most recent orders:", *lines),
                confidence=Confidence(1.0, intent, emotional),
                understanding=u,
                orders=[order_card(o) for o in orders],
            )
    if not numbers:
        return AgentReply(
            text="I can check that for you. What's your order number (for example AP-10421), and the email address you used to place it?",
            confidence=Confidence(1.0, intent, emotional),
            understanding=u,
            resolved=False,
            state={"pending": "order"},
        )
    number = numbers[0]
    order, reason = None, "needs_email"
    for email in emails or [None]:
        order, reason = lookup_order(
            store=turn.store, number=number, email=email, verified_email=turn.verified_email
        )
        if order:
            break
    if reason == "needs_email":
        return AgentReply(
            text=f"Thanks! To protect your privacy, please tell me the email address you used for order {safe_number(number)}.",
            confidence=Confidence(1.0, intent, emotional),
            understanding=u,
            resolved=False,
            state={"pending": "order", "order_number": safe_number(number)},
        )
    if order is None:
        return AgentReply(
            text="I couldn't find an order with that number and email address. Could you double-check both? They're in your order confirmation email.",
            confidence=Confidence(0.9, intent, emotional),
            understanding=u,
            resolved=False,
            state={"pending": "order", "order_number": safe_number(number)},
        )
    text = order_text(order, turn.store)
    reply = AgentReply(
        text=text,
        confidence=Confidence(1.0, intent, emotional),
        understanding=u,
        orders=[order_card(order)],
        state={"pending": None, "order_number": order.number},
    )
    if u.intent in (Intent.RETURN, Intent.REFUND):
        policy = answer_from_knowledge(turn, doc_types=["POLICY", "FAQ"])
        if policy.chunks:
            reply.text = compose.join_reply(text, policy.text)
            reply.chunks = policy.chunks
        if u.intent == Intent.RETURN and order.status == "DELIVERED":
            reply.actions.append({"type": "return_requested", "order": order.number})
            reply.text = compose.join_reply(
                reply.text,
                "I've noted a return request for this order; our team will email you the return label and instructions.",
            )
    return reply


def safe_number(number: str) -> str:
    """An order number as the shopper typed it, reduced to safe characters before we echo it."""
    return re.sub(r"[^A-Za-z0-9#-]", "", number)[:30]


def order_text(order: Order, store: Store) -> str:
    return compose.order_status_text(
        number=order.number,
        status=order.status,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        tracking_url=order.tracking_url,
        placed_at=order.placed_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        total_text=compose.format_money(order.total, order.currency),
    )


def quote_value(turn: Turn, products: list[Product]) -> Decimal:
    quantities = turn.understanding.entities.quantities
    if not quantities or not products:
        return Decimal("0")
    quantity = max(quantities)
    unit = price_for_quantity(products[0], quantity, b2b=is_b2b_customer(turn))
    return unit * quantity


# --- the decision ------------------------------------------------------------------------------


def answer_retry(turn: Turn) -> AgentReply:
    """The shopper says the last answer did not help: apologise and ask what is missing."""
    u = turn.understanding
    return AgentReply(
        text=(
            "Sorry that didn't help. Could you tell me a little more about what you need? "
            "If you'd rather, I can connect you with someone from our team."
        ),
        confidence=Confidence(
            1.0, max(u.intent_confidence, 0.7), emotional_score(anger=u.anger, sentiment=u.sentiment)
        ),
        understanding=u,
        resolved=False,
        quick_replies=["Talk to a person"],
    )


def answer(turn: Turn) -> AgentReply:
    """The offline engine's reply for this turn (before the handoff decision)."""
    u = turn.understanding
    if AI_QUESTION.search(turn.text):
        return answer_greeting(turn)
    if DISSATISFIED.search(turn.text) and len(turn.text.split()) <= 12 and not u.entities.order_numbers:
        return answer_retry(turn)
    topic = forbidden_topic(turn)
    if topic:
        return answer_out_of_scope(turn, topic=topic)
    pending_order = turn.state.get("pending") == "order" and (u.entities.emails or u.entities.order_numbers)
    if (
        u.intent == Intent.ORDER_STATUS
        or pending_order
        or (
            u.entities.order_numbers
            and u.intent in (Intent.RETURN, Intent.REFUND, Intent.SHIPPING, Intent.COMPLAINT)
        )
    ):
        return answer_order(turn)
    if u.intent == Intent.GREETING:
        return answer_greeting(turn)
    if u.intent == Intent.OUT_OF_SCOPE:
        return answer_out_of_scope(turn)
    if u.is_ambiguous and not turn.state.get("last_ambiguous") and len(turn.text.split()) <= 3:
        return answer_clarify(turn)
    if u.intent in (Intent.PRODUCT_QUESTION, Intent.RECOMMENDATION):
        return answer_products(turn)
    return answer_from_knowledge(turn)


def run_agent(*, store: Store, conversation: Conversation, message: Message) -> AgentReply:
    """Decide the reply to ``message``. Reads only; the pipeline saves the result."""
    settings = StoreSettings.objects.get(store=store)
    history = list(
        Message.objects.filter(store=store, conversation=conversation, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .order_by("-created_at")[:12]
    )[::-1]
    prior_user_texts = [m.content for m in history if m.role == MessageRole.USER]
    understanding = understand(message.content, history=prior_user_texts)
    state = dict(conversation.metadata.get("agent", {}))
    emails = list(dict.fromkeys([*state.get("emails", []), *understanding.entities.emails]))
    state["emails"] = emails[-3:]
    customer = conversation.customer
    verified_email = (
        customer.email if (customer and conversation.is_customer_verified and customer.email) else None
    )
    turn = Turn(
        store=store,
        settings=settings,
        conversation=conversation,
        message=message,
        understanding=understanding,
        history=history,
        state=state,
        query_vector=get_embedder().embed([message.content])[0],
        verified_email=verified_email,
    )
    reply = answer(turn)
    reply.engine = "offline"

    from convix.ai.providers import get_llm_provider

    provider = get_llm_provider()
    if provider is not None and reply_needs_writing(turn, reply):
        from apps.conversations.llm import write_with_llm

        reply = write_with_llm(turn, reply, provider) or reply

    apply_guardrails(turn, reply)
    return decide(turn, reply)


def reply_needs_writing(turn: Turn, reply: AgentReply) -> bool:
    """The LLM writes knowledge and product answers; order facts and fixed replies stay templated."""
    return not reply.orders and turn.understanding.intent not in (Intent.GREETING, Intent.HUMAN_REQUEST)


def apply_guardrails(turn: Turn, reply: AgentReply) -> None:
    """Block a reply with a price, tracking number or protected text the evidence does not back."""
    allowed = guardrails.amounts_in([c.text for c in reply.chunks] + [turn.text])
    for card in reply.products:
        allowed |= {Decimal(card["price"]), Decimal(card["max_price"])}
        allowed |= {Decimal(str(t["price"])) for t in card.get("b2b_price_tiers", [])}
    products = Product.objects.filter(
        store=turn.store, id__in=[p["id"] for p in reply.products]
    ).prefetch_related("variants")
    for product in products:
        allowed |= {v.price for v in product.variants.all()}
    for card in reply.orders:
        allowed.add(Decimal(card["total"]))
    tracking = {o["tracking_number"] for o in reply.orders if o["tracking_number"]}
    from convix.ai.prompts import prompt_fragments

    forbidden = [*prompt_fragments(), turn.store.identity_secret or "", turn.store.api_key or ""]
    violations = guardrails.check_reply(
        reply.text, allowed_amounts=allowed, allowed_tracking=tracking, forbidden=forbidden
    )
    if violations:
        logger.warning("guardrail blocked a reply in store %s: %s", turn.store.id, violations)
        reply.guardrail_violations = violations
        reply.text = "I'm not certain enough about that to answer, so I'll connect you with our team."
        reply.confidence = Confidence(0.0, reply.confidence.intent, reply.confidence.emotional)


def decide(turn: Turn, reply: AgentReply) -> AgentReply:
    """Apply the six handoff triggers and update the conversation state the agent keeps."""
    u = turn.understanding
    conversation = turn.conversation
    # UNRESOLVED_AFTER_3 counts the shopper's turns on one unresolved problem: the question,
    # then each "that didn't help" (or each reply that could not answer).
    if DISSATISFIED.search(turn.text):
        unresolved = max(conversation.unresolved_turns, 1) + 1
    elif not reply.resolved:
        unresolved = conversation.unresolved_turns + 1
    else:
        unresolved = 0
    products = list(Product.objects.filter(store=turn.store, id__in=[p["id"] for p in reply.products]))
    at_risk = max(conversation.cart_value, quote_value(turn, products))
    value_at_risk = bool(
        QUOTE_WORDS.search(turn.text)
        or u.sentiment < -0.3
        or u.intent in (Intent.COMPLAINT, Intent.REFUND, Intent.RETURN)
        or reply.confidence.composite < turn.settings.confidence_threshold + 0.1
    )
    signals = Signals(
        wants_human=u.wants_human or u.intent == Intent.HUMAN_REQUEST or reply.requested_human,
        is_angry=u.is_angry,
        is_ambiguous=u.is_ambiguous,
        previous_turn_ambiguous=bool(turn.state.get("last_ambiguous")),
        unresolved_turns=unresolved,
        at_risk_value=at_risk,
        high_value_threshold=turn.settings.high_value_cart_threshold,
        value_at_risk=value_at_risk,
    )
    trigger = decide_handoff(reply.confidence, signals, threshold=turn.settings.confidence_threshold)
    reply.at_risk_value = at_risk
    reply.trigger = trigger
    state = {**turn.state, "last_ambiguous": False, **reply.state, "unresolved_turns": unresolved}
    reply.state = state
    if trigger:
        message = compose.HANDOFF_MESSAGES[trigger]
        if trigger == "HIGH_VALUE_AT_RISK" and reply.text and reply.products:
            message = compose.join_reply(reply.text, message)
        if not within_business_hours(turn.settings):
            message += compose.AFTER_HOURS_SUFFIX
        reply.text = message
        reply.quick_replies = []
    return reply


def within_business_hours(settings: StoreSettings, now=None) -> bool:
    """Whether the store's team is in, by its business hours in its own timezone."""
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(settings.timezone or "UTC")
    except Exception:  # noqa: BLE001 - an unknown zone name falls back to UTC
        zone = ZoneInfo("UTC")
    local = (now or timezone.now()).astimezone(zone)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][local.weekday()]
    current = local.strftime("%H:%M")
    return any(start <= current < end for start, end in (settings.business_hours or {}).get(day, []))
