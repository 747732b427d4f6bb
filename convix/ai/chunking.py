"""Splitting knowledge into retrievable chunks.

A chunk is 80–200 tokens of text cut on section, paragraph and sentence boundaries, in that
order of preference. It keeps its document title and section heading, and the text that gets
embedded starts with them ("Returns Policy — The return window: ..."), so a paragraph that
never names its subject still retrieves for questions about it. Its ``content_hash`` is the
SHA-256 of exactly that embedded text, so unchanged text can keep its embedding.

- Documents (policies, pages, files): :func:`chunk_document`.
- FAQs: :func:`chunk_faq`, one chunk per question and answer (split only if the answer is long).
- Product catalogs: :func:`catalog_chunks`, one chunk per product with price, stock per
  variant, key attributes, description and link.

Pure: no database, no Django. Token counts come from a callable (the embedder's tokenizer when
it has one) or from :func:`estimate_tokens`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from convix.ai.extract import ExtractedDocument, from_plain_text

MIN_TOKENS = 80
MAX_TOKENS = 200
# A variant with this many units or fewer is shown as "only N left".
LOW_STOCK = 5

TokenCounter = Callable[[str], int]

_TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """A cheap WordPiece token estimate: words and punctuation marks, plus one per 8 letters of
    a long word (within about 5% of the MiniLM tokenizer on English prose)."""
    count = 0
    for token in _TOKEN_PATTERN.findall(text):
        count += 1 + max(0, (len(token) - 6) // 8)
    return math.ceil(count * 1.08)


def embed_text(title: str, section: str, text: str) -> str:
    """The text that is embedded and hashed: "title — section: text"."""
    head = " — ".join(part for part in (title.strip(), section.strip()) if part)
    if not head:
        return text
    separator = " " if head[-1] in "?!.:" else ": "
    return f"{head}{separator}{text}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    title: str
    section: str
    text: str
    token_count: int
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def embed_text(self) -> str:
        return embed_text(self.title, self.section, self.text)

    @property
    def content_hash(self) -> str:
        return content_hash(self.embed_text)


# --- documents -----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9$€£])")


@dataclass
class _Piece:
    text: str
    tokens: int
    joiner: str  # what goes between this piece and the previous one in the same chunk


def _split_long(text: str, max_tokens: int, count: TokenCounter) -> list[_Piece]:
    """A paragraph longer than ``max_tokens``: by lines (list items), then sentences, then words."""
    pieces: list[_Piece] = []
    lines = text.split("\n")
    for line_number, line in enumerate(lines):
        line_joiner = "\n" if line_number else "\n\n"
        tokens = count(line)
        if tokens <= max_tokens:
            pieces.append(_Piece(line, tokens, line_joiner))
            continue
        for sentence_number, sentence in enumerate(_SENTENCE_END.split(line)):
            joiner = " " if sentence_number else line_joiner
            tokens = count(sentence)
            if tokens <= max_tokens:
                pieces.append(_Piece(sentence, tokens, joiner))
                continue
            # A run-on "sentence" (a table dump, a list without punctuation): cut by words.
            words = sentence.split(" ")
            per_piece = max(1, math.floor(len(words) * max_tokens / tokens * 0.9))
            for start in range(0, len(words), per_piece):
                part = " ".join(words[start : start + per_piece])
                pieces.append(_Piece(part, count(part), joiner if start == 0 else " "))
    return pieces


def _pack(pieces: list[_Piece], *, min_tokens: int, max_tokens: int) -> list[str]:
    """Greedy packing of pieces into chunks of about equal size, none above ``max_tokens`` (a
    single piece is never cut here), and a short tail merged back when it fits."""
    total = sum(p.tokens for p in pieces)
    if total <= max_tokens:
        return [_join(pieces)]
    target = math.ceil(total / math.ceil(total / max_tokens))
    groups: list[list[_Piece]] = [[]]
    size = 0
    for piece in pieces:
        if (
            groups[-1]
            and size + piece.tokens > target
            and (size >= min_tokens or size + piece.tokens > max_tokens)
        ):
            groups.append([])
            size = 0
        groups[-1].append(piece)
        size += piece.tokens
    if len(groups) > 1:
        tail = sum(p.tokens for p in groups[-1])
        before = sum(p.tokens for p in groups[-2])
        if tail < min_tokens and tail + before <= max_tokens:
            groups[-2].extend(groups.pop())
    return [_join(group) for group in groups]


def _join(pieces: list[_Piece]) -> str:
    text = ""
    for piece in pieces:
        text = f"{text}{piece.joiner}{piece.text}" if text else piece.text
    return text


def chunk_document(
    document: ExtractedDocument,
    *,
    metadata: dict | None = None,
    count_tokens: TokenCounter | None = None,
    min_tokens: int = MIN_TOKENS,
    max_tokens: int = MAX_TOKENS,
) -> list[Chunk]:
    """Chunks of a document, in reading order. A section never shares a chunk with another
    (its heading names the chunk), so a section shorter than ``min_tokens`` is a short chunk;
    a longer one is split on paragraphs, then sentences, into chunks of about equal size."""
    count = count_tokens or estimate_tokens
    chunks: list[Chunk] = []
    for section in document.sections:
        pieces: list[_Piece] = []
        for paragraph in section.paragraphs:
            tokens = count(paragraph)
            if tokens <= max_tokens:
                pieces.append(_Piece(paragraph, tokens, "\n\n"))
            else:
                pieces.extend(_split_long(paragraph, max_tokens, count))
        if not pieces:
            continue
        for text in _pack(pieces, min_tokens=min_tokens, max_tokens=max_tokens):
            text = text.strip()
            if text:
                chunks.append(
                    Chunk(
                        title=document.title,
                        section=section.heading,
                        text=text,
                        token_count=count(text),
                        metadata=dict(metadata or {}),
                    )
                )
    return chunks


def chunk_faq(
    *,
    question: str,
    answer: str,
    metadata: dict | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """One chunk per question and answer: the question is the title, the answer the text, and
    ``metadata["question"]`` the question. A very long answer is split, each part keeping the
    question."""
    document = from_plain_text(answer, title=question.strip())
    return chunk_document(
        document,
        metadata={**(metadata or {}), "question": question.strip()},
        count_tokens=count_tokens,
        # An FAQ answer is short by nature: never split one below the maximum.
        min_tokens=MAX_TOKENS,
    )


# --- product catalog -----------------------------------------------------------------------


@dataclass(frozen=True)
class VariantFacts:
    title: str
    sku: str
    price: Decimal
    stock: int


@dataclass(frozen=True)
class ProductFacts:
    """What a catalog chunk says about one product (built from the store's Product rows)."""

    id: str
    sku: str
    title: str
    price: Decimal
    currency: str = "USD"
    category: str = ""
    vendor: str = ""
    description: str = ""
    url: str = ""
    compare_at_price: Decimal | None = None
    attributes: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    variants: tuple[VariantFacts, ...] = ()
    bulk_prices: tuple[tuple[int, Decimal], ...] = ()  # (minimum quantity, unit price)


_CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: Decimal, currency: str = "USD") -> str:
    """ "$1,299.00" for USD; "1,299.00 CHF" for a currency without a symbol here."""
    symbol = _CURRENCY_SYMBOLS.get(currency.upper())
    value = f"{Decimal(amount):,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def stock_phrase(stock: int) -> str:
    """ "out of stock", "only N left" (N ≤ LOW_STOCK) or "in stock". Exact counts above the
    low-stock line are left out on purpose: they would change the text, and so re-embed the
    product, on every sale."""
    if stock <= 0:
        return "out of stock"
    if stock <= LOW_STOCK:
        return f"only {stock} left"
    return "in stock"


