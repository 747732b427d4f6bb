"""The agent: understand a shopper's message, use the store's data, reply or hand off.

``run_agent`` is called by the message pipeline (``services.agent_reply``) inside the store's
scope. It never writes; it returns an ``AgentReply`` the pipeline saves. The offline engine
composes replies only from the store's FAQs, policies, products and orders; when an LLM provider
is configured it writes the reply instead, with the same tools and the same guardrails, and any
provider failure falls back to the offline reply.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import numpy as np
from django.db.models import CharField, F, Func, Value
from django.db.models.functions import Lower
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

# Receives a streamed reply's checked sentences; None means "drop what was streamed".
StreamSink = Callable[[str | None], None]

logger = logging.getLogger(__name__)

DISSATISFIED = re.compile(
    r"\b(didn'?t|doesn'?t|does not|did not|not) (help|work|answer|make sense)|\bnot what i (asked|meant|need)"
    r"|\bthat'?s (not|wrong|useless)|\buseless\b|\bstill (don'?t|doesn'?t|not|no|confused|waiting)|\bno,? that\b"
    r"|\byou (already|keep) (said|saying)|\bwrong answer\b|\bnot helpful\b",
    re.IGNORECASE,
)
# A message that imitates tool output, system lines or instructions to the assistant: its claims
# (an email "verified" inside a fake tool result) prove nothing.
INJECTION_MARKERS = re.compile(
    r"[{\[]\s*\"(tool|role|result|verified|system|function)\"|^\s*(system|assistant|tool)\s*:|"
    r"\bignore (all |any )?(previous|prior|above) (instructions|rules)|\byou are now\b|\bdeveloper mode\b",
    re.IGNORECASE | re.MULTILINE,
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
    Intent.RETURN: "returns",
    Intent.REFUND: "refunds",
    Intent.SHIPPING: "shipping",
    Intent.PAYMENT: "payment",
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
    needs_human: bool = False
    at_risk_order_value: Decimal = Decimal("0")
    computed_amounts: list[Decimal] = field(default_factory=list)
    guardrail_violations: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)
    cited_products: list[Product] | None = field(default=None, repr=False)

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
    _knowledge: list[RetrievedChunk] | None = None
    _faq_match: tuple[RetrievedChunk | None] | None = None

    @property
    def text(self) -> str:
        return self.message.content

    def knowledge(self) -> list[RetrievedChunk]:
        """The store's best knowledge chunks for this message (hybrid search, fused order), once."""
        if self._knowledge is None:
            query, vector = self.retrieval_query()
            self._knowledge = knowledge_search(store=self.store, query=query, k=8, query_vector=vector)
        return self._knowledge

    def retrieval_query(self) -> tuple[str, np.ndarray]:
        """The text and vector to search knowledge with: the message, plus the intent's words."""
        u = self.understanding
        hint = INTENT_HINTS.get(u.intent) if u.intent_confidence >= 0.6 else None
        if not hint:
            return self.text, self.query_vector
        # The hint joins the full-text query only: the shopper's words already carry the meaning.
        return f"{self.text} ({hint})", self.query_vector


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

IDENTITY_QUESTION = re.compile(
    r"\b(are|r) (you|u) (a |an )?(real |actual )?(bot|robot|ai|human( being)?|real person|person|machine|chatbot|computer)\b"
    r"|\b(am i|i'?m) (talking|chatting|speaking) (to|with) (a |an )?(bot|robot|human|person|real|machine|ai)"
    r"|\b(real person|human) or (a )?(bot|robot|ai|machine)\b|\b(bot|robot|ai) or (a )?(real )?(person|human)\b"
    r"|\beres (una? )?(persona|humano|bot|robot)|\bes-tu (un )?(robot|humain|bot)|\bbist du (ein )?(mensch|bot|roboter)",
    re.IGNORECASE,
)
HUMAN_ELSEWHERE = re.compile(
    r"\b(hablar con (una )?(persona|humano|agente)|parler (à|a) (un|une) (humain|personne|agent|conseiller)"
    r"|mit einem (menschen|mitarbeiter)|falar com (uma )?(pessoa|atendente))",
    re.IGNORECASE,
)
STALLED = re.compile(
    r"\b(hasn'?t|has not|not|never|didn'?t|did not) (moved|updated|arrived|come|shown up|showed up|been delivered)"
    r"|\b(stuck|lost|missing|stolen|damaged|no updates?)\b|\bnothing (at|on) my (door|porch)",
    re.IGNORECASE,
)
CHURN = re.compile(
    r"\b(cancel|buy (it )?(somewhere|elsewhere)|somewhere else|another store|competitor|go elsewhere|refund)\b",
    re.I,
)
REFUND_DETAILS = re.compile(
    r"\b(how much|what amount|amount|what date|which date|what day|when exactly)\b[^.?!]*\brefund"
    r"|\brefund(ed)?\b[^.?!]*\b(how much|amount|what date|which date|on what day)\b",
    re.I,
)
EXCHANGE = re.compile(r"\b(exchange|swap|different size|bigger size|smaller size|size up|size down)\b", re.I)


def is_identity_question(text: str) -> bool:
    return bool(IDENTITY_QUESTION.search(text))


def emotional(u: Understanding) -> float:
    return emotional_score(anger=u.anger, sentiment=u.sentiment)


def understood(u: Understanding) -> float:
    return intent_score(intent_confidence=u.intent_confidence, is_ambiguous=u.is_ambiguous)


def answer_identity(turn: Turn) -> AgentReply:
    u = turn.understanding
    return AgentReply(
        text=f"I'm an AI assistant, not a human. {store_intro(turn)}",
        confidence=Confidence(1.0, 1.0, emotional(u)),
        understanding=u,
        quick_replies=["Talk to a person", "Help me choose"],
        state={"identity_question": True},
    )


