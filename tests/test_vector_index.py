"""Per-store vector indexes: a large store gets its own HNSW index with full recall; small stores
are scanned exactly. Real 384-dimension vectors on the embedded PostgreSQL with pgvector."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from pgvector.django import CosineDistance

from apps.training import vector_index
from apps.training.models import EMBEDDING_DIMENSIONS, DocType, TrainingChunk, TrainingDoc
from convix.tenancy import store_scope, unscoped

pytestmark = pytest.mark.django_db


def clustered_vectors(rng: np.random.Generator, count: int, centers: np.ndarray) -> np.ndarray:
    picks = rng.integers(0, len(centers), size=count)
    vectors = centers[picks] + 0.35 * rng.standard_normal((count, EMBEDDING_DIMENSIONS))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def add_chunks(store, vectors: np.ndarray) -> None:
    with unscoped("tests"):
        doc = TrainingDoc.objects.create(store=store, type=DocType.MANUAL, title="Manual")
        TrainingChunk.objects.bulk_create(
            [
                TrainingChunk(
                    store=store, doc=doc, ordinal=i, text=f"chunk {i}", content_hash=str(i), embedding=v
                )
                for i, v in enumerate(vectors)
            ],
            batch_size=1000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE training_trainingchunk")


def top_ids(store, query: np.ndarray, k: int = 10) -> list:
    with store_scope(store):
        return list(
            TrainingChunk.objects.filter(store=store)
            .order_by(CosineDistance("embedding", query))
            .values_list("id", flat=True)[:k]
        )


def plan(store, query: np.ndarray) -> str:
    with store_scope(store):
        queryset = TrainingChunk.objects.filter(store=store).order_by(CosineDistance("embedding", query))[:10]
        return queryset.explain()


def test_large_store_gets_its_own_index_with_full_recall(
    store, other_store, settings, django_assert_num_queries
):
    settings.VECTOR_INDEX_MIN_CHUNKS = 1500
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, EMBEDDING_DIMENSIONS))
    add_chunks(store, clustered_vectors(rng, 2000, centers))
    add_chunks(other_store, clustered_vectors(rng, 300, centers))

    assert vector_index.ensure_store_indexes(store.id) is True
    assert vector_index.ensure_store_indexes(other_store.id) is False
    # Idempotent, and cheap once built: one catalog lookup, no count of the store's chunks.
    with django_assert_num_queries(1) as captured:
        assert vector_index.ensure_store_indexes(store.id) is True
    assert "pg_index" in captured.captured_queries[0]["sql"]
    hnsw_name, fts_name = vector_index.index_names(store.id)
    assert vector_index.store_indexes(store.id) == {hnsw_name, fts_name}
    assert vector_index.store_indexes(other_store.id) == set()

    queries = clustered_vectors(rng, 20, centers)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # make the planner show the index it would use at scale
    assert hnsw_name in plan(store, queries[0])
    assert hnsw_name not in plan(other_store, queries[0])

    recalls = []
    for query in queries:
        approximate = top_ids(store, query)
        with connection.cursor() as cursor:
            cursor.execute("SET enable_indexscan = off")
        exact = top_ids(store, query)
        with connection.cursor() as cursor:
            cursor.execute("SET enable_indexscan = on")
        recalls.append(len(set(approximate) & set(exact)) / len(exact))
        assert set(approximate) <= set(
            TrainingChunk.objects.with_scope(store=store).values_list("id", flat=True)
        )
    assert float(np.mean(recalls)) >= 0.95

    vector_index.drop_store_indexes(store.id)
    assert vector_index.store_indexes(store.id) == set()


def test_small_store_results_never_include_another_store(store, other_store):
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((5, EMBEDDING_DIMENSIONS))
    add_chunks(store, clustered_vectors(rng, 50, centers))
    add_chunks(other_store, clustered_vectors(rng, 50, centers))
    query = clustered_vectors(rng, 1, centers)[0]
    with store_scope(store):
        own = set(TrainingChunk.objects.values_list("id", flat=True))
    found = top_ids(store, query, k=50)
    assert len(found) == 50
    assert set(found) == own


def test_a_store_gets_its_own_indexes_from_the_default_threshold(store):
    rng = np.random.default_rng(21)
    threshold = vector_index.min_chunks()
    assert threshold == vector_index.DEFAULT_MIN_CHUNKS == 1000
    centers = rng.standard_normal((10, EMBEDDING_DIMENSIONS))
    add_chunks(store, clustered_vectors(rng, threshold - 1, centers))
    assert vector_index.ensure_store_indexes(store.id) is False  # scanned exactly
    assert vector_index.store_indexes(store.id) == set()
    add_chunks(store, clustered_vectors(rng, 1, centers))
    assert vector_index.ensure_store_indexes(store.id) is True
    assert vector_index.store_indexes(store.id) == set(vector_index.index_names(store.id))
