"""Hybrid retrieval and product search on the demo store (the session's ``demo_store`` fixture,
indexed by ``store_retrain``), the similarity threshold's calibration, and the query plans on a
store with its own indexes."""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection

from apps.training import selectors, services, vector_index
from apps.training.models import EMBEDDING_DIMENSIONS, DocType, TrainingChunk, TrainingDoc
from convix.ai.embeddings import get_embedder
from convix.tenancy import store_scope, unscoped
from tests.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def top(store, query, k=5, **options):
    with store_scope(store):
        return selectors.knowledge_search(store=store, query=query, k=k, **options)


# Shopper questions (worded unlike the FAQs) and the chunk (title, section) that answers them.
DEMO_QUESTIONS = [
    ("how long do I have to return something", ("Returns Policy", "The return window")),
    ("How much is shipping?", ("How much does shipping cost?", "")),
    ("do you ship to canada", ("Do you ship to Canada?", "")),
    ("can I exchange for a different size", ("Returns Policy", "Exchanges")),
    ("will you match a lower price from another store", ("Price Match & Price Adjustment Policy", "")),
    ("how do I cancel my trail box subscription", ("Trail Box Subscription Policy", "Cancelling")),
    ("when will my refund arrive", ("When will I get my refund?", "")),
    (
        "my package says delivered but it's not here",
        ("Tracking says delivered but I can't find my package.", ""),
    ),
    ("do boots run small", ("Do your hiking boots run true to size?", "")),
    (
        "do you have net 30 terms for businesses",
        ("B2B / Wholesale Program (Trail Partners)", "Payment terms"),
    ),
    ("lightweight tent for solo backpacking", ("Juniper UL 1P Tent", "Tents")),
    ("how warm is the alpine down sleeping bag", ("Alpine 15°F Down Sleeping Bag", "Sleeping Bags")),
]


@pytest.mark.parametrize(("question", "expected"), DEMO_QUESTIONS)
def test_demo_questions_find_their_answer_in_the_top_3(demo_store, question, expected):
    results = top(demo_store, question, k=3)
    assert expected in [(r.title, r.section) for r in results]


def test_results_carry_their_document_and_scores(demo_store):
    results = top(demo_store, "how long do I have to return something")
    assert len(results) == 5
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    first = results[0]
    with store_scope(demo_store):
        doc = TrainingDoc.objects.get(pk=first.doc_id)
        chunk = TrainingChunk.objects.get(pk=first.id)
    assert (first.doc_type, doc.type, doc.title) == (DocType.POLICY, DocType.POLICY, "Returns Policy")
    assert (first.text, first.metadata) == (chunk.text, {})
    expected = float(
        np.dot(
            get_embedder().embed(["how long do I have to return something"])[0], np.asarray(chunk.embedding)
        )
    )
    assert first.similarity == pytest.approx(expected, abs=1e-5)
    assert first.text_rank > 0
    # Fused from both rankings: the score exceeds what one ranking alone can give.
    assert first.score > 1 / (selectors.RRF_K + 1)


def test_faq_and_catalog_chunks_carry_their_metadata(demo_store):
    (faq,) = top(demo_store, "do gift cards expire", k=1, doc_types=[DocType.FAQ])
    assert faq.metadata == {"category": "gift-cards", "question": "Do your gift cards expire?"}
    (product,) = top(demo_store, "bear spray", k=1, doc_types=[DocType.PRODUCT_CATALOG])
    with store_scope(demo_store):
        bear_spray = demo_store.products.get(title="Bear Deterrent Spray 7.9 oz")
    assert product.metadata == {"product_id": str(bear_spray.id), "sku": bear_spray.sku}


def test_doc_types_limit_the_search(demo_store):
    results = top(demo_store, "tent", k=10, doc_types=[DocType.FAQ, DocType.POLICY])
    assert len(results) == 10
    assert {r.doc_type for r in results} <= {DocType.FAQ, DocType.POLICY}


def test_a_precomputed_query_vector_gives_the_same_results(demo_store):
    query = "can I pay with klarna"
    vector = get_embedder().embed([query])[0]
    assert [r.id for r in top(demo_store, query, query_vector=vector)] == [
        r.id for r in top(demo_store, query)
    ]