def answer_greeting(turn: Turn) -> AgentReply:
    u = turn.understanding
    if re.search(r"\b(thanks|thank you|thx|cheers|appreciate)\b", turn.text, re.I):
        text = "You're welcome! Is there anything else I can help you with?"
    elif re.search(r"\b(bye|goodbye|see you|that'?s all)\b", turn.text, re.I):
        text = "Thanks for stopping by. Happy trails!"
    else:
        text = f"{turn.settings.greeting} {store_intro(turn)}"
    return AgentReply(
        text=text,
        confidence=Confidence(1.0, max(u.intent_confidence, 0.8), emotional(u)),
        understanding=u,
        quick_replies=["Track my order", "Shipping & returns", "Help me choose"],
    )


def answer_out_of_scope(turn: Turn, *, topic: str | None = None) -> AgentReply:
    u = turn.understanding
    if topic:
        text = (
            f"I'm sorry, I can't help with {topic}; please ask a qualified professional for that. "
            f"I'm happy to help with anything about {turn.store.name}'s products, orders and policies."
        )
    else:
        text = (
            f"That's outside what I can help with here. I'm {turn.store.name}'s AI assistant: ask me about "
            "our products, your orders, shipping, returns or our policies."
        )
    return AgentReply(
        text=text,
        confidence=Confidence(1.0, max(u.intent_confidence, 0.7), emotional(u)),
        understanding=u,
        resolved=topic is not None,
        quick_replies=["Help me choose", "Track my order"],
    )


def answer_clarify(turn: Turn) -> AgentReply:
    u = turn.understanding
    return AgentReply(
        text=(
            "I want to get this right: could you tell me a bit more? For example, which product, "
            "or is it about an order, shipping or a return?"
        ),
        confidence=Confidence(
            1.0, intent_score(intent_confidence=u.intent_confidence, is_ambiguous=True), 1.0
        ),
        understanding=u,
        resolved=False,
        quick_replies=["A product", "My order", "Shipping", "A return"],
        state={"last_ambiguous": True},
    )


def answer_retry(turn: Turn) -> AgentReply:
    """The shopper says the last answer did not help: apologise and ask what is missing."""
    u = turn.understanding
    return AgentReply(
        text=(
            "Sorry that didn't help. Could you tell me a little more about what you need? "
            "If you'd rather, I can connect you with someone from our team."
        ),
        confidence=Confidence(1.0, max(u.intent_confidence, 0.7), emotional(u)),
        understanding=u,
        resolved=False,
        quick_replies=["Talk to a person"],
    )


LEADING_YES_NO = re.compile(r"^(yes|no)[.,!]\s+(?=\S)", re.I)


def knowledge_sentences(turn: Turn, chunk: RetrievedChunk) -> list[str]:
    """The sentences of a chunk that answer the message: a FAQ answer whole (it is one answer),
    the best sentences of a policy or page by meaning and shared words together."""
    if chunk.doc_type == "FAQ":
        text = chunk.text.strip()
        if compose.content_stems(turn.text) != compose.content_stems(chunk.title):
            # "No." answers the FAQ's own question ("Do gift cards expire?"); asked in other
            # words ("is my old card still good?") it may mean the opposite, so let the
            # answer's own words speak.
            stripped = LEADING_YES_NO.sub("", text)
            text = stripped[:1].upper() + stripped[1:] if stripped else text
        return [text]
    return compose.relevant_sentences(
        turn.query_vector,
        chunk.text,
        get_embedder(),
        limit=3,
        relative_floor=0.85,
        query_text=turn.text,
        ignore_text=f"{chunk.title} {chunk.section}",
        blend=True,
    )


def best_document(chunks: list[RetrievedChunk]) -> RetrievedChunk | None:
    """The fused ranking's first chunk, unless another is clearly closer in meaning (the fused
    order also rewards chunks that merely repeat a common word of the message)."""
    if not chunks:
        return None
    closest = max(chunks, key=lambda c: c.similarity)
    return closest if closest.similarity >= chunks[0].similarity + 0.05 else chunks[0]


# A chunk just under the similarity threshold still counts when the full-text search found the
# message's own words in it and ranked it high ("pay in installments" → the FAQ that says
# "4 interest-free installments").
LEXICAL_RESCUE_MARGIN = 0.02
LEXICAL_RESCUE_RANK = 0.5


def is_relevant(chunk: RetrievedChunk) -> bool:
    """Whether a retrieved chunk is close enough to the message to answer from."""
    threshold = similarity_threshold()
    return chunk.similarity >= threshold or (
        chunk.similarity >= threshold - LEXICAL_RESCUE_MARGIN and chunk.text_rank >= LEXICAL_RESCUE_RANK
    )


def grounded_intent(u: Understanding, similarity: float) -> float:
    """How well the request is understood when the store's own content matches it closely: the
    classifier's score, or the match's, whichever is higher (a paraphrase of an FAQ is
    understood even when its intent label is unsure)."""
    match = clamp(0.55 + (similarity - similarity_threshold()) * 2.0, 0.0, 0.9)
    return max(understood(u), match)


_faq_classifiers: dict[tuple, object] = {}

# The FAQ matcher's similarity from which a message is taken to ask that FAQ's question even
# when retrieval ranks another chunk first. Measured on the demo store's 169 scenarios: every
# match at or above 0.62 named the FAQ a person would pick (29 of 30; the one miss asked about
# the shopper's own plan, which no FAQ answers), while 0.50–0.60 still mixed up neighbours
# ("free shipping" → the wholesale shipping FAQ).
STRONG_FAQ_MATCH = 0.62


def faq_match(turn: Turn, *, min_score: float | None = None) -> RetrievedChunk | None:
    """The store's FAQ whose question the message paraphrases, by the few-shot classifier
    (embeddings plus character n-grams, the HINT3-tested matcher), or None. Its
    ``similarity`` is the matcher's score. Computed once per turn."""
    if turn._faq_match is None:
        turn._faq_match = (_faq_match(turn),)
    matched = turn._faq_match[0]
    if matched is None or (min_score is not None and matched.similarity < min_score):
        return None
    return matched


