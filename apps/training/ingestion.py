"""The steps of indexing one TrainingDoc: build its chunks, embed only new text, swap the rows.

``apps.training.services.doc_index`` runs these steps and owns statuses and transactions; this
module holds the mechanics:

- :func:`build_chunks`: the document's chunks, by type (one small function per DocType in
  ``CHUNK_BUILDERS``). URL documents are fetched here.
- :func:`stored_hash`: the key under which a chunk's embedding can be reused: the chunk's
  content hash *and* the embedding model, so switching models re-embeds everything.
- :func:`reusable_embeddings` / :func:`embed_in_batches`: reuse what the store already has,
  embed the rest in batches, reporting progress.
- :func:`replace_chunks`: make the document's rows match the new chunks, keeping the id and
  embedding of every unchanged chunk.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.contrib.postgres.search import SearchVector
from django.db.models import Prefetch

from apps.stores.models import Product, ProductVariant, Store
from apps.training.models import DocType, TrainingChunk, TrainingDoc
from convix import http
from convix.ai import extract
from convix.ai.chunking import Chunk, ProductFacts, VariantFacts, catalog_chunks, chunk_document, chunk_faq

# Texts per call to the embedder: large enough to batch well, small enough to report progress.
EMBED_BATCH = 64
# Rows per INSERT / UPDATE statement.
WRITE_BATCH = 500


@dataclass
class BuiltChunks:
    chunks: list[Chunk]
    # Fields of the document to save with the result (a URL page's text and title).
    doc_updates: dict = field(default_factory=dict)


def _token_counter(embedder) -> Callable[[str], int] | None:
    return getattr(embedder, "count_tokens", None)


def _faq(store: Store, doc: TrainingDoc, embedder) -> BuiltChunks:
    extra = {"category": doc.metadata["category"]} if doc.metadata.get("category") else {}
    return BuiltChunks(
        chunk_faq(
            question=doc.title, answer=doc.content, metadata=extra, count_tokens=_token_counter(embedder)
        )
    )


def _text_document(doc: TrainingDoc) -> extract.ExtractedDocument:
    """A policy or uploaded file's stored text. Plain text is kept as is; everything else is
    stored as Markdown (extraction writes ``## heading`` sections)."""
    if doc.content_type == extract.PLAIN_TEXT:
        return extract.from_plain_text(doc.content, title=doc.title)
    parsed = extract.from_markdown(doc.content, title=doc.title)
    parsed.title = doc.title
    return parsed


def _text(store: Store, doc: TrainingDoc, embedder) -> BuiltChunks:
    if not doc.content.strip():
        raise extract.ExtractionError("This document has no text.")
    return BuiltChunks(chunk_document(_text_document(doc), count_tokens=_token_counter(embedder)))


def fetch_page(url: str) -> extract.ExtractedDocument:
    """Fetch a web page (or a text, Markdown or PDF file) and extract its main text.

    Raises FetchError or ExtractionError.
    """
    page = http.fetch(url, max_bytes=_max_page_bytes())
    kind = page.content_type
    if kind in ("text/html", "application/xhtml+xml") or not kind:
        parsed = extract.from_html(page.text)
    elif kind == extract.PDF:
        parsed = extract.from_pdf(page.body)
    elif kind == extract.MARKDOWN:
        parsed = extract.from_markdown(page.text, title="")
    elif kind.startswith("text/"):
        parsed = extract.from_plain_text(page.text, title="")
    else:
        raise extract.ExtractionError(
            f"The page is {kind}, which Convix cannot read. Link an HTML page or a PDF."
        )
    parsed.sections = [s for s in parsed.sections if s.paragraphs]
    if not parsed.sections:
        raise extract.ExtractionError("No readable text was found on this page.")
    if parsed.char_count > extract.MAX_TEXT_CHARS:
        raise extract.ExtractionError("The page has more text than Convix indexes from one page.")
    return parsed


def _max_page_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "FETCH_MAX_BYTES", http.DEFAULT_MAX_BYTES))


def _url(store: Store, doc: TrainingDoc, embedder) -> BuiltChunks:
    parsed = fetch_page(doc.source_url)
    updates = {"content": parsed.to_markdown(), "content_type": extract.MARKDOWN}
    # A URL document created without a title of its own takes the page's.
    if doc.metadata.get("title_from_page") and parsed.title:
        updates["title"] = parsed.title[:500]
    parsed.title = updates.get("title", doc.title)
    return BuiltChunks(chunk_document(parsed, count_tokens=_token_counter(embedder)), updates)


def product_facts(store: Store) -> list[ProductFacts]:
    """The store's active products with their active variants, as plain facts for chunking."""
    products = (
        Product.objects.filter(store=store, is_active=True)
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=ProductVariant.objects.filter(store=store, is_active=True).order_by("sku"),
            )
        )
        .order_by("sku")
    )
    facts = []
    for product in products:
        tiers = []
        for tier in product.b2b_price_tiers or []:
            try:
                tiers.append((int(tier["min_quantity"]), Decimal(str(tier["price"]))))
            except (KeyError, TypeError, ValueError, ArithmeticError):
                continue  # a malformed tier from the platform is left out, not fatal
        facts.append(
            ProductFacts(
                id=str(product.id),
                sku=product.sku,
                title=product.title,
                price=product.price,
                currency=product.currency or store.currency,
                category=product.category,
                vendor=product.vendor,
                description=product.description,
                url=product.url,
                compare_at_price=product.compare_at_price,
                attributes=dict(product.attributes or {}),
                tags=tuple(str(t) for t in product.tags or ()),
                variants=tuple(
                    VariantFacts(v.title, v.sku, v.price, v.stock) for v in product.variants.all()
                ),
                bulk_prices=tuple(sorted(tiers)),
            )
        )
    return facts


