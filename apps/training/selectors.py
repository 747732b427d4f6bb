"""Reads of a store's knowledge: documents, hybrid retrieval, product search.

Retrieval (:func:`knowledge_search`) fuses two rankings of the store's active chunks with
reciprocal rank fusion (k=60):

1. pgvector cosine distance, top ``VECTOR_CANDIDATES``;
2. PostgreSQL full text (title weighted A, section B, text C), top ``TEXT_CANDIDATES``: first
   every query word must match; when that finds too few, any word may, except the words common
   in the store (``COMMON_WORD_SHARE``), which only rank.

Both legs run as one statement. Every statement names the store as a literal
``store_id = '<uuid>'::uuid``, the predicate of the store's own partial HNSW and GIN indexes
(``apps.training.vector_index``), so a large store searches its own graph and posting lists
with full recall, and a small one is read exactly through its ``store_id`` b-tree (there is no
index over every store's vectors or words for the planner to prefer); no other store's rows
are ever visited or returned.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from uuid import UUID

import numpy as np
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from apps.stores.models import Product, ProductVariant, Store
from apps.training.models import DocType, TrainingChunk, TrainingDoc, TrainingJob
from convix.ai.embeddings import get_embedder

RRF_K = 60
VECTOR_CANDIDATES = 30
TEXT_CANDIDATES = 30
# Matches ranked per full-text tier. Ranking reads every matching row from the heap (at 1M
# chunks, 2,000 rows cost 40–50 ms, mostly page reads), so a frequent word in a huge store would
# cost too much; rows beyond this cap are not ranked (the vector ranking still sees them). Rare
# words (names, SKUs) match few rows, have a tier of their own and are always ranked.
TEXT_MATCH_CAP = 500
HNSW_EF_SEARCH = 80
# A word in at least this share of a store's chunks ("gear" in a gear shop) says little about
# which chunk answers (its BM25 weight is ≤ 0 from one half on) and reading its rows is what
# makes full text slow: 170,000 rows of a 200,000-chunk store cost 20–45 ms. Such words still
# count in the ranking and in the every-word tier (cheap: the rarest word drives it), but they
# do not select any-word candidates, and a query made only of them has no full-text leg.
# Measured per store on a sample of its chunks (see ``_word_shares``).
COMMON_WORD_SHARE = 0.5
# Words in fewer than this share of the store's chunks (names, SKUs, rare terms) select the
# any-word candidates first; more frequent ones only when those are too few. A capped tier of a
# frequent word would otherwise crowd out the few chunks with the rare one.
FREQUENT_WORD_SHARE = 0.01
COMMON_WORD_SAMPLE = 1000  # chunks, in 8 slices of the store's documents
COMMON_WORD_MIN_SAMPLE = 100  # a smaller store has no common words
COMMON_WORD_CACHE_SECONDS = 3600

# Cosine similarity of the best chunk above which a question counts as answerable from the
# store's knowledge, per embedding model. Calibrated for all-MiniLM-L6-v2 on the demo store
# (289 chunks) with 40 answerable shopper questions worded unlike the FAQs, 25 off-topic ones
# and 10 about things the store does not sell. Best-chunk similarity: answerable 0.48–0.83
# (10th percentile 0.54), off-topic 0.08–0.34, not sold 0.30–0.61 (median 0.41). At 0.45 every
# answerable question passes, every off-topic one fails, and 7 of the 10 not-sold ones fail
# (the others, "can I rent a tent" or "do you have ski boots", meet real products: the caller
# must still check that the chunk answers the question). tests/training/test_retrieval.py
# keeps a sample as a regression test. End to end on the 169 demo scenarios, 0.40 answered more
# paraphrased FAQ questions (accuracy 0.775 → 0.799) with no confidently wrong answer, and still
# sits above every off-topic question (≤ 0.34), so 0.40 is the value in use.
SIMILARITY_THRESHOLDS = {
    "all-MiniLM-L6-v2-int8": 0.40,
    "all-MiniLM-L6-v2": 0.40,
}
# The seed's value for OpenAI's embeddings; not measured here.
DEFAULT_SIMILARITY_THRESHOLD = 0.78


def similarity_threshold(model_id: str | None = None) -> float:
    """The cosine similarity from which a retrieved chunk counts as relevant, for the embedding
    model in use (``settings.RETRIEVAL_SIMILARITY_THRESHOLD`` overrides it)."""
    override = getattr(settings, "RETRIEVAL_SIMILARITY_THRESHOLD", None)
    if override is not None:
        return float(override)
    model_id = model_id or get_embedder().model_id
    return SIMILARITY_THRESHOLDS.get(model_id, DEFAULT_SIMILARITY_THRESHOLD)


# --- documents -----------------------------------------------------------------------------


def doc_list(*, store: Store, type: str | None = None) -> QuerySet[TrainingDoc]:  # noqa: A002
    """The store's documents, newest first, optionally of one type."""
    docs = TrainingDoc.objects.filter(store=store)
    return docs.filter(type=type) if type else docs