def test_min_similarity_drops_weak_matches(demo_store):
    assert top(demo_store, "who won the world cup", min_similarity=selectors.similarity_threshold()) == []


ANSWERABLE = [q for q, _ in DEMO_QUESTIONS] + [
    "what is your warranty",
    "where is your shop",
    "can I send back a sleeping bag I already used",
    "do you take back old gear",
]
OFF_TOPIC = [
    "what is the capital of france",
    "write me a poem about cats",
    "do you offer life insurance",
    "book me a flight to denver",
    "what's the weather tomorrow",
    "how do I file my taxes",
    "is bitcoin a good investment",
    "my dog is sick what should I do",
]


def test_threshold_separates_answerable_from_off_topic_questions(demo_store):
    threshold = selectors.similarity_threshold()
    assert threshold == 0.40
    for question in ANSWERABLE:
        assert top(demo_store, question)[0].similarity >= threshold, question
    for question in OFF_TOPIC:
        assert max(r.similarity for r in top(demo_store, question)) < threshold, question


def test_threshold_setting_overrides_the_calibrated_value(settings):
    settings.RETRIEVAL_SIMILARITY_THRESHOLD = 0.5
    assert selectors.similarity_threshold() == 0.5
    del settings.RETRIEVAL_SIMILARITY_THRESHOLD
    assert selectors.similarity_threshold("text-embedding-3-small") == 0.78


# --- product search on the demo catalog ----------------------------------------------------


def test_product_search_by_words_and_filters(demo_store):
    with store_scope(demo_store):
        tents = selectors.product_search(
            store=demo_store, query="backpacking tent", max_price=300, in_stock=True, limit=10
        )
        # Few tents are in stock under $300; the best of them comes first.
        assert tents[0].title == "Basecamp 4P Family Tent"
        for product in tents:
            assert any(v.price <= Decimal("300") and v.stock > 0 for v in product.variants.all())
        assert "Juniper UL 1P Tent" not in [p.title for p in tents]  # $329

        (spray,) = selectors.product_search(store=demo_store, query="bear spray", limit=1)
        assert spray.title == "Bear Deterrent Spray 7.9 oz"
        assert spray.similarity > 0.6


def test_product_search_finds_nothing_for_what_the_store_does_not_sell(demo_store):
    with store_scope(demo_store):
        for query in ("kayak", "crampons", "an iphone"):
            assert selectors.product_search(store=demo_store, query=query) == [], query


def test_product_search_prefetches_variants(demo_store, django_assert_num_queries):
    with store_scope(demo_store):
        # SKU match, similarity, title match (every word, any word), products, their variants.
        with django_assert_num_queries(6):
            products = selectors.product_search(store=demo_store, query="down jacket", limit=5)
            [list(p.variants.all()) for p in products]
    assert len(products) == 5


# --- product search filters, on a small catalog ---------------------------------------------


@pytest.fixture
def catalog(in_store):
    def product(sku, title, category, prices_and_stock, is_active=True):
        item = ProductFactory(
            store=in_store,
            sku=sku,
            title=title,
            category=category,
            price=min(p for p, _ in prices_and_stock),
            is_active=is_active,
        )
        for n, (price, stock) in enumerate(prices_and_stock):
            VariantFactory(product=item, sku=f"{sku}-{n}", title=f"Option {n}", price=price, stock=stock)
        return item

    items = {
        "mug": product("MUG", "Enamel Camp Mug", "Stoves & Cookware", [(Decimal("14.00"), 20)]),
        "stove": product("STOVE", "Pocket Stove", "Stoves & Cookware", [(Decimal("49.00"), 0)]),
        "tent": product("TENT", "Ridge 2P Tent", "Tents", [(Decimal("189.00"), 0), (Decimal("219.00"), 4)]),
        "cot": product("COT", "Basecamp Cot", "Camp Furniture", [(Decimal("129.00"), 2)]),
        "old": product("OLD", "Old Lantern", "Lighting", [(Decimal("20.00"), 9)], is_active=False),
    }
    services.store_retrain(store=in_store)
    return items