def _catalog(store: Store, doc: TrainingDoc, embedder) -> BuiltChunks:
    return BuiltChunks(catalog_chunks(product_facts(store), count_tokens=_token_counter(embedder)))


# DocType → how its chunks are built. A new DocType adds one function here.
CHUNK_BUILDERS: dict[str, Callable[[Store, TrainingDoc, object], BuiltChunks]] = {
    DocType.FAQ: _faq,
    DocType.POLICY: _text,
    DocType.MANUAL: _text,
    DocType.URL: _url,
    DocType.PRODUCT_CATALOG: _catalog,
}


def build_chunks(*, store: Store, doc: TrainingDoc, embedder) -> BuiltChunks:
    """The document's chunks. Raises ExtractionError or FetchError on bad input."""
    return CHUNK_BUILDERS[doc.type](store, doc, embedder)


def stored_hash(chunk: Chunk, model_id: str) -> str:
    """What ``TrainingChunk.content_hash`` holds: the chunk's embedded text and the model."""
    return hashlib.sha256(f"{model_id}\x00{chunk.content_hash}".encode()).hexdigest()


def doc_hash(hashes: Sequence[str]) -> str:
    """One hash for the whole document's chunks, in order."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def reusable_embeddings(*, store: Store, hashes: set[str]) -> dict[str, np.ndarray]:
    """Embeddings the store already has for these hashes (from any of its documents)."""
    found: dict[str, np.ndarray] = {}
    wanted = list(hashes)
    for start in range(0, len(wanted), WRITE_BATCH):
        rows = TrainingChunk.objects.filter(store=store, content_hash__in=wanted[start : start + WRITE_BATCH])
        for content_hash, embedding in rows.values_list("content_hash", "embedding"):
            found.setdefault(content_hash, np.asarray(embedding, dtype=np.float32))
    return found


def embed_in_batches(
    texts: dict[str, str], *, embedder, on_progress: Callable[[int, int], None] | None = None
) -> dict[str, np.ndarray]:
    """Embed ``{hash: text}``, shortest texts first so each batch pads little, calling
    ``on_progress(done, total)`` after each batch."""
    items = sorted(texts.items(), key=lambda item: len(item[1]))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(items), EMBED_BATCH):
        batch = items[start : start + EMBED_BATCH]
        matrix = embedder.embed([text for _, text in batch])
        for (key, _), vector in zip(batch, matrix, strict=True):
            vectors[key] = vector
        if on_progress:
            on_progress(min(start + EMBED_BATCH, len(items)), len(items))
    return vectors


@dataclass
class ReplaceResult:
    created: int = 0
    kept: int = 0
    deleted: int = 0


def replace_chunks(
    *,
    store: Store,
    doc: TrainingDoc,
    chunks: Sequence[Chunk],
    hashes: Sequence[str],
    vectors: dict[str, np.ndarray],
    is_active: bool,
) -> ReplaceResult:
    """Make the document's chunk rows equal ``chunks`` (in order). A row whose hash is among the
    new chunks is kept with its id and embedding (its ordinal, metadata and activity updated);
    other rows are deleted; new chunks are inserted with ``vectors[hash]`` and their full-text
    vector. Run inside a transaction with the document locked."""
    existing: dict[str, list[TrainingChunk]] = defaultdict(list)
    for row in (
        TrainingChunk.objects.filter(store=store, doc=doc)
        .defer("embedding", "search_vector")
        .order_by("ordinal")
    ):
        existing[row.content_hash].append(row)
    result = ReplaceResult()
    to_update: list[TrainingChunk] = []
    to_create: list[TrainingChunk] = []
    for ordinal, (chunk, key) in enumerate(zip(chunks, hashes, strict=True)):
        if existing.get(key):
            row = existing[key].pop(0)
            result.kept += 1
            if (row.ordinal, row.metadata, row.is_active, row.token_count) != (
                ordinal,
                chunk.metadata,
                is_active,
                chunk.token_count,
            ):
                row.ordinal, row.metadata, row.is_active, row.token_count = (
                    ordinal,
                    chunk.metadata,
                    is_active,
                    chunk.token_count,
                )
                to_update.append(row)
            continue
        to_create.append(
            TrainingChunk(
                store=store,
                doc=doc,
                ordinal=ordinal,
                title=chunk.title[:500],
                section=chunk.section[:500],
                text=chunk.text,
                token_count=chunk.token_count,
                content_hash=key,
                embedding=vectors[key],
                metadata=chunk.metadata,
                is_active=is_active,
            )
        )
    stale = [row.id for rows in existing.values() for row in rows]
    if stale:
        result.deleted = TrainingChunk.objects.filter(store=store, id__in=stale).delete()[0]
    if to_update:
        TrainingChunk.objects.bulk_update(
            to_update, ["ordinal", "metadata", "is_active", "token_count"], batch_size=WRITE_BATCH
        )
    if to_create:
        TrainingChunk.objects.bulk_create(to_create, batch_size=WRITE_BATCH)
        set_search_vectors(store=store, chunk_ids=[row.id for row in to_create])
        result.created = len(to_create)
    return result


def set_search_vectors(*, store: Store, chunk_ids: Sequence) -> None:
    """Compute the weighted full-text vector (title A, section B, text C) of these chunks."""
    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("section", weight="B", config="english")
        + SearchVector("text", weight="C", config="english")
    )
    for start in range(0, len(chunk_ids), WRITE_BATCH):
        TrainingChunk.objects.filter(store=store, id__in=chunk_ids[start : start + WRITE_BATCH]).update(
            search_vector=vector
        )