def doc_get(*, store: Store, doc_id) -> TrainingDoc:
    """One of the store's documents. Another store's document, a missing one and a malformed id
    all raise TrainingDoc.DoesNotExist."""
    try:
        doc_uuid = uuid.UUID(str(doc_id))
    except ValueError:
        raise TrainingDoc.DoesNotExist("No such document.") from None
    return TrainingDoc.objects.get(store=store, pk=doc_uuid)


def training_job_get(*, store: Store, job_id) -> TrainingJob:
    """One of the store's retraining jobs; another store's raises TrainingJob.DoesNotExist."""
    return TrainingJob.objects.get(store=store, pk=job_id)


# --- knowledge search ----------------------------------------------------------------------


@dataclass(frozen=True)
class RetrievedChunk:
    id: UUID
    doc_id: UUID
    doc_type: str
    title: str
    section: str
    text: str
    metadata: dict
    similarity: float  # cosine similarity of the chunk's embedding to the query
    text_rank: float  # ts_rank_cd of the full-text match (0 if none)
    score: float  # reciprocal rank fusion score; results are ordered by it


_CHUNKS = TrainingChunk._meta.db_table
_DOCS = TrainingDoc._meta.db_table
# The chunk columns every leg returns; the document's type comes along by primary key.
_COLUMNS = (
    "c.id, c.doc_id, c.title, c.section, c.text, c.metadata, "  # noqa: S608 - a table name only
    f"(SELECT d.type FROM {_DOCS} d WHERE d.id = c.doc_id) AS doc_type"
)


def _store_literal(store) -> str:
    """``'<uuid>'::uuid``: the literal the partial indexes' predicate names. The id is parsed
    as a UUID first, so formatting it into SQL is safe; the statements built here format in only
    this literal, table names and constants, and pass every value as a parameter."""
    store_id = store.id if isinstance(store, Store) else store
    return f"'{uuid.UUID(str(store_id))}'::uuid"


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _chunk_filter(store, doc_types: Sequence[str] | None) -> tuple[str, list]:
    """The WHERE clause every leg shares: this store's active chunks, of some types if given."""
    store_sql = _store_literal(store)
    sql = f"c.store_id = {store_sql} AND c.is_active"
    if not doc_types:
        return sql, []
    # An InitPlan evaluated once: the chunk scan filters on a plain array of doc ids, which the
    # HNSW iterative scan applies while walking the graph.
    sql += (
        f" AND c.doc_id = ANY(ARRAY(SELECT d.id FROM {_DOCS} d WHERE d.store_id = {store_sql} "  # noqa: S608 - see _store_literal
        "AND d.type = ANY(%s::text[])))"
    )
    return sql, [list(doc_types)]


@lru_cache(maxsize=1)
def _pgvector_version() -> tuple[int, ...]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return tuple(int(part) for part in re.findall(r"\d+", row[0])[:3]) if row else (0,)


def _prepare(cursor, query: str) -> list[str]:
    """One round trip: set the HNSW options for this transaction only, and return the query's
    lexemes (as the chunks' full-text vectors have them, stopwords dropped).

    The options: a wider candidate list than the default 40, and (pgvector ≥ 0.8) an iterative
    scan, so rows dropped by the ``is_active``/type filter are replaced by further neighbours
    instead of shortening the result."""
    options = "set_config('hnsw.ef_search', %s, true)"
    if _pgvector_version() >= (0, 8):
        options += ", set_config('hnsw.iterative_scan', 'relaxed_order', true)"
    cursor.execute(
        f"SELECT {options}, tsvector_to_array(to_tsvector('english', %s))", [str(HNSW_EF_SEARCH), query]
    )
    return list(cursor.fetchone()[-1] or [])