def titles(products) -> list[str]:
    return [p.title for p in products]


def test_product_filters_without_a_query(in_store, catalog):
    search = selectors.product_search
    assert titles(search(store=in_store)) == [
        "Basecamp Cot",
        "Enamel Camp Mug",
        "Ridge 2P Tent",
        "Pocket Stove",
    ]
    assert titles(search(store=in_store, in_stock=False)) == ["Pocket Stove"]
    assert titles(search(store=in_store, max_price=50)) == ["Enamel Camp Mug", "Pocket Stove"]
    assert titles(search(store=in_store, min_price=200)) == ["Ridge 2P Tent"]  # via its $219 option
    assert titles(search(store=in_store, min_price=100, max_price=200, in_stock=True)) == ["Basecamp Cot"]
    assert titles(search(store=in_store, category="tent")) == ["Ridge 2P Tent"]
    assert titles(search(store=in_store, category="stoves & cookware", in_stock=True)) == ["Enamel Camp Mug"]
    assert titles(search(store=in_store, limit=2)) == ["Basecamp Cot", "Enamel Camp Mug"]


def test_product_query_ranks_by_meaning_and_title_and_exact_sku(in_store, catalog):
    search = selectors.product_search
    assert titles(search(store=in_store, query="tent", limit=1)) == ["Ridge 2P Tent"]
    assert titles(search(store=in_store, query="folding camp bed", limit=1)) == ["Basecamp Cot"]
    assert titles(search(store=in_store, query="do you have COT-0 in stock?", limit=1)) == ["Basecamp Cot"]
    assert titles(search(store=in_store, query="lantern")) == []  # inactive
    assert "Pocket Stove" not in titles(search(store=in_store, query="stove", in_stock=True))


def test_product_search_never_returns_another_stores_products(in_store, catalog, other_store):
    with store_scope(other_store):
        ProductFactory(store=other_store, sku="TENT-B", title="Ridge 2P Tent", category="Tents")
        services.store_retrain(store=other_store)
    with store_scope(in_store):
        found = selectors.product_search(store=in_store, query="Ridge 2P Tent", limit=10)
    assert [p.id for p in found] == [catalog["tent"].id]


# --- query plans on a store with its own indexes --------------------------------------------


def test_queries_use_the_stores_own_partial_indexes(store, other_store):
    rng = np.random.default_rng(11)
    with unscoped("tests"):
        for owner, count in ((store, 2000), (other_store, 300)):
            doc = TrainingDoc.objects.create(store=owner, type=DocType.MANUAL, title="Manual")
            vectors = rng.standard_normal((count, EMBEDDING_DIMENSIONS))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            TrainingChunk.objects.bulk_create(
                [
                    TrainingChunk(
                        store=owner,
                        doc=doc,
                        ordinal=n,
                        title="Manual",
                        # "tighten" is in every chunk (a common word of the store); "bolt" and
                        # "torque" in a few.
                        text=f"step {n} tighten the "
                        + ("bolt with the torque wrench" if n % 40 == 0 else "nut"),
                        content_hash=str(n),
                        embedding=v,
                    )
                    for n, v in enumerate(vectors)
                ]
            )
        services_ids = list(TrainingChunk.objects.filter(store=store).values_list("id", flat=True))
    from apps.training import ingestion

    with store_scope(store):
        ingestion.set_search_vectors(store=store, chunk_ids=services_ids)
    assert vector_index.ensure_store_indexes(store.id, force=True) is True
    hnsw_name, fts_name = vector_index.index_names(store.id)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE training_trainingchunk")
        # At this size a scan and a sort are cheaper; forbid them to see whether the planner *can*
        # use the store's partial index, which it can only if the predicate matches literally.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
    query_vector = rng.standard_normal(EMBEDDING_DIMENSIONS)
    with store_scope(store):
        plans = selectors.knowledge_search_plans(store=store, query="tighten bolt", query_vector=query_vector)
        with connection.cursor() as cursor:
            assert "tighten" in selectors._common_lexemes(cursor, store)
        typed = selectors.knowledge_search_plans(
            store=store, query="bolt", query_vector=query_vector, doc_types=[DocType.MANUAL]
        )
    assert f"Index Scan using {hnsw_name}" in plans["vector"]
    # With a type filter the planner may instead fetch the chosen documents' rows through the
    # (store, doc) b-tree and sort them exactly; either way it reads this store's rows only.
    assert f"Index Scan using {hnsw_name}" in typed["vector"]
    assert f"Bitmap Index Scan on {fts_name}" in plans["text"]
    assert "chunk_search_vector" not in plans["search"]  # the GIN index over every store is gone
    with store_scope(other_store):
        other_plans = selectors.knowledge_search_plans(
            store=other_store, query="bolt", query_vector=query_vector
        )
    assert hnsw_name not in other_plans["vector"]

    # And the search itself returns only this store's rows.
    with connection.cursor() as cursor:
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    with store_scope(store):
        results = selectors.knowledge_search(
            store=store, query="tighten bolt", query_vector=query_vector, k=20
        )
    assert len(results) == 20
    assert {r.id for r in results} <= set(services_ids)
    # The 50 chunks with "bolt" come first in the full-text ranking; the fused top 20 has some.
    assert any("bolt" in r.text and r.text_rank > 0 for r in results)


