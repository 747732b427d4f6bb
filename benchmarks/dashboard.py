"""The dashboard's conversation pages at scale: the overview, the conversation list and a thread.

    python -m benchmarks.dashboard [--conversations 100000] [--messages-per-conversation 10]
                                   [--requests 200] [--keep]

The bar (issue 5): with 100,000 conversations and 1,000,000 messages in a store, the conversation
list, a thread and the overview render at p95 ≤ 150 ms server time, with a bounded number of
queries per page. This script prints the figures; it asserts nothing.

What it does, in its own database (``convix_bench_dashboard``; product data is never touched):

1. Creates and migrates the database (the embedded server when DATABASE_URL is unset).
2. Seeds one store with ``benchmarks.api.populate`` (its owner, 5,000 customers and
   ``--conversations`` conversations over 90 days), then with bulk SQL (``INSERT ... SELECT``
   over ``generate_series``, in the server): conversation start times spread like their
   activity, ``--messages-per-conversation`` messages each (shopper and AI in turn, the AI ones
   with a confidence breakdown and cited sources, as the agent writes them) and a handoff for
   every handed-off conversation (open, most recent first in the queue). Then ANALYZE.
3. Signs the owner in and requests each page ``--requests`` times through Django's test
   client, in this process (so the time is the server's: middleware, queries, templates; no
   network): the baseline ``GET /health`` (one ``SELECT 1``), the overview, the list (first
   page), the list filtered by status and search-free page 2 (its keyset cursor), and threads
   of random conversations. Every response must be 200.
4. Prints p50/p95/p99 per page and its ratio to the baseline measured in the same run, the
   number of queries each page makes, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from benchmarks.api import populate, setup_django
from benchmarks.retrieval import bench_database, drop_database, recreate_database

BENCH_DATABASE = "convix_bench_dashboard"

AI_METADATA = {
    "engine": "offline",
    "confidence": {"factual": 0.88, "intent": 0.93, "emotional": 0.97, "composite": 0.91},
    "intent": "shipping",
    "evidence": {"chunks": ["c-1", "c-2"], "products": [], "orders": []},
    "sources": [
        {"doc_id": "d-1", "title": "How much does shipping cost?", "type": "FAQ"},
        {"doc_id": "d-2", "title": "Shipping policy", "type": "POLICY"},
    ],
    "products": [],
    "orders": [],
    "quick_replies": [],
}


def seed_messages_and_handoffs(store_id: str, per_conversation: int) -> None:
    """Bulk SQL in the server: start times, messages and handoffs for the store's conversations."""
    from django.db import connection

    with connection.cursor() as cursor:
        # ``populate`` bulk-creates with created_at and last_message_at = now (both auto_now_add):
        # spread the activity over 90 days (seeded, so every run is the same) and start each
        # conversation 10 minutes before it, so "today" and "30 days" read realistic slices.
        cursor.execute("SELECT setseed(0.7)")
        cursor.execute(
            "UPDATE conversations_conversation SET last_message_at = now() - random() * interval '90 days'"
            " WHERE store_id = %s",
            [store_id],
        )
        cursor.execute(
            "UPDATE conversations_conversation SET created_at = last_message_at - interval '10 minutes'"
            " WHERE store_id = %s",
            [store_id],
        )
        cursor.execute(
            """
            INSERT INTO conversations_message
                (id, store_id, conversation_id, role, content, confidence, metadata, external_id,
                 delivery_status, created_at)
            SELECT gen_random_uuid(), c.store_id, c.id,
                   CASE WHEN n %% 2 = 0 THEN 'USER' ELSE 'AI' END,
                   CASE WHEN n %% 2 = 0 THEN 'Shopper question ' || n || ' about tents and shipping times'
                        ELSE 'Standard US shipping is $7.95 and free on orders of $99 or more. ' || n END,
                   CASE WHEN n %% 2 = 0 THEN NULL ELSE 0.91 END,
                   CASE WHEN n %% 2 = 0 THEN '{}'::jsonb ELSE %s::jsonb END,
                   '', '',
                   c.created_at + n * interval '1 minute'
            FROM conversations_conversation c CROSS JOIN generate_series(0, %s - 1) AS n
            WHERE c.store_id = %s
            """,
            [json.dumps(AI_METADATA), per_conversation, store_id],
        )
        cursor.execute(
            """
            INSERT INTO handoff_handoff
                (id, store_id, conversation_id, trigger, status, destination, summary, confidence,
                 helpdesk_ticket_id, helpdesk_ticket_url, learning_note, created_at)
            SELECT gen_random_uuid(), c.store_id, c.id, 'EXPLICIT_REQUEST', 'OPEN', 'LIVE_AGENT',
                   'Handed off because the shopper asked for a person.', 0.42, '', '', '',
                   c.last_message_at
            FROM conversations_conversation c
            WHERE c.store_id = %s AND c.status = 'HANDED_OFF'
            """,
            [store_id],
        )
        cursor.execute("ANALYZE")