def _tsquery(lexemes: Sequence[str], operator: str) -> str:
    """A tsquery's text from lexemes already normalised by ``to_tsvector`` (so the plain cast,
    which does not normalise again, is right). Quotes and backslashes are escaped."""
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return f" {operator} ".join(quoted)


def _shares_sql(store) -> str:
    """The lexemes in at least ``FREQUENT_WORD_SHARE`` of a sample of the store's active chunks,
    with that share: ``COMMON_WORD_SAMPLE`` chunks from 8 slices of its document ids (random
    UUIDs, so each slice holds random documents), read through the ``(store, doc, ordinal)``
    b-tree."""
    store_sql = _store_literal(store)
    slices, per_slice = 8, COMMON_WORD_SAMPLE // 8
    bounds = [f"'{uuid.UUID(int=(i << 125))}'::uuid" for i in range(1, slices)]
    parts = []
    for i in range(slices):
        lower = f" AND c.doc_id >= {bounds[i - 1]}" if i else ""
        upper = f" AND c.doc_id < {bounds[i]}" if i < slices - 1 else ""
        parts.append(
            f"(SELECT c.search_vector FROM {_CHUNKS} c WHERE c.store_id = {store_sql} AND c.is_active"  # noqa: S608 - see _store_literal
            f"{lower}{upper} ORDER BY c.doc_id, c.ordinal LIMIT {per_slice})"
        )
    return (
        f"WITH sample AS MATERIALIZED ({' UNION ALL '.join(parts)}), "  # noqa: S608 - constants only
        "size AS (SELECT count(*) AS n FROM sample) "
        "SELECT w.lexeme, count(*)::float / size.n FROM sample s, unnest(s.search_vector) w, size "
        f"WHERE size.n >= {COMMON_WORD_MIN_SAMPLE} GROUP BY w.lexeme, size.n "
        f"HAVING count(*) >= {FREQUENT_WORD_SHARE} * size.n"
    )


def _shares_key(store) -> str:
    store_id = store.id if isinstance(store, Store) else store
    return f"convix:retrieval:word-shares:{uuid.UUID(str(store_id))}"


def _word_shares(cursor, store) -> dict[str, float]:
    """The share of the store's chunks holding each of its frequent words (at least
    ``FREQUENT_WORD_SHARE``; none for a store of fewer than ``COMMON_WORD_MIN_SAMPLE`` chunks),
    from the cache or measured (about 40 ms for a large store, once an hour per store)."""
    key = _shares_key(store)
    cached = cache.get(key)
    if cached is None:
        cursor.execute(_shares_sql(store))
        cached = {lexeme: round(float(share), 4) for lexeme, share in cursor.fetchall()}
        cache.set(key, cached, COMMON_WORD_CACHE_SECONDS)
    return cached


def _common_lexemes(cursor, store) -> frozenset[str]:
    """The store's common words (see ``COMMON_WORD_SHARE``)."""
    return frozenset(w for w, share in _word_shares(cursor, store).items() if share >= COMMON_WORD_SHARE)


# Full-text ranking, in two steps: ts_rank (weights A/B/C, divided by 1 + log(length)) orders
# the matches, then cover density (ts_rank_cd, which also rewards query words close together)
# orders the best ``TEXT_RERANK`` of them. ts_rank_cd costs about 15 µs a row here (25 ms for
# the 1,700 matches of a common word), ts_rank about 0.5 µs; ts_rank alone ranked the demo
# store's answers worse ("how long do I have to return something" lost its policy section).
TEXT_RERANK = 100
_RANK = "ts_rank(c.search_vector, %s::tsquery, 1)"
_RANK_CD = "ts_rank_cd(c.search_vector, %s::tsquery, 1)"


def _vector_sql(store, doc_types, *, vector: str, lexemes: Sequence[str], limit: int) -> tuple[str, list]:
    """The vector leg: nearest chunks by cosine distance, with their full-text rank."""
    where, where_params = _chunk_filter(store, doc_types)
    rank, rank_params = (_RANK_CD, [_tsquery(lexemes, "|")]) if lexemes else ("0.0::real", [])
    sql = (
        f"(SELECT {_COLUMNS}, 1 - (c.embedding <=> %s::vector) AS similarity, "  # noqa: S608 - see _store_literal
        f"{rank} AS text_rank, 0 AS leg, 0 AS tier "
        f"FROM {_CHUNKS} c WHERE {where} ORDER BY c.embedding <=> %s::vector LIMIT %s)"
    )
    return sql, [vector, *rank_params, *where_params, vector, limit]