def test_empty_store_and_queries_without_words(in_store):
    assert selectors.knowledge_search(store=in_store, query="do you ship to canada") == []
    services.doc_create(store=in_store, type=DocType.FAQ, title="Do you ship to Canada?", content="Yes.")
    services.store_retrain(store=in_store)
    for query in ("hi", "the", "???", "", "don't & | !"):
        results = selectors.knowledge_search(store=in_store, query=query)
        assert [(r.title, r.text_rank) for r in results] == [("Do you ship to Canada?", 0.0)]


# --- stores of any size: isolation, plans, common words ------------------------------------


def unit(rng, count=1):
    vectors = rng.standard_normal((count, EMBEDDING_DIMENSIONS))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def add_doc(owner, texts, vectors, *, title="Guide", is_active=True):
    """A document of ``owner`` with one chunk per text, full-text vectors set as ingestion does."""
    from apps.training import ingestion

    with unscoped("tests"):
        doc = TrainingDoc.objects.create(store=owner, type=DocType.MANUAL, title=title, is_active=is_active)
        chunks = TrainingChunk.objects.bulk_create(
            [
                TrainingChunk(
                    store=owner,
                    doc=doc,
                    ordinal=n,
                    title=title,
                    text=text,
                    content_hash=f"{doc.id}-{n}",
                    embedding=vector,
                    is_active=is_active,
                )
                for n, (text, vector) in enumerate(zip(texts, vectors, strict=True))
            ]
        )
    with store_scope(owner):
        ingestion.set_search_vectors(store=owner, chunk_ids=[c.id for c in chunks])
    return doc, chunks


