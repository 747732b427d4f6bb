"""Agent benchmark: ingestion throughput and one message end to end through the offline engine.

    python -m benchmarks.agent [--chunks 10000] [--messages 200] [--keep]

In its own database (``convix_bench_agent``): loads the demo store, grows its knowledge to
``--chunks`` chunks with manuals written from the store's own texts, and prints

- ingestion: chunks/s through ``doc_index`` against the embedding model's own throughput on the
  same texts, measured in the same run (the bar: at least 90% of the model);
- a message end to end (``message_receive`` → agent → saved reply, in-process): p50/p95/p99,
  against its two largest parts measured alone in the same run (one query embedding, one hybrid
  search) (the bar: p95 ≤ 150 ms on 2 cores).

The last line is one JSON object of the figures. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from benchmarks.retrieval import bench_database, drop_database, recreate_database, setup_django

DATABASE = "convix_bench_agent"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def manual_texts(store, count_chunks: int, seed: int = 11) -> list[tuple[str, str]]:
    """Manuals of ~10 sections each, written by recombining the store's own sentences."""
    from apps.stores.models import Product
    from apps.training.models import TrainingDoc
    from convix.ai.offline_engine import split_sentences

    sentences: list[str] = []
    for text in Product.objects.filter(store=store).values_list("description", flat=True):
        sentences += split_sentences(text)
    for text in TrainingDoc.objects.filter(store=store, type="POLICY").values_list("content", flat=True):
        sentences += split_sentences(text)
    rng = random.Random(seed)
    manuals = []
    sections_per_manual = 10
    for number in range(max(1, count_chunks // sections_per_manual)):
        parts = [f"# Field guide {number + 1}"]
        for section in range(sections_per_manual):
            parts.append(f"## Section {section + 1}")
            parts.append(" ".join(rng.choice(sentences) for _ in range(6)))
        manuals.append((f"Field guide {number + 1}", "\n\n".join(parts)))
    return manuals


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="knowledge chunks in the store")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    options = parser.parse_args(argv)

    url, admin_url = bench_database(DATABASE)
    recreate_database(admin_url, DATABASE)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    from celery import current_app

    from apps.conversations import services
    from apps.stores.models import Store
    from apps.training import services as training
    from apps.training.models import DocType, TrainingChunk, TrainingDoc
    from apps.training.selectors import knowledge_search
    from convix.ai.chunking import embed_text
    from convix.ai.embeddings import get_embedder
    from convix.ai.understanding import warm_up
    from convix.tenancy import store_scope

    current_app.conf.task_always_eager = True
    store = Store.objects.get(slug="alder-and-pine")
    results: dict = {"chunks_target": options.chunks}
    try:
        with store_scope(store):
            base = TrainingChunk.objects.filter(store=store).count()
            manuals = manual_texts(store, max(0, options.chunks - base))
            docs = [
                TrainingDoc.objects.create(store=store, type=DocType.MANUAL, title=title, content=content)
                for title, content in manuals
            ]
            embedder = get_embedder()
            started = time.perf_counter()
            for doc in docs:
                training.doc_index(store=store, doc_id=doc.id)
            ingest_seconds = time.perf_counter() - started
            new_chunks = TrainingChunk.objects.filter(store=store, doc__in=docs)
            texts = [embed_text(c.title, c.section, c.text) for c in new_chunks]
            started = time.perf_counter()
            for start in range(0, len(texts), 32):
                embedder.embed(texts[start : start + 32])
            model_seconds = time.perf_counter() - started
            total = TrainingChunk.objects.filter(store=store).count()
            results["ingestion"] = {
                "chunks": len(texts),
                "chunks_per_s": round(len(texts) / ingest_seconds, 1),
                "model_chunks_per_s": round(len(texts) / model_seconds, 1),
                "ratio_to_model": round(model_seconds / ingest_seconds, 3),
            }
            results["chunks_indexed"] = total

            questions = [
                "do you ship to Canada?",
                "how long do I have to return something?",
                "what's the warranty on headlamps?",
                "I need a warm sleeping bag under $250",
                "is the Juniper UL 2P in stock?",
                "how do I pause my Trail Box?",
                "do you price match?",
                "what payment methods do you take?",
                "where is my order AP-10421?",
                "hi there!",
            ]
            warm_up()
            knowledge_search(store=store, query="warm up", k=5)
            embed_times, search_times, message_times = [], [], []
            for number in range(options.messages):
                question = questions[number % len(questions)]
                started = time.perf_counter()
                vector = embedder.embed([question])[0]
                embed_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                knowledge_search(store=store, query=question, k=5, query_vector=vector)
                search_times.append(time.perf_counter() - started)
                conversation = services.conversation_start(store=store, metadata={"evaluation": True})
                started = time.perf_counter()
                services.message_receive(store=store, conversation=conversation, text=question)
                message_times.append(time.perf_counter() - started)
            results["message_end_to_end"] = summary(message_times)
            results["baseline_query_embedding"] = summary(embed_times)
            results["baseline_hybrid_search"] = summary(search_times)
    finally:
        if not options.keep:
            from django.db import connections

            connections.close_all()
            drop_database(admin_url, DATABASE)

    ingestion = results["ingestion"]
    print(f"knowledge: {results['chunks_indexed']} chunks in the store")
    print(
        f"ingestion: {ingestion['chunks_per_s']} chunks/s; the model alone on the same texts "
        f"{ingestion['model_chunks_per_s']} chunks/s; ratio {ingestion['ratio_to_model']} (bar: >= 0.90)"
    )
    for key in ("message_end_to_end", "baseline_query_embedding", "baseline_hybrid_search"):
        row = results[key]
        print(
            f"{key:28} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
        )
    print("bar: message end to end p95 <= 150 ms")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