def strong_faq_match(turn: Turn) -> RetrievedChunk | None:
    return faq_match(turn, min_score=STRONG_FAQ_MATCH)


def _faq_match(turn: Turn) -> RetrievedChunk | None:
    from django.conf import settings as django_settings

    if django_settings.EMBEDDINGS_PROVIDER != "offline":
        return None  # the classifier's threshold is calibrated for the offline model
    from apps.training.models import DocStatus, DocType, TrainingChunk, TrainingDoc
    from convix.ai.classifier import ExampleClassifier

    faqs = list(
        TrainingDoc.objects.filter(store=turn.store, type=DocType.FAQ, is_active=True, status=DocStatus.READY)
        .order_by("id")
        .values_list("id", "title", "updated_at")
    )
    if not faqs:
        return None
    key = (turn.store.id, hash(tuple(faqs)))
    classifier = _faq_classifiers.get(key)
    if classifier is None:
        classifier = ExampleClassifier({str(doc_id): [title] for doc_id, title, _ in faqs})
        if len(_faq_classifiers) > 64:
            _faq_classifiers.clear()
        _faq_classifiers[key] = classifier
    label, score = classifier.predict([turn.text], vectors=turn.query_vector[None, :])[0]
    if label is None:
        return None
    retrieved = next((c for c in turn.knowledge() if str(c.doc_id) == label), None)
    if retrieved is not None:  # usually already among the retrieved chunks: no second read
        return dataclasses.replace(retrieved, similarity=float(score))
    chunk = (
        TrainingChunk.objects.filter(store=turn.store, doc_id=label, is_active=True)
        .order_by("ordinal")
        .first()
    )
    if chunk is None:
        return None
    return RetrievedChunk(
        id=chunk.id,
        doc_id=chunk.doc_id,
        doc_type="FAQ",
        title=chunk.title,
        section=chunk.section,
        text=chunk.text,
        metadata=chunk.metadata,
        similarity=float(score),
        text_rank=0.0,
        score=0.0,
    )


def answer_from_knowledge(
    turn: Turn, *, doc_types: tuple[str, ...] = ("FAQ", "POLICY", "URL", "MANUAL")
) -> AgentReply:
    u = turn.understanding
    usable = [c for c in turn.knowledge() if c.doc_type in doc_types and is_relevant(c)]
    if not usable and "FAQ" in doc_types:
        matched = faq_match(turn)
        if matched is not None:
            return AgentReply(
                text=knowledge_sentences(turn, matched)[0],
                confidence=Confidence(0.7, max(understood(u), 0.7), emotional(u)),
                understanding=u,
                chunks=[matched],
            )
    if not usable:
        return dont_know(turn)
    strong = strong_faq_match(turn)
    if strong is not None and "FAQ" in doc_types:
        # The shopper asked one of the store's FAQ questions in other words: that answer first.
        usable = [strong, *[c for c in usable if c.doc_id != strong.doc_id]]
    best = usable[0] if strong is not None else best_document(usable)
    sentences = knowledge_sentences(turn, best)
    cited = [best]
    # A second source from another document when it is nearly as relevant (two FAQs that each
    # answer half of the question, or a FAQ and the policy behind it).
    second = next(
        (
            c
            for c in usable
            if c.doc_id != best.doc_id
            and c.doc_type in ("FAQ", "POLICY")
            and c.similarity >= best.similarity - 0.06
        ),
        None,
    )
    if second is not None and best.doc_type == "FAQ":
        extra = [s for s in knowledge_sentences(turn, second)[:1] if s not in " ".join(sentences)]
        if extra:
            sentences += extra
            cited.append(second)
    text = " ".join(sentences)
    if u.intent == Intent.COMPLAINT:
        text = "I'm sorry about that. " + text
    reply = AgentReply(
        text=text,
        confidence=Confidence(
            factual_from_similarity(best.similarity), grounded_intent(u, best.similarity), emotional(u)
        ),
        understanding=u,
        chunks=cited,
    )
    reply.products = named_products(turn, text)
    return reply


def named_products(turn: Turn, text: str) -> list[dict]:
    """Cards for the store's products that a knowledge answer names by title (so the shopper
    gets the price and the link of what the answer recommends). One query: the database
    compares every active title (without a parenthesised pack size) with the answer."""
    bare_title = Func(Lower("title"), Value(r"\s*\(.*?\)"), Value(""), Value("g"), function="regexp_replace")
    products = (
        Product.objects.filter(store=turn.store, is_active=True)
        .alias(bare_title=bare_title, answer=Value(text.lower(), output_field=CharField()))
        .filter(bare_title__regex=r"^.{7,}$", answer__contains=F("bare_title"))
        .prefetch_related("variants")
        .order_by("title")[:3]
    )
    return [product_card(product, b2b=is_b2b_customer(turn)) for product in products]


