"""Retrieval at scale: hybrid ``knowledge_search`` over many stores of very different sizes.

    python -m benchmarks.retrieval [--chunks 1000000] [--stores 60] [--queries 200] [--keep]
                                   [--shared-index] [--reuse] [--seed 7]

The bar (issue 3): at 1,000,000 chunks spread over many stores, hybrid retrieval at p95 ≤ 40 ms
for a large, a mid-size and a small store alike, each with recall@10 within 0.02 of an exact
search. This script prints the figures; it asserts nothing.

What it does, in its own database (``convix_bench``; product data is never touched):

1. Creates the database and migrates it. With DATABASE_URL unset it starts the embedded
   PostgreSQL; otherwise it uses the same server as DATABASE_URL with the database name replaced.
2. Generates ``--stores`` stores with a skewed size distribution (one holding 20% of the chunks,
   one 3%, four small ones of 0.05–0.5%, the rest spread geometrically), documents of 1–40
   chunks, 384-d normalised vectors clustered by topic (global topics shared across stores,
   each store's own version of them, each document its own centre) and text of real and
   made-up words. One very common word (``gear``) is in most chunks of every store, each
   document has a rare name of its own. Reproducible from ``--seed``; generated in batches
   and loaded with binary COPY, stores interleaved as ingestion would interleave them.
3. Calls ``apps.training.vector_index.ensure_store_indexes`` for every store (the product's
   own index builder), then ANALYZE.
4. For the large, the mid-size and two small stores: ``--queries`` queries (a vector near the
   store's documents or topics, and text with the common word plus rarer ones) through the
   real ``knowledge_search`` with a precomputed ``query_vector``:
   - hybrid latency (p50/p95/p99), the figure the bar is about;
   - the vector part alone (``query=""``, which runs only the vector statement), whose
     top 10 is compared with an exact top 10 computed with numpy over the store's vectors;
   - the exact-scan baseline in the same run: the same hybrid call with index scans disabled
     (``enable_indexscan = off``), so the vector statement reads every row of the store.
5. ``--shared-index``: replaces the per-store HNSW indexes by one index over the whole table and
   measures recall again, to show why per-store indexes exist.

Prints a table, then one JSON line with every figure. Drops its database unless ``--keep`` or
``--reuse``; ``--reuse`` measures again on a kept database without generating it (it migrates it
and builds missing per-store indexes), and keeps it for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlparse

import numpy as np

DIM = 384
COMMON_WORD = "gear"
N_GLOBAL_TOPICS = 256
TOPIC_WORDS = 16  # made-up words per global topic
EXTRA_CONTENT_WORDS = 2000  # made-up rarer content words
PIECE_ROWS = 1000  # rows of one store inserted together (whole documents), as one ingestion
BATCH_ROWS = 10_000  # rows per COPY
WARMUP_QUERIES = 10
BAR_P95_MS = 40.0
BAR_RECALL_GAP = 0.02
BENCH_DATABASE = "convix_bench"

# The stores the bar is about, and the share of all chunks each holds.
FIXED_STORES = (
    ("large", 0.20),
    ("mid", 0.03),
    ("small", 0.002),
    ("small-0.5pct", 0.005),
    ("small-0.1pct", 0.001),
    ("small-0.05pct", 0.0005),
)
MEASURED = ("large", "mid", "small", "small-0.5pct", "small-0.05pct")

# Noise added at each level of the vector hierarchy (relative to a unit vector).
STORE_TOPIC_NOISE = 0.6  # a store's version of a global topic
SECONDARY_TOPIC_WEIGHT = 0.4  # a document's second topic
DOC_NOISE = 0.8  # a document around its topics
CHUNK_NOISE = 0.7  # a chunk around its document
DOC_QUERY_NOISE = 0.8  # a question about one document
TOPIC_QUERY_NOISE = 0.9  # a vaguer question about a topic
DOC_QUERY_SHARE = 0.7

STOPWORDS = (
    "the a an and or but for with without to of in on at by from is are was be been can will would "
    "should do does did it its this that these those you your we our they their as if not no so than "
    "then there here when where which who how what also just more most very all any each about into "
    "over under after before up out"
).split()
CONTENT_WORDS = (
    "order shipping return refund exchange size fit color warranty battery charge water waterproof "
    "weight price delivery store item product customer support care wash clean light heavy small "
    "large medium comfortable durable strap pocket zipper fabric material cotton wool nylon leather "
    "steel aluminum foam rubber plastic glass wood carbon handle lid bottle bag pack jacket boot shoe "
    "sock glove hat tent stove lamp cable case cover filter pump valve seal hinge buckle lace sole "
    "grip blade edge tip cap ring clip hook loop mesh lining insulation layer frame pole stake rope "
    "cord knot patch repair replace install assemble adjust tighten loosen fold dry warm cool fast "
    "slow long short wide narrow soft hard thin thick strong safe easy quick daily outdoor indoor "
    "travel winter summer rain snow wind trail road city camp hike run climb ride swim fish kitchen "
    "garden office home kids adult women men good"
).split()
SECTIONS = (
    "Overview",
    "Sizing and fit",
    "Care and washing",
    "Warranty",
    "Shipping",
    "Returns and exchanges",
    "Specifications",
    "Troubleshooting",
    "Assembly",
    "Safety",
    "Materials",
    "Questions",
)
# Made-up words: consonant-vowel syllables. Document names end in k or x, topic words in z or
# w and other content words in m or n, so no English suffix rule stems one into another.
_CONSONANTS = "bdfglmnprtv"
_VOWELS = "aeiou"
NAME_MARK = "\x00"


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _pseudo_word(index: int, *, syllables: int, finals: str, multiplier: int) -> str:
    """A made-up word, distinct for each index below the space's size (a bijective scramble)."""
    base = len(_CONSONANTS) * len(_VOWELS)
    space = base**syllables * len(finals)
    if index >= space:
        raise ValueError("Not enough made-up words for this many documents.")
    code = (index * multiplier) % space  # multiplier is coprime with the space's size
    word = finals[code % len(finals)]
    code //= len(finals)
    for _ in range(syllables):
        syllable, code = code % base, code // base
        word = _CONSONANTS[syllable // len(_VOWELS)] + _VOWELS[syllable % len(_VOWELS)] + word
    return word


def doc_name(index: int) -> str:
    return _pseudo_word(index, syllables=3, finals="kx", multiplier=104_729)


def topic_word(global_topic: int, number: int) -> str:
    return _pseudo_word(global_topic * TOPIC_WORDS + number, syllables=2, finals="zw", multiplier=7_919)


def content_word(index: int) -> str:
    return _pseudo_word(index, syllables=2, finals="mn", multiplier=7_919)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


@lru_cache(maxsize=1)
def _noise_shape() -> np.ndarray:
    """Maps white noise to noise shaped like sentence embeddings: variance falls off along a
    fixed random basis (the i-th direction has variance ∝ 1/i), so most of it lies in a few
    dozen directions. Real text embeddings are like that (their intrinsic dimension is tens,
    not 384); isotropic noise in 384-d makes every distance alike and is much harder for HNSW
    than real data. Total variance 1, so a noise vector has norm about 1."""
    rng = np.random.default_rng(DIM)
    basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    variances = 1.0 / np.arange(1, DIM + 1)
    scales = np.sqrt(variances / variances.sum())
    return (scales[:, None] * basis.T).astype(np.float32)


def _noise(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.standard_normal((count, DIM), dtype=np.float32) @ _noise_shape()


def _jitter(rng: np.random.Generator, centres: np.ndarray, scale: float) -> np.ndarray:
    """Unit vectors around ``centres``: noise of norm about ``scale``."""
    if centres.ndim == 1:
        return _normalise(centres + scale * _noise(rng, 1)[0])
    return _normalise(centres + scale * _noise(rng, len(centres)))


# --- the synthetic corpus ------------------------------------------------------------------


@dataclass
class StorePlan:
    index: int
    name: str
    share: float
    chunks: int
    id: uuid.UUID
    docs: StoreDocs | None = None


@dataclass
class StoreDocs:
    """A store's documents: sizes, topics, vector centres and names (all chunks derive from it)."""

    ids: list[uuid.UUID]
    sizes: np.ndarray
    first_row: np.ndarray
    topic: np.ndarray  # index into the store's topics
    centres: np.ndarray
    topic_global: np.ndarray  # the global topic of each store topic
    topic_centres: np.ndarray
    name_base: int  # the global index of the store's first document, for its name
    types: list[str]
    titles: list[str]

    def name(self, doc: int) -> str:
        return doc_name(self.name_base + doc)


def plan_stores(*, chunks: int, stores: int, seed: int) -> list[StorePlan]:
    """Store sizes: the fixed ones, then the rest spread geometrically (largest 10× smallest)."""
    if stores < len(FIXED_STORES) + 1:
        raise SystemExit(f"--stores must be at least {len(FIXED_STORES) + 1}.")
    rng = np.random.default_rng([seed, 1])
    others = stores - len(FIXED_STORES)
    rest = 1.0 - sum(share for _, share in FIXED_STORES)
    weights = np.geomspace(1.0, 10.0, others)
    shares = [share for _, share in FIXED_STORES] + list(rest * weights / weights.sum())
    names = [name for name, _ in FIXED_STORES] + [f"other-{i:02d}" for i in range(others)]
    sizes = [max(1, round(share * chunks)) for share in shares]
    sizes[-1] += chunks - sum(sizes)
    ids = [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in names]
    return [
        StorePlan(index=i, name=name, share=share, chunks=size, id=ids[i])
        for i, (name, share, size) in enumerate(zip(names, shares, sizes, strict=True))
    ]


def global_topics(seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 2])
    # Real sentence embeddings share a common direction (unrelated texts score ~0.1, not 0).
    common = _normalise(_noise(rng, 1)[0])
    return _normalise(_noise(rng, N_GLOBAL_TOPICS) + 0.3 * common)


def plan_docs(plan: StorePlan, *, topics: np.ndarray, name_base: int, seed: int) -> StoreDocs:
    rng = np.random.default_rng([seed, 3, plan.index])
    # A quarter of the documents are one-chunk FAQs; the rest have 2–40 chunks.
    sizes = np.where(rng.random(plan.chunks) < 0.25, 1, rng.integers(2, 41, plan.chunks))
    cut = int(np.searchsorted(np.cumsum(sizes), plan.chunks)) + 1
    sizes = sizes[:cut].copy()
    sizes[-1] -= sizes.sum() - plan.chunks
    first_row = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_topics = int(np.clip(round(np.sqrt(plan.chunks) / 2), 4, 200))
    topic_global = rng.choice(N_GLOBAL_TOPICS, size=min(n_topics, N_GLOBAL_TOPICS), replace=False)
    topic_centres = _jitter(rng, topics[topic_global], STORE_TOPIC_NOISE)
    doc_topic = rng.integers(0, len(topic_global), len(sizes))
    # Documents are mostly about one topic and partly about another ("waterproof boots": shoes
    # and rain), which links topics as real text does.
    secondary = rng.integers(0, len(topic_global), len(sizes))
    mixed = topic_centres[doc_topic] + SECONDARY_TOPIC_WEIGHT * topic_centres[secondary]
    centres = _jitter(rng, mixed, DOC_NOISE)
    kinds = rng.choice(
        ["MANUAL", "PRODUCT_CATALOG", "POLICY", "URL"], p=[0.45, 0.35, 0.1, 0.1], size=len(sizes)
    )
    types = ["FAQ" if size == 1 else str(kind) for size, kind in zip(sizes, kinds, strict=True)]
    titles = []
    for doc in range(len(sizes)):
        word = topic_word(int(topic_global[doc_topic[doc]]), doc % TOPIC_WORDS)
        noun = CONTENT_WORDS[(doc * 31) % len(CONTENT_WORDS)]
        titles.append(f"{doc_name(name_base + doc).capitalize()} {word} {noun}")
    ids = [uuid.UUID(bytes=b, version=4) for b in _chunks_of(rng.bytes(16 * len(sizes)), 16)]
    return StoreDocs(
        ids=ids,
        sizes=sizes,
        first_row=first_row,
        topic=doc_topic,
        centres=centres,
        topic_global=topic_global,
        topic_centres=topic_centres,
        name_base=name_base,
        types=types,
        titles=titles,
    )


def _chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


class Vocabulary:
    """Word ids → words: stopwords, content words, topic words, the common word, a name mark.

    Content words are the real ones above followed by made-up rarer ones, with a Zipf-like
    frequency (rank ** -0.5): the most frequent real words are in 15–35% of chunks, most in a
    few percent. Only ``COMMON_WORD`` is in nearly every chunk."""

    def __init__(self) -> None:
        content = list(CONTENT_WORDS) + [content_word(i) for i in range(EXTRA_CONTENT_WORDS)]
        self.content_count = len(content)
        self.words = list(STOPWORDS) + content
        self.content_start = len(STOPWORDS)
        self.topic_start = len(self.words)
        self.words += [topic_word(t, n) for t in range(N_GLOBAL_TOPICS) for n in range(TOPIC_WORDS)]
        self.common_id = len(self.words)
        self.words.append(COMMON_WORD)
        self.name_id = len(self.words)
        self.words.append(NAME_MARK)
        weights = 1 / np.arange(1, self.content_count + 1) ** 0.5
        self.content_p = weights / weights.sum()


@dataclass
class Piece:
    """Consecutive documents of one store: the unit of generation (deterministic on its own)."""

    store: int
    first_doc: int
    last_doc: int  # exclusive
    rows: int


@dataclass
class Rows:
    store: int
    ids: list[uuid.UUID]
    vectors: np.ndarray
    doc_rows: np.ndarray  # the store's document index of each row
    ordinals: np.ndarray
    texts: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    token_counts: list[int] = field(default_factory=list)


def pieces_of(plan: StorePlan) -> list[Piece]:
    docs = plan.docs
    pieces, start = [], 0
    ends = np.cumsum(docs.sizes)
    while start < len(docs.sizes):
        base = docs.first_row[start]
        stop = int(np.searchsorted(ends, base + PIECE_ROWS, side="left")) + 1
        stop = min(max(stop, start + 1), len(docs.sizes))
        pieces.append(Piece(plan.index, start, stop, int(ends[stop - 1] - base)))
        start = stop
    return pieces


def generate_piece(plan: StorePlan, piece: Piece, *, vocab: Vocabulary, seed: int, text: bool = True) -> Rows:
    docs = plan.docs
    rng = np.random.default_rng([seed, 4, plan.index, piece.first_doc])
    doc_numbers = np.arange(piece.first_doc, piece.last_doc)
    doc_rows = np.repeat(doc_numbers, docs.sizes[doc_numbers])
    ordinals = np.arange(len(doc_rows)) - (docs.first_row[doc_rows] - docs.first_row[piece.first_doc])
    vectors = _jitter(rng, docs.centres[doc_rows], CHUNK_NOISE)
    ids = [uuid.UUID(bytes=b, version=4) for b in _chunks_of(rng.bytes(16 * len(doc_rows)), 16)]
    rows = Rows(store=plan.index, ids=ids, vectors=vectors, doc_rows=doc_rows, ordinals=ordinals)
    if not text:
        return rows
    n = len(doc_rows)
    topic_of_row = docs.topic_global[docs.topic[doc_rows]]
    # About 100 words (80–200 tokens, like the product's chunks): stopwords, content words,
    # the topic's words, the document's name (usually) and the common word (in ~85% of chunks,
    # as the row is cut to its length after shuffling).
    columns = [
        rng.integers(0, len(STOPWORDS), (n, 45)),
        vocab.content_start + rng.choice(vocab.content_count, p=vocab.content_p, size=(n, 40)),
        vocab.topic_start + topic_of_row[:, None] * TOPIC_WORDS + rng.integers(0, TOPIC_WORDS, (n, 30)),
        np.where(rng.random((n, 3)) < 0.6, vocab.name_id, rng.integers(0, len(STOPWORDS), (n, 3))),
        np.full((n, 1), vocab.common_id),
    ]
    words = np.concatenate(columns, axis=1)
    order = np.argsort(rng.random(words.shape), axis=1)
    words = np.take_along_axis(words, order, axis=1)
    lengths = rng.integers(80, words.shape[1] + 1, n)
    sections = rng.integers(0, len(SECTIONS), n)
    vocabulary = vocab.words
    for row in range(n):
        length = int(lengths[row])
        sentence = " ".join([vocabulary[w] for w in words[row, :length].tolist()])
        rows.texts.append(sentence.replace(NAME_MARK, docs.name(int(doc_rows[row]))))
        rows.sections.append(SECTIONS[sections[row]])
        rows.token_counts.append(int(length * 1.3))
    return rows


@dataclass
class Query:
    text: str
    vector: np.ndarray
    kind: str  # "doc" or "topic"


def make_queries(plan: StorePlan, count: int, *, seed: int) -> list[Query]:
    """Shopper-like questions: most about one document (its name, the common word, a topic
    word), some vaguer ones about a topic."""
    docs = plan.docs
    rng = np.random.default_rng([seed, 5, plan.index])
    queries = []
    for _ in range(count):
        doc = int(rng.integers(0, len(docs.sizes)))
        store_topic = int(docs.topic[doc])
        word = topic_word(int(docs.topic_global[store_topic]), int(rng.integers(0, TOPIC_WORDS)))
        if rng.random() < DOC_QUERY_SHARE:
            vector = _jitter(rng, docs.centres[doc], DOC_QUERY_NOISE)
            text = f"is the {docs.name(doc)} {COMMON_WORD} good for {word}"
            kind = "doc"
        else:
            vector = _jitter(rng, docs.topic_centres[store_topic], TOPIC_QUERY_NOISE)
            noun = CONTENT_WORDS[int(rng.integers(0, len(CONTENT_WORDS)))]
            text = f"what {COMMON_WORD} do you have for {word} {noun}"
            kind = "topic"
        queries.append(Query(text=text, vector=vector, kind=kind))
    return queries


# --- database set-up -----------------------------------------------------------------------


def bench_database(name: str) -> tuple[str, str]:
    """(URL of the benchmark database, URL of the server's maintenance database).

    With DATABASE_URL unset, the embedded server (started here if needed); otherwise the same
    server as DATABASE_URL with the database name replaced, never the product's database."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit("The benchmark database name must be a plain lower-case identifier.")
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        from convix import embedded_pg

        socket = embedded_pg.start()
        return (
            f"postgresql://postgres@/{name}?host={socket}",
            f"postgresql://postgres@/postgres?host={socket}",
        )
    parsed = urlparse(url)
    if parsed.path.lstrip("/") == name:
        raise SystemExit(f"DATABASE_URL already names {name}; the benchmark needs a database of its own.")
    return parsed._replace(path=f"/{name}").geturl(), parsed._replace(path="/postgres").geturl()


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_exists(admin_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def setup_django(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")
    import django

    django.setup()
    from apps.training.models import EMBEDDING_DIMENSIONS

    if EMBEDDING_DIMENSIONS != DIM:
        raise SystemExit(f"The benchmark generates {DIM}-d vectors; the model stores {EMBEDDING_DIMENSIONS}.")


def create_stores(plans: list[StorePlan]):
    """The Store rows (ORM; their ids are the plan's, so a kept database can be reused)."""
    from apps.accounts.models import User
    from apps.stores.models import Store

    owner = User.objects.create_user(email="bench-owner@convix.invalid", password=None)
    for plan in plans:
        Store.objects.create(id=plan.id, name=f"Bench {plan.name}", slug=f"bench-{plan.name}", owner=owner)


# --- loading -------------------------------------------------------------------------------

_STAGE_COLUMNS = "id, store_id, doc_id, ordinal, title, section, text, token_count, embedding"
_STAGE_TYPES = ["uuid", "uuid", "uuid", "int4", "text", "text", "text", "int4", "vector"]


def load_docs(conn, plans: list[StorePlan]) -> int:
    columns = (
        "id, store_id, type, title, content, source_url, file_name, file, file_size, content_type, metadata, "
        "is_active, status, status_reason, progress, chunk_count, content_hash, indexed_at, created_at, "
        "updated_at"
    )
    count = 0
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY training_trainingdoc ({columns}) FROM STDIN") as copy:
            for plan in plans:
                docs = plan.docs
                for doc, doc_id in enumerate(docs.ids):
                    copy.write_row(
                        (
                            doc_id,
                            plan.id,
                            docs.types[doc],
                            docs.titles[doc],
                            "",
                            "",
                            "",
                            "",
                            0,
                            "",
                            "{}",
                            True,
                        )
                        + ("READY", "", 100, int(docs.sizes[doc]), "", "now", "now", "now")
                    )
                    count += 1
    return count


def _batches(plans: list[StorePlan], *, seed: int) -> list[list[Piece]]:
    """Every store's pieces in a reproducible shuffled order, grouped into COPY batches."""
    pieces = [piece for plan in plans for piece in pieces_of(plan)]
    order = np.random.default_rng([seed, 6]).permutation(len(pieces))
    batches, current, rows = [], [], 0
    for position in order:
        current.append(pieces[position])
        rows += pieces[position].rows
        if rows >= BATCH_ROWS:
            batches.append(current)
            current, rows = [], 0
    if current:
        batches.append(current)
    return batches


def load_chunks(conn, plans: list[StorePlan], *, vocab: Vocabulary, seed: int, keep: set[int]) -> dict:
    """Generate (in a thread) and COPY every chunk. Returns the kept stores' ids and vectors."""
    batches = _batches(plans, seed=seed)
    total = sum(plan.chunks for plan in plans)
    work: queue.Queue = queue.Queue(maxsize=3)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                generated = [generate_piece(plans[p.store], p, vocab=vocab, seed=seed) for p in batch]
                while not stop.is_set():
                    try:
                        work.put(generated, timeout=1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            work.put(None)
        except BaseException as error:  # handed to the loading thread, which re-raises it
            work.put(error)

    producer = threading.Thread(target=produce, name="bench-generate", daemon=True)
    producer.start()
    kept: dict[int, list[Rows]] = {index: [] for index in keep}
    conn.execute(
        "CREATE TEMP TABLE bench_stage (id uuid, store_id uuid, doc_id uuid, ordinal int, title text, "
        "section text, text text, token_count int, embedding vector)"
    )
    loaded, started, next_report = 0, time.perf_counter(), total / 10
    try:
        while True:
            item = work.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY bench_stage ({_STAGE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(_STAGE_TYPES)
                    for rows in item:
                        plan = plans[rows.store]
                        docs = plan.docs
                        for i, chunk_id in enumerate(rows.ids):
                            doc = int(rows.doc_rows[i])
                            copy.write_row(
                                (
                                    chunk_id,
                                    plan.id,
                                    docs.ids[doc],
                                    int(rows.ordinals[i]),
                                    docs.titles[doc],
                                    rows.sections[i],
                                    rows.texts[i],
                                    rows.token_counts[i],
                                    rows.vectors[i],
                                )
                            )
                        if rows.store in kept:
                            rows.texts, rows.sections = [], []
                            kept[rows.store].append(rows)
                # The weighted full-text vector exactly as ingestion computes it.
                cursor.execute(
                    "INSERT INTO training_trainingchunk (id, store_id, doc_id, ordinal, title, section, text, "
                    "token_count, content_hash, embedding, search_vector, metadata, is_active, created_at) "
                    "SELECT id, store_id, doc_id, ordinal, title, section, text, token_count, md5(text), embedding, "
                    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
                    "setweight(to_tsvector('english', coalesce(section, '')), 'B') || "
                    "setweight(to_tsvector('english', coalesce(text, '')), 'C'), "
                    "'{}'::jsonb, true, now() FROM bench_stage"
                )
                cursor.execute("TRUNCATE bench_stage")
            loaded += sum(len(rows.ids) for rows in item)
            if loaded >= next_report:
                elapsed = time.perf_counter() - started
                _say(f"  loaded {loaded:>9,} chunks  {elapsed:6.0f} s  {loaded / elapsed:7,.0f}/s")
                next_report += total / 10
    finally:
        stop.set()
        producer.join(timeout=30)
    return {index: _stack(rows_list) for index, rows_list in kept.items()}


def _stack(rows_list: list[Rows]) -> tuple[list[uuid.UUID], np.ndarray]:
    ids = [chunk_id for rows in rows_list for chunk_id in rows.ids]
    return ids, np.concatenate([rows.vectors for rows in rows_list])


def regenerate_vectors(
    plan: StorePlan, *, vocab: Vocabulary, seed: int
) -> tuple[list[uuid.UUID], np.ndarray]:
    """A store's chunk ids and vectors as loaded (generation is deterministic per piece)."""
    return _stack([generate_piece(plan, p, vocab=vocab, seed=seed, text=False) for p in pieces_of(plan)])


# --- measuring -----------------------------------------------------------------------------


def _percentiles(values_ms: list[float]) -> dict:
    if not values_ms:
        return {}
    array = np.asarray(values_ms)
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "p99": round(float(np.percentile(array, 99)), 2),
        "mean": round(float(array.mean()), 2),
        "n": len(values_ms),
    }


def exact_top(vectors: np.ndarray, ids: list[uuid.UUID], query: np.ndarray, k: int = 10) -> set[uuid.UUID]:
    similarities = vectors @ query
    top = np.argpartition(-similarities, k)[:k] if len(ids) > k else np.arange(len(ids))
    return {ids[i] for i in top}


def _plan_indexes(plan_text: str, store_id: uuid.UUID) -> list[str]:
    """The indexes (or sequential scans) a plan reads, with the store's id shortened."""
    found = re.findall(
        r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:Backward )?(?:using|on) (\S+)", plan_text
    )
    if "Seq Scan on training_trainingchunk" in plan_text:
        found.append("seqscan")
    short = [name.replace(store_id.hex, "<store>") for name in found]
    return sorted(set(short))


def measure_store(store, plan: StorePlan, vectors: np.ndarray, ids: list, *, queries: int, seed: int) -> dict:
    """Hybrid and vector-only latency and recall@10 of the store's queries (indexes allowed)."""
    from apps.training.selectors import knowledge_search, knowledge_search_plans
    from apps.training.vector_index import store_indexes

    all_queries = make_queries(plan, WARMUP_QUERIES + queries, seed=seed)
    warmup, measured = all_queries[:WARMUP_QUERIES], all_queries[WARMUP_QUERIES:]
    for query in warmup:
        knowledge_search(store=store, query=query.text, query_vector=query.vector, k=10)
        knowledge_search(store=store, query="", query_vector=query.vector, k=10)

    hybrid, vector_only, recalls = [], [], []
    recalls_by_kind: dict[str, list[float]] = {"doc": [], "topic": []}
    for query in measured:
        truth = exact_top(vectors, ids, query.vector)
        started = time.perf_counter()
        knowledge_search(store=store, query=query.text, query_vector=query.vector, k=10)
        hybrid.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        found = knowledge_search(store=store, query="", query_vector=query.vector, k=10)
        vector_only.append((time.perf_counter() - started) * 1000)
        recall = len({chunk.id for chunk in found} & truth) / len(truth)
        recalls.append(recall)
        recalls_by_kind[query.kind].append(recall)

    sample = measured[0]
    plans = knowledge_search_plans(store=store, query=sample.text, query_vector=sample.vector)
    by_kind = {
        kind: round(float(np.mean(values)), 4) if values else None for kind, values in recalls_by_kind.items()
    }
    return {
        "chunks": plan.chunks,
        "share": plan.share,
        "own_indexes": bool(store_indexes(plan.id)),
        "hybrid_ms": _percentiles(hybrid),
        "vector_only_ms": _percentiles(vector_only),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "recall_at_10_min": round(float(np.min(recalls)), 2),
        "queries_recall_below_half": int(sum(recall < 0.5 for recall in recalls)),
        "recall_at_10_doc_queries": by_kind["doc"],
        "recall_at_10_topic_queries": by_kind["topic"],
        "plan_vector": _plan_indexes(plans.get("vector", ""), plan.id),
        "plan_text": _plan_indexes(plans.get("text", ""), plan.id),
    }


def measure_exact(store, plan: StorePlan, vectors: np.ndarray, ids: list, *, queries: int, seed: int) -> dict:
    """The exact-scan baseline: the same calls with index scans disabled, so the vector
    statement reads every row of the store. Run after every indexed measurement: a scan of a
    large store pushes the indexes out of shared buffers."""
    from django.db import connection, transaction

    from apps.training.selectors import knowledge_search

    measured = make_queries(plan, WARMUP_QUERIES + queries, seed=seed)[WARMUP_QUERIES:]
    exact_hybrid, exact_vector, exact_check = [], [], []
    for query in measured:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
            started = time.perf_counter()
            knowledge_search(store=store, query=query.text, query_vector=query.vector, k=10)
            exact_hybrid.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            scanned = knowledge_search(store=store, query="", query_vector=query.vector, k=10)
            exact_vector.append((time.perf_counter() - started) * 1000)
        truth = exact_top(vectors, ids, query.vector)
        exact_check.append(len({chunk.id for chunk in scanned} & truth) / len(truth))
    return {
        "exact_scan_hybrid_ms": _percentiles(exact_hybrid),
        "exact_scan_vector_ms": _percentiles(exact_vector),
        # The exact SQL scan against numpy's exact top 10: 1.0 unless the data or the SQL is off.
        "exact_scan_recall_check": round(float(np.mean(exact_check)), 4) if exact_check else None,
    }


def build_indexes(plans: list[StorePlan], *, maintenance_work_mem: str) -> dict:
    from django.db import connection

    from apps.training.vector_index import ensure_store_indexes

    with connection.cursor() as cursor:
        # HNSW builds fast only while the graph fits in maintenance_work_mem (64 MB by default).
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem])
    per_store, started = {}, time.perf_counter()
    indexed_rows = 0
    for plan in sorted(plans, key=lambda p: -p.chunks):
        store_started = time.perf_counter()
        built = ensure_store_indexes(plan.id)
        seconds = time.perf_counter() - store_started
        if built:
            indexed_rows += plan.chunks
            per_store[plan.name] = round(seconds, 2)
    total = time.perf_counter() - started
    with connection.cursor() as cursor:
        analyze_started = time.perf_counter()
        cursor.execute("ANALYZE training_trainingchunk")
        cursor.execute("ANALYZE training_trainingdoc")
        analyze = time.perf_counter() - analyze_started
    return {
        "seconds": round(total, 1),
        "stores_indexed": len(per_store),
        "rows_indexed": indexed_rows,
        "rows_per_s": round(indexed_rows / total) if total else None,
        "large_store_seconds": per_store.get("large"),
        "mid_store_seconds": per_store.get("mid"),
        "analyze_seconds": round(analyze, 1),
        "maintenance_work_mem": maintenance_work_mem,
    }


def shared_index_baseline(
    stores: dict, plans: list[StorePlan], kept: dict, *, queries: int, seed: int, maintenance_work_mem: str
) -> dict:
    """One HNSW index over every store's chunks instead of one per store: recall and latency
    of the same calls, and of a plain top-10 query with pgvector's defaults."""
    from django.db import connection, transaction

    from apps.training.selectors import knowledge_search, knowledge_search_plans
    from apps.training.vector_index import drop_store_indexes

    for plan in plans:
        drop_store_indexes(plan.id)  # the GIN indexes go too; the vector part does not use them
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem])
        started = time.perf_counter()
        cursor.execute(
            "CREATE INDEX bench_shared_hnsw ON training_trainingchunk USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64)"
        )
        build = time.perf_counter() - started
        cursor.execute("ANALYZE training_trainingchunk")
    result = {"build_seconds": round(build, 1), "stores": {}}
    for name in MEASURED:
        plan = next(p for p in plans if p.name == name)
        ids, vectors = kept[plan.index]
        measured = make_queries(plan, WARMUP_QUERIES + queries, seed=seed)[WARMUP_QUERIES:]
        latencies, recalls, plain_recalls = [], [], []
        for query in measured:
            truth = exact_top(vectors, ids, query.vector)
            started = time.perf_counter()
            found = knowledge_search(store=stores[name], query="", query_vector=query.vector, k=10)
            latencies.append((time.perf_counter() - started) * 1000)
            recalls.append(len({chunk.id for chunk in found} & truth) / len(truth))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('hnsw.iterative_scan', 'off', true)")
                cursor.execute(
                    "SELECT id FROM training_trainingchunk WHERE store_id = %s AND is_active "
                    "ORDER BY embedding <=> %s::vector LIMIT 10",
                    [plan.id, "[" + ",".join(f"{x:.7g}" for x in query.vector) + "]"],
                )
                plain = {row[0] for row in cursor.fetchall()}
            plain_recalls.append(len(plain & truth) / len(truth))
        sample = measured[0]
        plans_text = knowledge_search_plans(store=stores[name], query="", query_vector=sample.vector)
        result["stores"][name] = {
            "vector_only_ms": _percentiles(latencies),
            "recall_at_10": round(float(np.mean(recalls)), 4),
            "recall_at_10_plain_ef40_no_iterative": round(float(np.mean(plain_recalls)), 4),
            "plan_vector": _plan_indexes(plans_text.get("vector", ""), plan.id),
        }
    return result