def _text_sql(
    store, doc_types, *, vector: str, lexemes: Sequence[str], shares: dict[str, float], limit: int
) -> tuple[str, list]:
    """The full-text leg: chunks with every query word (tier 0), then, only while the list is
    shorter than ``limit``, chunks with some of the query's rare words (tier 1), then with some
    of its frequent ones (tier 2), each ranked by all the words. Words common in the store
    (``shares``, see ``COMMON_WORD_SHARE``) select no candidates. Each tier ranks at most
    ``TEXT_MATCH_CAP`` matches (see ``TEXT_RERANK`` for how). No statement (``("", [])``) when
    every word is common.

    The tsqueries are constants, so the planner estimates each word's frequency from the
    column's statistics, and a store without its own GIN index is filtered through the store's
    b-tree (there is no GIN index over every store's rows to lure the planner)."""
    rare = [lexeme for lexeme in lexemes if lexeme not in shares]
    frequent = [lexeme for lexeme in lexemes if shares.get(lexeme, 1.0) < COMMON_WORD_SHARE]
    if not rare and not frequent:
        return "", []
    where, where_params = _chunk_filter(store, doc_types)
    every, some = _tsquery(lexemes, "&"), _tsquery(lexemes, "|")

    def tier(number: int, match: str, match_params: list, rank_query: str) -> tuple[str, list]:
        sql = (
            f"(SELECT {_COLUMNS}, 1 - (c.embedding <=> %s::vector) AS similarity, "  # noqa: S608 - see _store_literal
            f"{_RANK_CD} AS text_rank, 1 AS leg, {number} AS tier "
            f"FROM (SELECT c.* FROM (SELECT c.* FROM {_CHUNKS} c WHERE {where} AND {match} "
            f"LIMIT {TEXT_MATCH_CAP}) c ORDER BY {_RANK} DESC LIMIT {TEXT_RERANK}) c "
            f"ORDER BY text_rank DESC, c.id LIMIT %s)"
        )
        return sql, [vector, rank_query, *where_params, *match_params, rank_query, limit]

    tiers = [tier(0, "c.search_vector @@ %s::tsquery", [every], every)]
    if len(lexemes) > 1:
        # Each any-word tier leaves out the rows of the tiers before it.
        match, match_params = "NOT c.search_vector @@ %s::tsquery", [every]
        for number, group in enumerate((rare, frequent), start=1):
            if group:
                words = _tsquery(group, "|")
                tiers.append(
                    tier(number, f"c.search_vector @@ %s::tsquery AND {match}", [words, *match_params], some)
                )
                match, match_params = (
                    f"{match} AND NOT c.search_vector @@ %s::tsquery",
                    [*match_params, words],
                )
    # UNION ALL runs its branches in order and the outer LIMIT stops it early, so the
    # any-word tier costs nothing when every-word matches fill the list.
    sql = f"(SELECT * FROM ({' UNION ALL '.join(s for s, _ in tiers)}) tiers LIMIT %s)"  # noqa: S608
    return sql, [*(p for _, params in tiers for p in params), limit]


def _search_sql(
    store, doc_types, *, vector: str, lexemes: Sequence[str], shares: dict[str, float]
) -> tuple[str, list]:
    """Both legs in one statement (one round trip); each row says which leg found it."""
    legs = [_vector_sql(store, doc_types, vector=vector, lexemes=lexemes, limit=VECTOR_CANDIDATES)]
    if lexemes:
        text = _text_sql(
            store, doc_types, vector=vector, lexemes=lexemes, shares=shares, limit=TEXT_CANDIDATES
        )
        if text[0]:
            legs.append(text)
    return " UNION ALL ".join(sql for sql, _ in legs), [p for _, params in legs for p in params]