def dont_know(turn: Turn) -> AgentReply:
    """The store's data does not answer this: say so (the low factual score hands off)."""
    u = turn.understanding
    return AgentReply(
        text="I'm not sure about that, and I'd rather not guess.",
        confidence=Confidence(0.0, understood(u), emotional(u)),
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


def price_text(card: dict) -> str:
    price = compose.format_money(card["price"], card["currency"])
    if card["max_price"] != card["price"]:
        price += f"–{compose.format_money(card['max_price'], card['currency'])}"
    return price


def answer_recommendation(turn: Turn, products: list[Product]) -> AgentReply:
    u = turn.understanding
    minimum, maximum = price_bounds(turn)
    if not products:
        if maximum is not None:
            text = (
                f"I couldn't find anything in stock at {compose.format_money(maximum, turn.store.currency)} or "
                "less that fits. Would you like to see options a little above that budget?"
            )
            return AgentReply(
                text=text,
                confidence=Confidence(0.75, understood(u), emotional(u)),
                understanding=u,
                resolved=False,
            )
        return answer_from_knowledge(turn)
    b2b = is_b2b_customer(turn)
    cards = [product_card(p, b2b=b2b) for p in products]
    lines = []
    for product, card in zip(products, cards, strict=True):
        line = compose.product_line(
            title=product.title,
            price_text=price_text(card),
            stock_text=compose.stock_label(card["stock"]),
            url=product.url,
        )
        options = variant_availability(turn, product, brief=True)
        lines.append(f"{line} {options}".rstrip() if options else line)
    text = compose.join_reply("Here are a few good options:", *lines, "Want details on any of these?")
    similarity = getattr(products[0], "similarity", None) or 0.5
    return AgentReply(
        text=text,
        confidence=Confidence(max(0.75, factual_from_similarity(similarity)), understood(u), emotional(u)),
        understanding=u,
        products=cards,
        quick_replies=["Shipping & returns"],
    )


def mentioned_variants(turn: Turn, product: Product) -> list:
    """The product's variants whose option values the shopper named (best-matching ones only)."""
    lowered = turn.text.lower()
    tokens = set(re.findall(r"[a-z0-9]+(?:[./][a-z0-9]+)*", lowered))
    scored = []
    for variant in product.variants.all():
        values = [str(v).lower() for v in (variant.options or {}).values() if str(v).strip()]
        hits = sum(1 for v in values if (v in tokens) or (" " in v and v in lowered))
        if hits:
            scored.append((hits, variant))
    if not scored:
        return []
    best = max(h for h, _ in scored)
    return [v for h, v in scored if h == best]


def variant_availability(turn: Turn, product: Product, *, brief: bool = False) -> str:
    """What is and is not available, focused on the sizes/colors the shopper named."""
    variants = [v for v in product.variants.all() if v.is_active]
    if len(variants) <= 1:
        return ""
    named = mentioned_variants(turn, product)
    if named:
        parts = []
        for variant in named[:3]:
            parts.append(f"{variant.title} is {compose.stock_label(variant.stock)}")
        text = "; ".join(parts) + "."
        if all(v.stock <= 0 for v in named):
            # Same size in another color first; with no size named, any option in stock.
            sizes = {str((v.options or {}).get("size", "")).lower() for v in named} - {""}
            alternatives = [
                v.title
                for v in variants
                if v.stock > 0 and (not sizes or str((v.options or {}).get("size", "")).lower() in sizes)
            ]
            if alternatives:
                text += f" Available instead: {compose.list_sentence(alternatives[:5])}."
        return text
    if brief:
        return ""
    available = [v.title for v in variants if v.stock > 0]
    missing = [v.title for v in variants if v.stock <= 0]
    if not missing:
        return "All options are in stock."
    if not available:
        return "Every option is out of stock right now."
    if len(variants) > 10:
        return f"Out of stock right now: {compose.list_sentence(missing[:8])}; the rest are available."
    return (
        f"Available now: {compose.list_sentence(available)}. Out of stock: {compose.list_sentence(missing)}."
    )


def describe_product(turn: Turn, product: Product, *, b2b: bool) -> tuple[str, list[Decimal]]:
    """Price, availability, the description sentences that answer the question, volume pricing."""
    variants = [v for v in product.variants.all() if v.is_active]
    currency = product.currency
    computed: list[Decimal] = []
    prices = sorted({v.price for v in variants} or {product.price})
    price = compose.format_money(prices[0], currency)
    if len(prices) > 1:
        price = f"{price} to {compose.format_money(prices[-1], currency)}"
    parts = [f"{product.title} is {price}."]
    availability = variant_availability(turn, product)
    if availability:
        parts.append(availability)
    elif variants:
        parts.append(f"It's {compose.stock_label(variants[0].stock)}.")
    detail = compose.relevant_sentences(
        turn.query_vector,
        product.description,
        get_embedder(),
        limit=2,
        query_text=turn.text,
        ignore_text=f"{product.title} {product.category}",
    )
    if detail:
        parts.append(" ".join(detail))
    if (product.attributes or {}).get("final_sale") or "final-sale" in (product.tags or []):
        parts.append("It's a Final Sale item, so it can't be returned or exchanged.")
    quantities = asked_quantities(turn, product)
    if b2b and product.b2b_price_tiers:
        if quantities:
            quantity = max(quantities)
            unit = price_for_quantity(product, quantity, b2b=True)
            total = unit * quantity
            computed += [unit, total]
            parts.append(
                f"For {quantity} units your account price is {compose.format_money(unit, currency)} each "
                f"({compose.format_money(total, currency)} before shipping)."
            )
        else:
            tiers = ", ".join(
                f"{compose.format_money(t['price'], currency)} each from {t['min_quantity']} units"
                for t in product.b2b_price_tiers
            )
            parts.append(f"Your account's volume pricing: {tiers}.")
    if product.url:
        parts.append(product.url)
    return " ".join(parts), computed


# Words of a product question that ask about buying it rather than about one of its details.
COMMERCE_WORDS = compose.content_stems(
    "price prices cost costs much cheap cheaper expensive sale discount stock stocked available availability "
    "left still sold sell sells selling carry buy buying purchase order ordering get have come comes size sizes "
    "sizing color colors colour colours option options variant version model new tell more info information "
    "details detail about good best worth recommend need want like look looking any one ones also which "
    "ship shipping deliver delivery return returns warranty quick question thanks thank hey hello please"
)


# How shoppers ask about a detail vs how product data states it (keys are 5-letter stems).
DETAIL_SYNONYMS = {
    "heavy": "weight weighs",
    "light": "weight weighs",
    "weigh": "weight weighs",
    "warm": "temperature rating insulation insulated warmth",
    "warme": "temperature rating insulation insulated warmth",
    "cold": "temperature rating",
    "big": "capacity size liters dimensions",
    "large": "capacity size liters dimensions",
    "small": "capacity size liters dimensions packed",
    "long": "length",
    "tall": "height",
    "wide": "width",
    "brigh": "lumens",
    "last": "runtime hours battery",
    "hold": "capacity liters",
    "fits": "fit torso",
}


def unanswered_detail(turn: Turn, product: Product) -> bool:
    """The shopper named this product and asked about a detail ("is it made in the USA?", "what
    denier is the fabric?") that none of its data mentions: no word of the question, beyond the
    product's name and buying words, appears in its description, attributes, tags or options."""
    if not (QUESTION_START.search(turn.text) or "?" in turn.text) or not names_a_product(turn, product):
        return False
    asked = (
        compose.content_stems(turn.text)
        - compose.content_stems(f"{product.title} {product.category} {product.vendor}")
        - COMMERCE_WORDS
    )
    asked = {stem for stem in asked if not stem.isdigit()}
    if not asked:
        return False
    attributes = " ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in (product.attributes or {}).items()
    )
    options = " ".join(
        str(value) for variant in product.variants.all() for value in (variant.options or {}).values()
    )
    known = compose.content_stems(
        f"{product.description} {attributes} {' '.join(product.tags or [])} {options}"
    )
    asked |= {stem for word in asked for stem in compose.content_stems(DETAIL_SYNONYMS.get(word, ""))}
    return not (asked & known)