def measure(client, paths: list[str], requests: int) -> dict:
    """GET ``paths`` round robin ``requests`` times (after a warm-up); latency figures in ms."""
    for path in paths[:5]:
        client.get(path)
    latencies = []
    for index in range(requests):
        path = paths[index % len(paths)]
        started = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
    latencies.sort()

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "requests": len(latencies),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1),
    }


def queries(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    return len(captured)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    bench_url, admin_url = bench_database(BENCH_DATABASE)
    recreate_database(admin_url, BENCH_DATABASE)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    try:
        setup_django(bench_url)
        from django.core.management import call_command
        from django.test import Client

        from apps.accounts.models import User
        from apps.conversations.models import Conversation
        from convix.tenancy import store_scope

        call_command("migrate", verbosity=0, interactive=False)
        started = time.monotonic()
        store_id, _token = populate(args.conversations)
        seed_messages_and_handoffs(store_id, args.messages_per_conversation)
        with store_scope(store_id):
            sample = list(
                Conversation.objects.filter(store_id=store_id)
                .order_by("?")
                .values_list("id", flat=True)[:200]
            )
        messages = args.conversations * args.messages_per_conversation
        print(
            f"Store with {args.conversations:,} conversations and {messages:,} messages ready in "
            f"{time.monotonic() - started:.0f} s."
        )

        client = Client()
        client.force_login(User.objects.get(email="bench-owner@example.com"))
        # Page 2 of the filtered list: its keyset cursor, as the page's "Older" link has it.
        from apps.conversations import selectors
        from apps.conversations.views import encode_cursor
        from apps.stores.models import Store

        with store_scope(store_id):
            page = selectors.conversation_page(
                store=Store.objects.get(pk=store_id),
                filters=selectors.ConversationFilters(status="HANDED_OFF"),
            )
        page_two = f"/dashboard/conversations?status=HANDED_OFF&after={encode_cursor(page.next_after)}"
        random.Random(5).shuffle(sample)
        pages = {
            "baseline /health": ["/health"],
            "overview /dashboard": ["/dashboard"],
            "list, first page": ["/dashboard/conversations"],
            "list, status filter + page 2": ["/dashboard/conversations?status=HANDED_OFF", page_two],
            "thread (random conversations)": [f"/dashboard/conversations/{pk}" for pk in sample],
        }
        results = {name: measure(client, paths, args.requests) for name, paths in pages.items()}
        counts = {name: queries(client, paths[-1]) for name, paths in pages.items()}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(admin_url, BENCH_DATABASE)

    baseline = results["baseline /health"]["p95_ms"]
    load = os.getloadavg()
    print(f"\nIn-process (Django test client), {args.requests} requests per page; load average {load[0]:.1f}")
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'queries':>8} {'p95 vs baseline':>16}")
    for name, figures in results.items():
        ratio = figures["p95_ms"] / baseline if baseline else 0
        print(
            f"{name:<32} {figures['p50_ms']:>8} {figures['p95_ms']:>8} {figures['p99_ms']:>8} "
            f"{counts[name]:>8} {ratio:>15.1f}x"
        )
    print("bar: overview, list and thread p95 <= 150 ms with 100,000 conversations and 1,000,000 messages")
    summary = {
        "conversations": args.conversations,
        "messages": args.conversations * args.messages_per_conversation,
        "load_average_start": round(load_start, 2),
        "load_average_end": round(load[0], 2),
        "queries": counts,
        **results,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