# Attribute key suffixes that are units: "weight_g" → "weight: 1020 g".
_UNIT_SUFFIXES = {
    "g": "g",
    "kg": "kg",
    "oz": "oz",
    "lb": "lb",
    "lbs": "lb",
    "l": "L",
    "ml": "ml",
    "cm": "cm",
    "mm": "mm",
    "m": "m",
    "m2": "m²",
    "in": "in",
    "f": "°F",
    "c": "°C",
    "w": "W",
    "mah": "mAh",
    "h": "hours",
    "people": "people",
}


def format_attribute(key: str, value) -> str:
    words = key.strip().split("_")
    unit = ""
    if len(words) > 1 and words[-1].lower() in _UNIT_SUFFIXES:
        unit = _UNIT_SUFFIXES[words.pop().lower()]
    name = " ".join(words).strip()
    if isinstance(value, bool):
        shown = "yes" if value else "no"
    elif isinstance(value, list | tuple):
        shown = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        shown = ", ".join(f"{k} {v}" for k, v in value.items())
    else:
        shown = str(value)
    if unit == "people":
        return f"{name}: {shown} {unit}"
    return f"{name}: {shown}{' ' + unit if unit else ''}"


def product_text(product: ProductFacts) -> str:
    """The catalog text of one product: price (and range), sale price, bulk prices, description,
    key attributes, tags, availability per variant, link."""
    currency = product.currency
    variants = list(product.variants)
    prices = sorted({v.price for v in variants}) or [product.price]
    lines = []
    if len(prices) == 1:
        price_line = f"Price: {money(prices[0], currency)}"
    else:
        price_line = (
            f"Price: {money(prices[0], currency)} to {money(prices[-1], currency)} depending on the option"
        )
    if product.compare_at_price and product.compare_at_price > prices[0]:
        price_line += f" (on sale, was {money(product.compare_at_price, currency)})"
    lines.append(price_line + ".")
    if product.vendor:
        lines.append(f"Brand: {product.vendor}.")
    # Descriptive text comes before the long availability and bulk-price lines: the embedder
    # reads only the first 256 tokens, and what a product is matters more there than its stock.
    if product.description.strip():
        lines.append(product.description.strip())
    if product.attributes:
        lines.append(
            "Key attributes: "
            + "; ".join(format_attribute(k, v) for k, v in product.attributes.items())
            + "."
        )
    if product.tags:
        lines.append("Tags: " + ", ".join(product.tags) + ".")
    lines.append(_availability(variants, product.price, currency, single_price=len(prices) == 1))
    if product.bulk_prices:
        tiers = "; ".join(
            f"{quantity}+ units {money(price, currency)} each" for quantity, price in product.bulk_prices
        )
        lines.append(f"Bulk (B2B) pricing: {tiers}.")
    if product.url:
        lines.append(f"Link: {product.url}")
    return "\n".join(lines)