def answer_product(turn: Turn, product: Product) -> AgentReply:
    u = turn.understanding
    b2b = is_b2b_customer(turn)
    if unanswered_detail(turn, product):
        return AgentReply(
            text=f"I don't have that detail about the {product.title} in our product information, and I'd rather not guess.",
            confidence=Confidence(0.0, understood(u), emotional(u)),
            understanding=u,
            products=[product_card(product, b2b=b2b)],
            resolved=False,
        )
    text, computed = describe_product(turn, product, b2b=b2b)
    similarity = getattr(product, "similarity", None) or 0.5
    reply = AgentReply(
        text=text,
        confidence=Confidence(factual_from_similarity(max(similarity, 0.5)), understood(u), emotional(u)),
        understanding=u,
        products=[product_card(product, b2b=b2b)],
        quick_replies=["Shipping & returns"],
    )
    reply.computed_amounts = computed
    return reply


def conversation_emails(turn: Turn) -> list[str]:
    emails = [] if INJECTION_MARKERS.search(turn.text) else list(turn.understanding.entities.emails)
    emails += [e for e in turn.state.get("emails", []) if e not in emails]
    return emails


def return_window_days(store: Store) -> int | None:
    """The return window the store's own Returns policy states ("within 45 days of delivery")."""
    from apps.training.models import DocType, TrainingDoc

    for content in TrainingDoc.objects.filter(store=store, type=DocType.POLICY, is_active=True).values_list(
        "content", flat=True
    ):
        match = re.search(r"within (\d{1,3}) days of (delivery|receipt|purchase)", content, re.I)
        if match:
            return int(match.group(1))
    return None


def order_products(order: Order) -> list[Product]:
    skus = [item.get("sku") for item in order.items if item.get("sku")]
    return list(
        Product.objects.filter(store=order.store, variants__sku__in=skus)
        .distinct()
        .prefetch_related("variants")
    )


def answer_order(turn: Turn) -> AgentReply:
    u = turn.understanding
    numbers = list(u.entities.order_numbers) or (
        [turn.state["order_number"]] if turn.state.get("order_number") else []
    )
    emails = conversation_emails(turn)
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
                confidence=Confidence(1.0, understood(u), emotional(u)),
                understanding=u,
                orders=[order_card(o) for o in orders],
            )
    if not numbers:
        return AgentReply(
            text="I can check that for you. What's your order number (for example AP-10421), and the email address you used to place it?",
            confidence=Confidence(1.0, understood(u), emotional(u)),
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
            confidence=Confidence(1.0, understood(u), emotional(u)),
            understanding=u,
            resolved=False,
            state={"pending": "order", "order_number": safe_number(number)},
        )
    if order is None:
        return AgentReply(
            text=(
                "I couldn't find an order with that number and email address. Could you double-check both? "
                "They're in your order confirmation email."
            ),
            confidence=Confidence(0.9, understood(u), emotional(u)),
            understanding=u,
            resolved=False,
            state={"pending": "order", "order_number": safe_number(number)},
        )
    reply = AgentReply(
        text=order_text(order, turn.store),
        confidence=Confidence(1.0, understood(u), emotional(u)),
        understanding=u,
        orders=[order_card(order)],
        state={"pending": None, "order_number": order.number},
    )
    if REFUND_DETAILS.search(turn.text) and order.status in ("REFUNDED", "CANCELLED", "RETURNED"):
        # Order data holds no refund amount or date: say so rather than quote the order total.
        reply.text = compose.join_reply(
            reply.text, "I can't see the refund amount or date here, and I'd rather not guess."
        )
        reply.confidence = Confidence(0.0, reply.confidence.intent, reply.confidence.emotional)
        reply.resolved = False
        return reply
    wants_return = u.intent in (Intent.RETURN, Intent.REFUND) or EXCHANGE.search(turn.text)
    if wants_return:
        add_return_details(turn, order, reply)
    elif order.status == "SHIPPED" and STALLED.search(turn.text):
        policy = answer_from_knowledge(turn, doc_types=("POLICY", "FAQ"))
        if policy.chunks:
            reply.text = compose.join_reply(reply.text, policy.text)
            reply.chunks = policy.chunks
        reply.needs_human = True
    if CHURN.search(turn.text) and order.status in ("PENDING", "PROCESSING"):
        reply.at_risk_order_value = order.total
    return reply