# --- output --------------------------------------------------------------------------------


def print_table(results: dict) -> None:
    header = (
        f"{'store':<14}{'chunks':>9}{'own idx':>8} | {'hybrid p50':>10}{'p95':>8}{'p99':>8} | "
        f"{'vector p95':>10}{'recall@10':>10}{'min':>6} | {'exact p50':>10}{'p95':>8}"
    )
    _say(header)
    _say("-" * len(header))
    for name, row in results.items():
        hybrid, vector, exact = row["hybrid_ms"], row["vector_only_ms"], row["exact_scan_hybrid_ms"]
        _say(
            f"{name:<14}{row['chunks']:>9,}{'yes' if row['own_indexes'] else 'no':>8} | "
            f"{hybrid['p50']:>10.1f}{hybrid['p95']:>8.1f}{hybrid['p99']:>8.1f} | "
            f"{vector['p95']:>10.1f}{row['recall_at_10']:>10.3f}{row['recall_at_10_min']:>6.1f} | "
            f"{exact.get('p50', float('nan')):>10.1f}{exact.get('p95', float('nan')):>8.1f}"
        )
    _say()
    for name, row in results.items():
        _say(f"  {name}: vector plan {row['plan_vector']}, text plan {row['plan_text']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.retrieval", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=60)
    parser.add_argument("--queries", type=int, default=200, help="measured queries per store")
    parser.add_argument(
        "--baseline-queries", type=int, default=30, help="queries per store for the exact scan"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure on a kept database (same flags) and keep it"
    )
    parser.add_argument(
        "--shared-index", action="store_true", help="also measure one HNSW index for all stores"
    )
    parser.add_argument("--maintenance-work-mem", default="1GB", help="for the per-store index builds")
    parser.add_argument(
        "--shared-index-memory",
        default="3GB",
        help="maintenance_work_mem for the shared index (its graph must fit: ~2 KB per chunk)",
    )
    parser.add_argument("--database", default=BENCH_DATABASE)
    parser.add_argument(
        "--embedding-storage",
        choices=("default", "main", "plain"),
        default="default",
        help="try another column storage for the embedding (the product's migrations say 'default')",
    )
    args = parser.parse_args(argv)

    bench_url, admin_url = bench_database(args.database)
    reuse = args.reuse and database_exists(admin_url, args.database)
    if not reuse:
        recreate_database(admin_url, args.database)
    setup_django(bench_url)
    from django.core.management import call_command
    from django.db import connection, connections

    from apps.stores.models import Store

    figures: dict = {
        "benchmark": "retrieval",
        "chunks": args.chunks,
        "stores": args.stores,
        "queries": args.queries,
        "seed": args.seed,
        "embedding_storage": args.embedding_storage,
        # Other work on the machine skews latencies; the load average says how busy it was.
        "load_average_start": round(os.getloadavg()[0], 2),
    }
    try:
        plans = plan_stores(chunks=args.chunks, stores=args.stores, seed=args.seed)
        topics = global_topics(args.seed)
        name_base = 0
        for plan in plans:
            plan.docs = plan_docs(plan, topics=topics, name_base=name_base, seed=args.seed)
            name_base += len(plan.docs.sizes)
        vocab = Vocabulary()
        measured_plans = [next(p for p in plans if p.name == name) for name in MEASURED]
        _say(
            f"Retrieval benchmark: {args.chunks:,} chunks, {args.stores} stores, {name_base:,} documents; "
            + ", ".join(f"{p.name} {p.chunks:,}" for p in measured_plans)
        )
        if reuse:
            _say("Reusing the kept database (no generation; migrated, missing per-store indexes built).")
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX IF EXISTS bench_shared_hnsw")
            # A kept database may predate a migration (e.g. an index dropped or added since).
            call_command("migrate", verbosity=0, interactive=False)
            figures["index_build"] = build_indexes(plans, maintenance_work_mem=args.maintenance_work_mem)
            kept = {p.index: regenerate_vectors(p, vocab=vocab, seed=args.seed) for p in measured_plans}
        else:
            started = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)
            create_stores(plans)
            if args.embedding_storage != "default":
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"ALTER TABLE training_trainingchunk ALTER COLUMN embedding SET STORAGE {args.embedding_storage.upper()}"
                    )
            figures["migrate_seconds"] = round(time.perf_counter() - started, 1)
            import psycopg
            from pgvector.psycopg import register_vector

            with psycopg.connect(bench_url, autocommit=True) as conn:
                register_vector(conn)
                conn.execute("SET synchronous_commit = off")
                started = time.perf_counter()
                docs = load_docs(conn, plans)
                kept = load_chunks(
                    conn, plans, vocab=vocab, seed=args.seed, keep={p.index for p in measured_plans}
                )
                load_seconds = time.perf_counter() - started
                _say(f"Loaded {args.chunks:,} chunks and {docs:,} documents in {load_seconds:.0f} s.")
                started = time.perf_counter()
                # Set visibility and flush the full-text index's pending list now rather than in
                # an autovacuum during the measurements.
                conn.execute("VACUUM (ANALYZE) training_trainingchunk")
                conn.execute("VACUUM (ANALYZE) training_trainingdoc")
                vacuum_seconds = time.perf_counter() - started
                table_size = conn.execute(
                    "SELECT pg_total_relation_size('training_trainingchunk')"
                ).fetchone()[0]
            figures["load"] = {
                "seconds": round(load_seconds, 1),
                "chunks_per_s": round(args.chunks / load_seconds),
                "vacuum_analyze_seconds": round(vacuum_seconds, 1),
                "table_bytes_with_indexes": table_size,
            }
            _say(f"VACUUM ANALYZE {vacuum_seconds:.0f} s. Building per-store indexes ...")
            figures["index_build"] = build_indexes(plans, maintenance_work_mem=args.maintenance_work_mem)
            build = figures["index_build"]
            _say(
                f"Indexes: {build['stores_indexed']} stores ({build['rows_indexed']:,} rows) in {build['seconds']:.0f} s"
                f" ({build['rows_per_s']:,}/s); large store {build['large_store_seconds']} s."
            )

        stores = {plan.name: Store.objects.get(pk=plan.id) for plan in measured_plans}
        results = {}
        for plan in measured_plans:
            ids, vectors = kept[plan.index]
            _say(f"Measuring {plan.name} ({plan.chunks:,} chunks) ...")
            results[plan.name] = measure_store(
                stores[plan.name], plan, vectors, ids, queries=args.queries, seed=args.seed
            )
        for plan in measured_plans:
            ids, vectors = kept[plan.index]
            _say(f"Exact-scan baseline for {plan.name} ...")
            results[plan.name].update(
                measure_exact(
                    stores[plan.name],
                    plan,
                    vectors,
                    ids,
                    queries=min(args.baseline_queries, args.queries),
                    seed=args.seed,
                )
            )
        figures["results"] = results
        bar_rows = {name: results[name] for name in ("large", "mid", "small")}
        figures["bar"] = {
            "p95_ms": BAR_P95_MS,
            "recall_gap": BAR_RECALL_GAP,
            "met": all(
                row["hybrid_ms"]["p95"] <= BAR_P95_MS and row["recall_at_10"] >= 1 - BAR_RECALL_GAP
                for row in bar_rows.values()
            ),
        }
        _say()
        print_table(results)
        _say()
        _say(
            f"Bar (p95 ≤ {BAR_P95_MS:.0f} ms and recall@10 ≥ {1 - BAR_RECALL_GAP:.2f} for large, mid and small): "
            + ("met" if figures["bar"]["met"] else "NOT met")
        )
        if args.shared_index:
            _say("Shared-index baseline: one HNSW index over every store ...")
            figures["shared_index"] = shared_index_baseline(
                stores,
                plans,
                kept,
                queries=min(args.queries, 100),
                seed=args.seed,
                maintenance_work_mem=args.shared_index_memory,
            )
            shared = figures["shared_index"]
            _say(f"  built in {shared['build_seconds']:.0f} s")
            for name, row in shared["stores"].items():
                _say(
                    f"  {name:<14} recall@10 {row['recall_at_10']:.3f} (knowledge_search), "
                    f"{row['recall_at_10_plain_ef40_no_iterative']:.3f} (ef_search 40, no iterative scan); "
                    f"p95 {row['vector_only_ms']['p95']:.1f} ms; plan {row['plan_vector']}"
                )
        figures["load_average_end"] = round(os.getloadavg()[0], 2)
    finally:
        connections.close_all()
        if not (args.keep or args.reuse):
            drop_database(admin_url, args.database)
    _say(json.dumps(figures, sort_keys=True))
    return figures


if __name__ == "__main__":
    main()