def _availability(variants: list[VariantFacts], price: Decimal, currency: str, *, single_price: bool) -> str:
    if not variants:
        return "Availability: out of stock."
    total = sum(max(v.stock, 0) for v in variants)
    if len(variants) == 1 and variants[0].title.lower() in ("default", "default title", ""):
        return f"Availability: {stock_phrase(variants[0].stock)}."
    if len(variants) <= 6:
        parts = []
        for variant in variants:
            shown_price = "" if single_price else f" {money(variant.price, currency)}"
            parts.append(f"{variant.title}{shown_price} ({stock_phrase(variant.stock)})")
        overall = "in stock" if total > 0 else "out of stock"
        return f"Availability: {overall}. Options: " + "; ".join(parts) + "."
    # Many options (sizes × colors): group them so the text stays short.
    groups: dict[str, list[str]] = {"in stock": [], "low": [], "out of stock": []}
    for variant in variants:
        if variant.stock <= 0:
            groups["out of stock"].append(variant.title)
        elif variant.stock <= LOW_STOCK:
            groups["low"].append(f"{variant.title} (only {variant.stock} left)")
        else:
            groups["in stock"].append(variant.title)
    sentences = [f"Availability: {'in stock' if total > 0 else 'out of stock'} ({len(variants)} options)."]
    if groups["in stock"]:
        sentences.append("In stock: " + ", ".join(groups["in stock"]) + ".")
    if groups["low"]:
        sentences.append("Low stock: " + ", ".join(groups["low"]) + ".")
    if groups["out of stock"]:
        sentences.append("Out of stock: " + ", ".join(groups["out of stock"]) + ".")
    return " ".join(sentences)


def catalog_chunks(
    products: Iterable[ProductFacts], *, count_tokens: TokenCounter | None = None
) -> list[Chunk]:
    """One chunk per product (the caller passes active products only): the product title is the
    chunk title, its category the section, and ``metadata`` is {"product_id", "sku"}."""
    count = count_tokens or estimate_tokens
    chunks = []
    for product in products:
        text = product_text(product)
        chunks.append(
            Chunk(
                title=product.title,
                section=product.category,
                text=text,
                token_count=count(text),
                metadata={"product_id": str(product.id), "sku": product.sku},
            )
        )
    return chunks