def add_return_details(turn: Turn, order: Order, reply: AgentReply) -> None:
    """Return window, final-sale items and exchange availability for the shopper's own order."""
    window = return_window_days(turn.store)
    today = timezone.localdate()
    notes = []
    if order.status == "DELIVERED" and order.delivered_at and window:
        days = (today - order.delivered_at.date()).days
        if days > window:
            notes.append(
                f"It was delivered {days} days ago, which is past our {window}-day return window; "
                "our team can look at exceptions."
            )
        else:
            notes.append(f"That's within our {window}-day return window.")
    elif order.status in ("PENDING", "PROCESSING", "SHIPPED"):
        notes.append("It hasn't been delivered yet; you can start a return once it arrives.")
    products = order_products(order)
    final_sale = [
        p.title for p in products if (p.attributes or {}).get("final_sale") or "final-sale" in (p.tags or [])
    ]
    if final_sale:
        notes.append(
            f"{compose.list_sentence(final_sale)} was a Final Sale item, so it can't be returned or exchanged."
        )
    if EXCHANGE.search(turn.text) and not final_sale:
        for product in products:
            named = mentioned_variants(turn, product)
            if named:
                availability = "; ".join(f"{v.title} is {compose.stock_label(v.stock)}" for v in named[:3])
                notes.append(
                    f"For an exchange of the {product.title}: {availability}. Return shipping for exchanges is free."
                )
                reply.products.append(product_card(product))
                break
        else:
            notes.append("Exchanges ship free: tell us the size or color you'd like.")
    policy = answer_from_knowledge(turn, doc_types=("POLICY", "FAQ"))
    if policy.chunks and not final_sale:
        notes.append(policy.text)
        reply.chunks = policy.chunks
    if order.status == "DELIVERED" and not final_sale:
        reply.actions.append({"type": "return_requested", "order": order.number})
        notes.append(
            "I've noted a return request for this order; our team will email you the return label and instructions."
        )
    reply.text = compose.join_reply(reply.text, *notes)


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


def asked_quantities(turn: Turn, product: Product) -> list[int]:
    """The quantities in the message, less numbers that are part of the product's name
    ("Cascade 38" is one backpack, not 38)."""
    name_numbers = set(re.findall(r"\d+", product.title))
    return [q for q in turn.understanding.entities.quantities if str(q) not in name_numbers]


def quote_value(turn: Turn, products: list[Product]) -> Decimal:
    quantities = asked_quantities(turn, products[0]) if products else []
    if not quantities or not products:
        return Decimal("0")
    quantity = max(quantities)
    unit = price_for_quantity(products[0], quantity, b2b=is_b2b_customer(turn))
    return unit * quantity


POLICY_WORDS = re.compile(
    r"\b(return(s|able|ed)?|refund(s|able)?|warrant(y|ies)|guarantee|exchange|ship(ping|s)?|deliver(y|ed)?|covered|policy|final sale)\b",
    re.I,
)
QUESTION_START = re.compile(
    r"^\s*(what|whats|what's|when|where|how|which|is|are|do|does|can i|could i)\b", re.I
)
GENDER = {
    "women": re.compile(r"\b(women'?s?|womens|ladies|female)\b", re.I),
    "men": re.compile(r"\b(men'?s?|mens|male)\b", re.I),
}


def rerank_products(turn: Turn, products: list[Product]) -> list[Product]:
    """Prefer products the shopper named (title words) and for the gender they asked about."""
    words = set(re.findall(r"[a-z0-9]+", turn.text.lower()))

    def score(product: Product) -> float:
        title = set(re.findall(r"[a-z0-9]+", product.title.lower())) - {"the", "a", "s"}
        overlap = len(title & words) / max(len(title), 1)
        bonus = 0.0
        for gender, pattern in GENDER.items():
            asked = bool(pattern.search(turn.text))
            titled = bool(pattern.search(product.title)) and not (
                gender == "men" and GENDER["women"].search(product.title)
            )
            if asked and titled:
                bonus += 0.08
            elif asked and not titled and any(GENDER[g].search(product.title) for g in GENDER if g != gender):
                bonus -= 0.08
        return (getattr(product, "similarity", 0.0) or 0.0) + 0.25 * overlap + bonus

    return sorted(products, key=score, reverse=True)


STOCK_QUESTION = re.compile(
    r"\b(in stock|stock|available|availability|do you have (it|one|them|any)|have (it|them) in|sold out)\b",
    re.I,
)


def names_a_product(turn: Turn, product: Product) -> bool:
    """The shopper named this product (most of its distinctive title words appear)."""
    words = set(re.findall(r"[a-z0-9]+", turn.text.lower()))
    title = [w for w in re.findall(r"[a-z0-9]+", product.title.lower()) if len(w) > 2 or w.isdigit()]
    return len(title) > 0 and sum(w in words for w in title[:3]) >= 2


def is_vague(turn: Turn) -> bool:
    """Too little to act on: one or two words with nothing we recognise, or flagged ambiguous."""
    u = turn.understanding
    words = re.findall(r"[a-zA-Z']+", turn.text)
    recognisable = u.entities.order_numbers or u.entities.emails or u.entities.money
    return not recognisable and (len(words) <= 2 or (u.is_ambiguous and len(words) <= 5))