@pytest.mark.parametrize("own_indexes", [False, True])
def test_results_never_include_another_store_or_an_inactive_document(store, other_store, own_indexes):
    rng = np.random.default_rng(5)
    texts = [f"gear {n} the quokka harness" if n % 6 == 0 else f"gear {n} a plain strap" for n in range(120)]
    shared_vectors = unit(rng, 120)
    _, own = add_doc(store, texts, shared_vectors)
    _, inactive = add_doc(store, texts, shared_vectors, title="Old guide", is_active=False)
    add_doc(other_store, texts, shared_vectors)  # the same words and vectors in another store
    if own_indexes:
        assert vector_index.ensure_store_indexes(store.id, force=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE training_trainingchunk")
    own_ids = {c.id for c in own}
    with store_scope(store):
        for query, vector in (
            ("quokka harness", shared_vectors[0]),
            ("gear", shared_vectors[1]),
            ("", unit(rng)[0]),
        ):
            found = selectors.knowledge_search(store=store, query=query, query_vector=vector, k=60)
            assert len(found) >= 30, query
            assert {r.id for r in found} <= own_ids, query
        quokka = selectors.knowledge_search(store=store, query="quokka", query_vector=unit(rng)[0], k=60)
    # Every one of the 20 chunks with the word is found by full text, whatever the vectors say.
    assert {r.id for r in quokka if r.text_rank > 0} == {c.id for c in own if "quokka" in c.text}


def test_a_small_store_is_filtered_through_its_own_rows_not_a_shared_full_text_index(store, other_store):
    rng = np.random.default_rng(9)
    add_doc(store, [f"gear number {n} with a wombat clip" for n in range(50)], unit(rng, 50))
    add_doc(other_store, [f"gear number {n}" for n in range(3000)], unit(rng, 3000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE training_trainingchunk")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'training_trainingchunk'"
        )
        indexes = dict(cursor.fetchall())
        # Make the planner show an index if it has one that fits (at this size it would scan).
        cursor.execute("SET enable_seqscan = off")
    # Only per-store GIN indexes may cover the full-text vectors (this store has none).
    for name, definition in indexes.items():
        if "search_vector" in definition:
            assert name.startswith("chunk_fts_") and "WHERE (store_id = " in definition, definition
    store_btrees = {name for name, definition in indexes.items() if "USING btree (store_id" in definition}
    with store_scope(store):
        plans = selectors.knowledge_search_plans(store=store, query="wombat clip", query_vector=unit(rng)[0])
    assert vector_index.store_indexes(store.id) == set()
    read = set(re.findall(r"Index Scan (?:Backward )?(?:using|on) (\S+)", plans["search"]))
    # The store's rows come through a b-tree that starts with store_id; no GIN index is read.
    assert "training_trainingchunk c" in plans["text"]
    assert read and read <= store_btrees | {"training_trainingdoc_pkey"}, read
    assert "@@" in plans["text"]


def test_common_words_are_measured_per_store(store, other_store):
    rng = np.random.default_rng(13)
    add_doc(
        store, [f"gear {n} " + ("lantern" if n % 4 == 0 else "stove") for n in range(200)], unit(rng, 200)
    )
    add_doc(other_store, [f"boots {n} gear" if n < 10 else f"boots {n}" for n in range(200)], unit(rng, 200))
    with connection.cursor() as cursor:
        # "gear" is in every chunk of the store (and in 5% of the other's): common here only.
        # "stove" is in 75%, "lantern" in 25%: only the first is common. The title ("Guide")
        # is in every chunk's full-text vector.
        assert selectors._common_lexemes(cursor, store) == {"gear", "stove", "guid"}
        assert selectors._common_lexemes(cursor, other_store) == {"boot", "guid"}
    with unscoped("tests"):
        TrainingChunk.objects.filter(store=store, ordinal__gte=selectors.COMMON_WORD_MIN_SAMPLE - 1).delete()
    cache.delete(selectors._shares_key(store))
    with connection.cursor() as cursor:
        assert selectors._common_lexemes(cursor, store) == set()  # too few chunks to tell


def test_common_words_select_no_candidates_but_still_rank(store):
    rng = np.random.default_rng(17)
    query_vector = unit(rng)[0]
    texts = [f"gear item {n} a plain strap" for n in range(199)] + ["a quokka harness, no strap"]
    vectors = unit(rng, 200)
    vectors[-1] = -query_vector  # the farthest chunk of all by meaning
    _, chunks = add_doc(store, texts, vectors)
    rare = chunks[-1]
    with store_scope(store):
        plans = selectors.knowledge_search_plans(store=store, query="gear quokka", query_vector=query_vector)
        # Every word common ("gear" in 99.5% of chunks): no full-text leg at all.
        only_common = selectors.knowledge_search_plans(store=store, query="gear", query_vector=query_vector)
        found = selectors.knowledge_search(store=store, query="gear quokka", query_vector=query_vector, k=3)
    # The any-word tier selects candidates by the rare word only ...
    assert "'quokka' | 'gear'" not in plans["text"] and "'gear' | 'quokka'" not in plans["text"]
    assert "'quokka'" in plans["text"]
    assert "text" not in only_common and "vector" in only_common
    # ... and the chunk with the rare word (without "gear") is found by full text alone.
    assert rare.id in [r.id for r in found]
    assert next(r for r in found if r.id == rare.id).text_rank > 0