def _rows(cursor) -> list[dict]:
    names = [column.name for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        # Django has psycopg return jsonb as text (its JSONField decodes it); do the same here.
        if isinstance(row.get("metadata"), str):
            row["metadata"] = json.loads(row["metadata"])
    return rows


def knowledge_search(
    *,
    store: Store,
    query: str,
    k: int = 5,
    doc_types: Sequence[str] | None = None,
    query_vector: np.ndarray | None = None,
    min_similarity: float | None = None,
) -> list[RetrievedChunk]:
    """The ``k`` chunks of the store's active documents that best answer ``query``, best first.

    Hybrid: the vector and full-text rankings are fused by reciprocal rank fusion. Results are
    not cut at :func:`similarity_threshold`; callers compare ``similarity`` with it (or pass
    ``min_similarity``). ``doc_types`` limits the search to those DocTypes. Pass
    ``query_vector`` (the embedder's vector of ``query``) to skip embedding, e.g. when timing
    the SQL alone. Two statements in one transaction: the options and the query's words, then
    both legs at once.
    """
    query = query or ""
    if query_vector is None:
        query_vector = get_embedder().embed([query])[0]
    vector = _vector_literal(query_vector)
    # savepoint=False: inside a caller's transaction the options simply apply to it.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        lexemes = _prepare(cursor, query)
        shares = _word_shares(cursor, store) if lexemes else {}
        cursor.execute(*_search_sql(store, doc_types, vector=vector, lexemes=lexemes, shares=shares))
        rows = _rows(cursor)
    # The relaxed-order HNSW scan may return neighbours slightly out of order: rank exactly.
    rankings = [
        sorted((row for row in rows if row["leg"] == 0), key=lambda row: -row["similarity"]),
        # Every-word matches first; the any-word tiers only choose candidates (rare words first),
        # their matches are ranked together.
        sorted(
            (row for row in rows if row["leg"] == 1), key=lambda row: (row["tier"] > 0, -row["text_rank"])
        ),
    ]

    fused: dict[UUID, dict] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            entry = fused.setdefault(row["id"], {**row, "score": 0.0})
            entry["score"] += 1.0 / (RRF_K + rank)
            entry["text_rank"] = max(entry["text_rank"] or 0.0, row["text_rank"] or 0.0)
    ordered = sorted(fused.values(), key=lambda row: (-row["score"], -row["similarity"]))
    results = []
    for row in ordered:
        if min_similarity is not None and row["similarity"] < min_similarity:
            continue
        results.append(
            RetrievedChunk(
                id=row["id"],
                doc_id=row["doc_id"],
                doc_type=row["doc_type"],
                title=row["title"],
                section=row["section"],
                text=row["text"],
                metadata=row["metadata"] or {},
                similarity=float(row["similarity"]),
                text_rank=float(row["text_rank"] or 0.0),
                score=row["score"],
            )
        )
        if len(results) == k:
            break
    return results


def knowledge_search_plans(
    *, store: Store, query: str, query_vector: np.ndarray, doc_types: Sequence[str] | None = None
) -> dict[str, str]:
    """EXPLAIN output of the statement :func:`knowledge_search` runs (``"search"``), and of its
    vector and full-text legs alone (``"vector"``, ``"text"``), for tests and benchmarks that
    check which index the planner uses."""
    plans = {}
    vector = _vector_literal(query_vector)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        lexemes = _prepare(cursor, query or "")
        shares = _word_shares(cursor, store) if lexemes else {}
        statements = {
            "search": _search_sql(store, doc_types, vector=vector, lexemes=lexemes, shares=shares),
            "vector": _vector_sql(store, doc_types, vector=vector, lexemes=lexemes, limit=VECTOR_CANDIDATES),
            "text": _text_sql(
                store, doc_types, vector=vector, lexemes=lexemes, shares=shares, limit=TEXT_CANDIDATES
            ),
        }
        for name, (sql, params) in statements.items():
            if not sql:
                continue
            cursor.execute("EXPLAIN " + sql, params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


# --- product search ------------------------------------------------------------------------

# Which products a query keeps (measured on the demo catalog, MiniLM). Product chunks are long,
# so a short query scores lower against its product than a question against an FAQ: "headlamp"
# meets "Beacon 400 Headlamp" at 0.42 but "Beacon 900R Rechargeable Headlamp" at 0.27, and
# "something to sleep on" the sleeping pads at 0.31–0.42, while things the store does not sell
# score 0.31 ("kayak", "crampons") to 0.41 ("fishing rod" → trekking poles). No single floor
# separates those; this one favours recall, and each product carries its ``similarity`` so a
# caller can ask for more (a reply that names one product should want ≥ 0.45 or a title match).
# - a product found by meaning alone needs PRODUCT_SIMILARITY_FLOOR;
# - one whose title has a word of the query needs only TEXT_MATCH_FLOOR;
# - and none may trail the best match by more than PRODUCT_RELATIVE_MARGIN.
PRODUCT_SIMILARITY_FLOOR = 0.35
TEXT_MATCH_FLOOR = 0.20
PRODUCT_RELATIVE_MARGIN = 0.20


def _category_filter(category: str) -> Q:
    name = category.strip()
    singular = name[:-1] if len(name) > 3 and name.lower().endswith("s") else name
    return Q(category__iexact=name) | Q(category__icontains=singular)


def product_search(
    *,
    store: Store,
    query: str = "",
    min_price: Decimal | float | str | None = None,
    max_price: Decimal | float | str | None = None,
    in_stock: bool | None = None,
    category: str | None = None,
    limit: int = 5,
    query_vector: np.ndarray | None = None,
) -> list[Product]:
    """Active products of the store matching the filters, best match first, with their active
    variants prefetched (``product.variants.all()``).

    - Price filters apply to any active variant's price (a product is "under $100" if one of
      its options is), or to the product's price when it has no variants.
    - ``in_stock``: True keeps products with an active variant in stock (within the price range,
      if one is given); False those without.
    - ``category``: case-insensitive, singular or plural ("tent" finds "Tents").
    - ``query``: semantic similarity of the product's catalog chunk, fused (reciprocal rank)
      with a full-text match on the title; an exact SKU (product or variant) ranks
      first. Products that match neither well enough are left out. Without a query, products
      in stock come first, then by title.

    Each returned product has ``similarity`` (float or None) set.
    """
    variants = ProductVariant.objects.filter(store=store, product=OuterRef("pk"), is_active=True)
    products = Product.objects.filter(store=store, is_active=True)
    # With a price range and in_stock=True, one option must be both in range and in stock.
    matching = variants
    own_price = Q()
    if min_price is not None:
        matching = matching.filter(price__gte=Decimal(str(min_price)))
        own_price &= Q(price__gte=Decimal(str(min_price)))
    if max_price is not None:
        matching = matching.filter(price__lte=Decimal(str(max_price)))
        own_price &= Q(price__lte=Decimal(str(max_price)))
    if in_stock is True:
        products = products.filter(Exists(matching.filter(stock__gt=0)))
    elif min_price is not None or max_price is not None:
        # A product without variants is judged by its own price (and is never in stock).
        products = products.filter(Q(Exists(matching)) | (~Exists(variants) & own_price))
    if in_stock is False:
        products = products.exclude(Exists(variants.filter(stock__gt=0)))
    if category:
        products = products.filter(_category_filter(category))

    prefetch = Prefetch(
        "variants", queryset=ProductVariant.objects.filter(store=store, is_active=True).order_by("sku")
    )
    query = (query or "").strip()
    if not query:
        ordered = products.annotate(has_stock=Exists(variants.filter(stock__gt=0))).order_by(
            "-has_stock", "title"
        )
        result = list(ordered.prefetch_related(prefetch)[:limit])
        for product in result:
            product.similarity = None
        return result

    if query_vector is None:
        query_vector = get_embedder().embed([query])[0]  # once, for every similarity below
    candidate_ids = products.values("id")
    # 1. Exact SKU matches.
    tokens = {token.upper() for token in re.findall(r"[\w-]{4,}", query)}
    sku_ids = []
    if tokens:
        sku_ids = list(
            products.filter(Q(sku__in=tokens) | Exists(variants.filter(sku__in=tokens))).values_list(
                "id", flat=True
            )
        )
    # 2. Semantic similarity of the catalog chunks of the candidates.
    similarities = _product_similarities(
        store=store, candidate_ids=candidate_ids, limit=200, query_vector=query_vector
    )
    # 3. Words of the query in the title: titles with every word first, then with any word.
    words = re.findall(r"[^\W_]+", query)
    title_matches: list[tuple[int, float, UUID]] = []  # (group, -rank, id)
    for group, operator in enumerate((" & ", " | ")):
        if not words:
            break
        tsquery = SearchQuery(operator.join(words), search_type="raw", config="english")
        ranked = (
            products.exclude(pk__in=[pid for _, _, pid in title_matches])
            .annotate(title_vector=SearchVector("title", config="english"))
            .filter(title_vector=tsquery)
            .annotate(title_rank=SearchRank(F("title_vector"), tsquery))
            .values_list("id", "title_rank")[:50]
        )
        title_matches += [(group, -rank, pid) for pid, rank in ranked]
    textual = [pid for _, _, pid in title_matches]
    missing = [pid for pid in textual if pid not in similarities]
    if missing:  # a title match outside the semantic top list still needs its similarity
        similarities.update(
            _product_similarities(
                store=store,
                candidate_ids=products.filter(pk__in=missing).values("id"),
                limit=len(missing),
                query_vector=query_vector,
            )
        )
    best_similarity = max(similarities.values(), default=0.0)
    # Equal title matches ("Sleeping Bag" in five titles) are ordered by meaning.
    title_matches.sort(key=lambda match: (match[0], match[1], -similarities.get(match[2], 0.0)))
    textual = [pid for _, _, pid in title_matches]
    text_matched = set(textual)

    def kept(product_id) -> bool:
        similarity = similarities.get(product_id, 0.0)
        floor = TEXT_MATCH_FLOOR if product_id in text_matched else PRODUCT_SIMILARITY_FLOOR
        return similarity >= floor and similarity >= best_similarity - PRODUCT_RELATIVE_MARGIN

    # The meaning ranking counts only products close enough by meaning alone; a weaker product
    # with its title matching counts in the title ranking only.
    semantic = [pid for pid, sim in similarities.items() if sim >= PRODUCT_SIMILARITY_FLOOR and kept(pid)]
    scores: dict[UUID, float] = {}
    for ranking in (
        sorted(semantic, key=lambda pid: -similarities[pid]),
        [pid for pid in textual if kept(pid)],
    ):
        for rank, product_id in enumerate(ranking, start=1):
            scores[product_id] = scores.get(product_id, 0.0) + 1.0 / (RRF_K + rank)
    for product_id in sku_ids:
        scores[product_id] = scores.get(product_id, 0.0) + 1.0  # an exact SKU beats any ranking
    best = sorted(scores, key=lambda pid: (-scores[pid], -similarities.get(pid, 0.0)))[:limit]
    by_id = {p.id: p for p in Product.objects.filter(store=store, pk__in=best).prefetch_related(prefetch)}
    result = []
    for product_id in best:
        product = by_id[product_id]
        product.similarity = similarities.get(product_id)
        result.append(product)
    return result


def _product_similarities(
    *, store: Store, candidate_ids: QuerySet, limit: int, query_vector: np.ndarray
) -> dict[UUID, float]:
    """Cosine similarity of the query to each candidate product's catalog chunk, best ``limit``
    first. Exact (no HNSW): the candidates are already filtered, often to a few hundred."""
    vector = _vector_literal(query_vector)
    store_sql = _store_literal(store)
    candidates_sql, candidate_params = candidate_ids.query.sql_with_params()
    sql = (
        f"SELECT (c.metadata->>'product_id')::uuid AS product_id, "  # noqa: S608 - see _store_literal
        f"MAX(1 - (c.embedding <=> %s::vector)) AS similarity "
        f"FROM {_CHUNKS} c WHERE c.store_id = {store_sql} AND c.is_active AND c.metadata ? 'product_id' "
        f"AND c.doc_id = ANY(ARRAY(SELECT d.id FROM {_DOCS} d WHERE d.store_id = {store_sql} AND d.type = %s)) "
        f"AND (c.metadata->>'product_id')::uuid IN ({candidates_sql}) "
        f"GROUP BY 1 ORDER BY similarity DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [vector, DocType.PRODUCT_CATALOG.value, *candidate_params, limit])
        return {row[0]: float(row[1]) for row in cursor.fetchall()}


# --- dashboard: the training manager's status ---------------------------------------------------


def doc_status_counts(*, store: Store) -> dict[str, int]:
    """How many of the store's documents are in each DocStatus (every status present, 0 if none),
    in one query."""
    from django.db.models import Count

    from apps.training.models import DocStatus

    counts = dict.fromkeys(DocStatus.values, 0)
    for row in TrainingDoc.objects.filter(store=store).values("status").annotate(count=Count("id")):
        counts[row["status"]] = row["count"]
    return counts


def training_job_latest(*, store: Store) -> TrainingJob | None:
    """The store's most recent retraining job, or None."""
    return TrainingJob.objects.filter(store=store).order_by("-created_at").first()