def answer(turn: Turn) -> AgentReply:
    """The offline engine's reply for this turn (before the handoff decision)."""
    u = turn.understanding
    if is_identity_question(turn.text):
        return answer_identity(turn)
    if DISSATISFIED.search(turn.text) and len(turn.text.split()) <= 12 and not u.entities.order_numbers:
        return answer_retry(turn)
    topic = forbidden_topic(turn)
    if topic:
        return answer_out_of_scope(turn, topic=topic)
    pending_order = turn.state.get("pending") == "order" and (u.entities.emails or u.entities.order_numbers)
    if u.entities.order_numbers or pending_order:
        return answer_order(turn)
    if u.intent == Intent.ORDER_STATUS:
        if turn.verified_email:
            return answer_order(turn)
        knowledge = answer_from_knowledge(turn)
        if knowledge.chunks and knowledge.chunks[0].similarity >= similarity_threshold() + 0.05:
            knowledge.text += (
                " If you share your order number and the email you used, I can check your order too."
            )
            return knowledge
        return answer_order(turn)
    if u.intent == Intent.GREETING and len(turn.text.split()) <= 6:
        return answer_greeting(turn)
    if is_vague(turn) or names_nothing(turn):
        # A second vague message in a row is handed off (AMBIGUOUS_INTENT) by decide().
        return answer_clarify(turn)
    reply = answer_by_evidence(turn)
    if turn.state.get("last_ambiguous") and not reply.resolved and not reply.chunks and not reply.products:
        # We asked what they meant and still cannot tell: that is ambiguity, not a new question.
        return answer_clarify(turn)
    return reply


REFERENCE = re.compile(r"\b(it|this|that|these|those|them|this one|that one)\b", re.I)


def names_nothing(turn: Turn) -> bool:
    """A short question about "it" at the start of a conversation ("is it in stock?"): there
    is nothing for "it" to refer to, so ask rather than guess a product."""
    u = turn.understanding
    words = re.findall(r"[a-zA-Z']+", turn.text)
    return (
        not turn.history
        and len(words) <= 6
        and bool(REFERENCE.search(turn.text))
        and not u.entities.product_terms
        and not (u.entities.order_numbers or u.entities.emails or u.entities.money)
    )


def answer_by_evidence(turn: Turn) -> AgentReply:
    """Choose between a product answer and a knowledge answer by what the store's data supports."""
    u = turn.understanding
    threshold = similarity_threshold()
    knowledge = [c for c in turn.knowledge() if is_relevant(c)]
    best_doc = strong_faq_match(turn) or best_document(
        [c for c in knowledge if c.doc_type != "PRODUCT_CATALOG"]
    )
    recommending = u.intent == Intent.RECOMMENDATION
    sales = u.intent in (Intent.PRODUCT_QUESTION, Intent.RECOMMENDATION)
    if (
        best_doc is not None
        and best_doc is strong_faq_match(turn)
        and not sales
        and not STOCK_QUESTION.search(turn.text)
    ):
        # One of the store's FAQs asked in other words, and not about buying: no product
        # search needed (it is most of a message's database work).
        return answer_from_knowledge(turn)
    minimum, maximum = price_bounds(turn)
    products = rerank_products(
        turn,
        product_search(
            store=turn.store,
            query=turn.text,
            min_price=minimum,
            max_price=maximum,
            in_stock=True if recommending else None,
            limit=6,
            query_vector=turn.query_vector,
        ),
    )
    top_product = products[0] if products else None
    if recommending and top_product is not None and names_a_product(turn, top_product):
        recommending = False  # "which size Traverse 65 do I need": a question about one product
    products = products[:3] if recommending else products[:1]
    product_similarity = getattr(top_product, "similarity", 0.0) or 0.0
    if u.intent == Intent.OUT_OF_SCOPE and not (
        (best_doc and best_doc.similarity >= threshold + 0.05) or product_similarity >= threshold + 0.1
    ):
        matched = faq_match(turn)
        if matched is None:
            return answer_out_of_scope(turn)
        return AgentReply(
            text=knowledge_sentences(turn, matched)[0],
            confidence=Confidence(0.7, 0.7, emotional(u)),
            understanding=u,
            chunks=[matched],
        )
    # "Is that covered?", "can I return it?": a question about a policy that names a product is
    # answered by the policy when one matches nearly as well as the product.
    about_policy = bool(POLICY_WORDS.search(turn.text))
    margin = 0.1 if about_policy else (0.0 if sales else 0.05)
    doc_wins = best_doc is not None and (
        not top_product or best_doc.similarity >= product_similarity - margin
    )
    # A recommendation request that a store document answers better than any product ("what
    # size socks for a women's 9") gets the document.
    doc_clearly_better = (
        best_doc is not None
        and maximum is None
        and minimum is None
        and best_doc.similarity >= product_similarity + 0.03
    )
    if recommending and products and not doc_clearly_better:
        return answer_recommendation(turn, products)
    if top_product is not None and product_similarity >= threshold and not doc_wins:
        return answer_product(turn, top_product)
    if best_doc is not None:
        reply = answer_from_knowledge(turn)
        if top_product is not None and product_similarity >= threshold + 0.1:
            reply.products = [product_card(top_product, b2b=is_b2b_customer(turn))]
        if (
            reply.chunks
            and top_product is not None
            and STOCK_QUESTION.search(turn.text)
            and names_a_product(turn, top_product)
        ):
            # "Which size do I need, and do you have it?": the guide answers the first half,
            # the product's own stock the second.
            availability = variant_availability(turn, top_product) or (
                f"It's {compose.stock_label(sum(max(v.stock, 0) for v in top_product.variants.all()))}."
            )
            reply.text = compose.join_reply(reply.text, f"{top_product.title}: {availability}")
            reply.products = [product_card(top_product, b2b=is_b2b_customer(turn))]
        return reply
    if sales and top_product is not None and product_similarity >= threshold - 0.05:
        return answer_product(turn, top_product)
    return answer_from_knowledge(turn)  # no chunk passed: the FAQ matcher's turn, then "not sure"


# --- the decision ------------------------------------------------------------------------------


def message_vector(text: str) -> np.ndarray:
    """The message's embedding in the knowledge index's space (reusing understanding's when offline)."""
    from django.conf import settings as django_settings

    if django_settings.EMBEDDINGS_PROVIDER == "offline":
        from convix.ai.understanding import text_vector

        return text_vector(text)
    return get_embedder().embed([text])[0]


