"""The offline engine's writing: replies composed only from the merchant's own data.

Pure functions (no database): the agent passes in what it retrieved (chunks, products, orders)
and gets back text. Nothing here invents a fact; every number in a reply is copied from data.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
MARKDOWN_NOISE = re.compile(r"(^#+\s*|\*\*|__|`)", re.MULTILINE)

HANDOFF_MESSAGES = {
    "EXPLICIT_REQUEST": "Of course. I'm connecting you with someone from our team now; they'll pick up right here.",
    "ANGER_DETECTED": (
        "I'm really sorry about this. I'm bringing in a member of our team who can sort it out with you "
        "personally; they'll reply here shortly."
    ),
    "HIGH_VALUE_AT_RISK": (
        "Thanks, this is one our team should handle personally so you get the right pricing and options. "
        "I'm connecting you with them now."
    ),
    "UNRESOLVED_AFTER_3": (
        "I'm sorry I haven't been able to solve this. Let me hand you over to a member of our team who can help."
    ),
    "AMBIGUOUS_INTENT": (
        "I want to make sure you get the right answer, so I'm passing this to a member of our team. "
        "They'll reply here shortly."
    ),
    "LOW_CONFIDENCE": (
        "I'm not sure about that one, and I'd rather not guess. I'm connecting you with our team so "
        "you get an accurate answer."
    ),
}
AFTER_HOURS_SUFFIX = (
    " Our team is offline right now; we've noted your question and will reply as soon as we're back."
)


def split_sentences(text: str) -> list[str]:
    """The sentences of a document, without Markdown headings (context, not answers)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    cleaned = MARKDOWN_NOISE.sub("", "\n".join(lines))
    sentences = []
    for block in re.split(r"\n\s*\n|\n(?=[-*•]\s)|\n(?=\d+\.\s)", cleaned):
        block = " ".join(block.split()).lstrip("-*• ").strip()
        if block:
            sentences.extend(s.strip() for s in SENTENCE_END.split(block) if len(s.strip()) > 2)
    return sentences


STOPWORDS = set(
    "a an the and or but if of to in on at for from with by about as is are was were be been do does did "
    "i you we they it this that these those my your our their me us them what which who when where how why "
    "can could would should will shall may might have has had not no yes there here any some all so than "
    "too very just get got ur u pls please".split()
)


def content_stems(text: str) -> set[str]:
    """The content words of ``text``, cut to five letters (a cheap stem: "returns" meets "returned")."""
    return {w[:5] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS and len(w) > 2}


_stems = content_stems


SENTENCE_CACHE_SIZE = 20000
# What one shared content word adds to a sentence's cosine similarity when both are blended.
LEXICAL_WEIGHT = 0.06
_sentence_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


def sentence_vectors(embedder, sentences: Sequence[str]) -> np.ndarray:
    """Embeddings of ``sentences``, from a bounded per-process cache: a store's documents change
    rarely, so the sentences of the chunks it answers from are embedded once, not per message."""
    model = getattr(embedder, "model_id", type(embedder).__name__)
    found = {s: _sentence_cache.get((model, s)) for s in dict.fromkeys(sentences)}
    missing = [s for s, vector in found.items() if vector is None]
    if missing:
        for sentence, vector in zip(missing, embedder.embed(missing), strict=True):
            found[sentence] = _sentence_cache[(model, sentence)] = vector
        while len(_sentence_cache) > SENTENCE_CACHE_SIZE:
            _sentence_cache.popitem(last=False)
    return np.stack([found[s] for s in sentences])


def relevant_sentences(
    query_vector: np.ndarray,
    text: str,
    embedder,
    *,
    limit: int = 3,
    relative_floor: float = 0.8,
    query_text: str = "",
    ignore_text: str = "",
    blend: bool = False,
) -> list[str]:
    """The sentences of ``text`` most relevant to the query, in their original order.

    Default: scores by shared words with ``query_text`` when there are any (cheap), otherwise
    by embedding similarity. ``blend``: by embedding similarity plus a bonus per shared word,
    so the sentence that means the question and uses its words wins (policies, where every
    sentence shares the document's vocabulary). Words of ``ignore_text`` (e.g. the product's
    own name, which every sentence of its description is about) do not count. Keeps the best
    sentence and others scoring at least ``relative_floor`` of it, up to ``limit``.
    """
    sentences = split_sentences(text)
    if len(sentences) <= 1:
        return sentences
    query_stems = content_stems(query_text) - content_stems(ignore_text)
    lexical = np.array([len(query_stems & content_stems(s)) for s in sentences], dtype=np.float32)
    if blend:
        scores = sentence_vectors(embedder, sentences) @ query_vector + LEXICAL_WEIGHT * lexical
    elif query_stems and lexical.max() > 0:
        # Ties broken towards earlier sentences (documents lead with their point).
        scores = lexical - np.arange(len(sentences), dtype=np.float32) * 1e-3
    else:
        scores = sentence_vectors(embedder, sentences) @ query_vector
    best = float(scores.max())
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])
    keep = [i for i in ranked[:limit] if scores[i] >= best * relative_floor or i == ranked[0]]
    return [sentences[i] for i in sorted(keep)]


def format_money(amount: Decimal | str | float, currency: str = "USD") -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    symbol = {"USD": "$", "CAD": "CA$", "EUR": "€", "GBP": "£", "AUD": "A$"}.get(currency, currency + " ")
    return f"{symbol}{value:,.2f}"


def stock_label(stock: int) -> str:
    if stock <= 0:
        return "out of stock"
    if stock <= 3:
        return f"only {stock} left"
    return "in stock"


def product_line(*, title: str, price_text: str, stock_text: str, url: str) -> str:
    link = f" {url}" if url else ""
    return f"• {title}: {price_text}, {stock_text}.{link}"


def _date(value: datetime | None) -> str:
    return value.strftime("%b %-d, %Y") if value else ""


ORDER_STATUS_TEXT = {
    "PENDING": "has been received and is waiting for payment confirmation",
    "PROCESSING": "is processing: it's being packed in our warehouse and hasn't shipped yet",
    "SHIPPED": "has shipped",
    "DELIVERED": "was delivered",
    "CANCELLED": "was cancelled",
    "REFUNDED": "was refunded",
    "RETURNED": "was returned to us",
}


def order_status_text(
    *,
    number: str,
    status: str,
    carrier: str,
    tracking_number: str,
    tracking_url: str,
    placed_at: datetime | None,
    shipped_at: datetime | None,
    delivered_at: datetime | None,
    total_text: str,
) -> str:
    parts = [
        f"Order {number} (placed {_date(placed_at)}, total {total_text}) {ORDER_STATUS_TEXT.get(status, status.lower())}"
    ]
    if status == "SHIPPED" and shipped_at:
        parts[0] += f" on {_date(shipped_at)}"
    if status == "DELIVERED" and delivered_at:
        parts[0] += f" on {_date(delivered_at)}"
    text = parts[0] + "."
    if carrier and tracking_number and status in ("SHIPPED", "DELIVERED", "RETURNED"):
        text += f" It went with {carrier}, tracking number {tracking_number}."
        if tracking_url:
            text += f" Track it here: {tracking_url}"
    return text


def join_reply(*parts: str | None) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())


def list_sentence(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
