"""Hybrid retrieval and product search on the demo store (the session's ``demo_store`` fixture,
indexed by ``store_retrain``), the similarity threshold's calibration, and the query plans on a
store with its own indexes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
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
                        text=f"step {n} tighten the bolt",
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
        typed = selectors.knowledge_search_plans(
            store=store, query="bolt", query_vector=query_vector, doc_types=[DocType.MANUAL]
        )
    assert f"Index Scan using {hnsw_name}" in plans["vector"]
    # With a type filter the planner may instead fetch the chosen documents' rows through the
    # (store, doc) b-tree and sort them exactly; either way it reads this store's rows only.
    assert f"Index Scan using {hnsw_name}" in typed["vector"]
    assert f"Bitmap Index Scan on {fts_name}" in plans["text"]
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


def test_empty_store_and_queries_without_words(in_store):
    assert selectors.knowledge_search(store=in_store, query="do you ship to canada") == []
    services.doc_create(store=in_store, type=DocType.FAQ, title="Do you ship to Canada?", content="Yes.")
    services.store_retrain(store=in_store)
    for query in ("hi", "the", "???", "", "don't & | !"):
        results = selectors.knowledge_search(store=in_store, query=query)
        assert [(r.title, r.text_rank) for r in results] == [("Do you ship to Canada?", 0.0)]