def run_agent(
    *, store: Store, conversation: Conversation, message: Message, on_stream: StreamSink | None = None
) -> AgentReply:
    """Decide the reply to ``message``. Reads only; the pipeline saves the result.

    ``on_stream`` receives an LLM reply while it is written, sentence by sentence, each sentence
    checked by the guardrails first (``None`` when the draft must be dropped: a sentence failed).
    It is used only when the offline decision would not hand off; the saved reply is final.
    """
    settings = StoreSettings.objects.get(store=store)
    history = list(
        Message.objects.filter(store=store, conversation=conversation, created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .order_by("-created_at")[:12]
    )[::-1]
    prior_user_texts = [m.content for m in history if m.role == MessageRole.USER]
    understanding = understand(message.content, history=prior_user_texts)
    state = dict(conversation.metadata.get("agent", {}))
    trusted = [] if INJECTION_MARKERS.search(message.content) else list(understanding.entities.emails)
    emails = list(dict.fromkeys([*state.get("emails", []), *trusted]))
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
        query_vector=message_vector(message.content),
        verified_email=verified_email,
    )
    reply = answer(turn)
    reply.engine = "offline"

    from convix.ai.providers import get_llm_provider

    provider = get_llm_provider()
    if provider is not None and reply_needs_writing(turn, reply):
        from apps.conversations.llm import write_with_llm

        stream = on_stream if on_stream is not None and not decide(turn, copy.copy(reply)).trigger else None
        reply = write_with_llm(turn, reply, provider, on_stream=stream) or reply

    apply_guardrails(turn, reply)
    return decide(turn, reply)


def reply_needs_writing(turn: Turn, reply: AgentReply) -> bool:
    """The LLM writes knowledge and product answers; order facts and fixed replies stay templated."""
    return not reply.orders and turn.understanding.intent not in (Intent.GREETING, Intent.HUMAN_REQUEST)


def cited_products(turn: Turn, reply: AgentReply) -> list[Product]:
    """The store's products behind the reply's product cards, in card order, read once per reply
    (the guardrail and the handoff decision both need them)."""
    ids = [p["id"] for p in reply.products]
    if reply.cited_products is None or [str(p.id) for p in reply.cited_products] != ids:
        found = (
            {
                str(p.id): p
                for p in Product.objects.filter(store=turn.store, id__in=ids).prefetch_related("variants")
            }
            if ids
            else {}
        )
        reply.cited_products = [found[i] for i in ids if i in found]
    return reply.cited_products


def guardrail_violations(turn: Turn, reply: AgentReply, text: str) -> list[str]:
    """Why ``text`` must not be sent as (part of) ``reply``: a price, tracking number or protected
    text that the reply's evidence does not back. Empty when it may be sent."""
    allowed = guardrails.amounts_in([c.text for c in reply.chunks] + [turn.text])
    for card in reply.products:
        allowed |= {Decimal(card["price"]), Decimal(card["max_price"])}
        allowed |= {Decimal(str(t["price"])) for t in card.get("b2b_price_tiers", [])}
    products = cited_products(turn, reply)
    for product in products:
        allowed |= {v.price for v in product.variants.all()}
        # The product's own description is store data too ("$8 per box to Canada").
        allowed |= guardrails.amounts_in([product.description])
    for card in reply.orders:
        allowed.add(Decimal(card["total"]))
    allowed |= set(reply.computed_amounts)
    tracking = {o["tracking_number"] for o in reply.orders if o["tracking_number"]}
    from convix.ai.prompts import prompt_fragments

    forbidden = [*prompt_fragments(), turn.store.identity_secret or "", turn.store.api_key or ""]
    return guardrails.check_reply(
        text, allowed_amounts=allowed, allowed_tracking=tracking, forbidden=forbidden
    )


def apply_guardrails(turn: Turn, reply: AgentReply) -> None:
    """Block a reply with a price, tracking number or protected text the evidence does not back."""
    violations = guardrail_violations(turn, reply, reply.text)
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
    products = cited_products(turn, reply)
    at_risk = max(conversation.cart_value, quote_value(turn, products), reply.at_risk_order_value)
    value_at_risk = bool(
        QUOTE_WORDS.search(turn.text)
        or reply.at_risk_order_value
        or u.sentiment < -0.3
        or u.intent in (Intent.COMPLAINT, Intent.REFUND, Intent.RETURN)
        or reply.confidence.composite < turn.settings.confidence_threshold
    )
    identity_question = bool(reply.state.get("identity_question"))
    # "What's your customer service number?" asks for information, not for a person now.
    asks_for_person = u.wants_human or (
        u.intent == Intent.HUMAN_REQUEST and not QUESTION_START.search(turn.text)
    )
    wants_human = asks_for_person and not identity_question
    signals = Signals(
        wants_human=wants_human or reply.requested_human or bool(HUMAN_ELSEWHERE.search(turn.text)),
        # Handing off is costly for a merely curt message: clear anger, or anger with strong negativity.
        is_angry=u.anger >= 0.7 or (u.is_angry and u.sentiment <= -0.5),
        is_ambiguous=u.is_ambiguous or bool(reply.state.get("last_ambiguous")),
        previous_turn_ambiguous=bool(turn.state.get("last_ambiguous")),
        unresolved_turns=unresolved,
        at_risk_value=at_risk,
        high_value_threshold=turn.settings.high_value_cart_threshold,
        value_at_risk=value_at_risk,
        needs_human=reply.needs_human,
    )
    trigger = decide_handoff(reply.confidence, signals, threshold=turn.settings.confidence_threshold)
    reply.at_risk_value = at_risk
    reply.trigger = trigger
    state = {
        **turn.state,
        "last_ambiguous": False,
        "identity_question": False,
        **reply.state,
        "unresolved_turns": unresolved,
    }
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
