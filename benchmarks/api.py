"""The REST API under load: an authenticated conversation list page, against /health.

    python -m benchmarks.api [--conversations 100000] [--seconds 10] [--clients 6] [--keep]

The bar (issue 6): an authenticated ``GET /v1/stores/<id>/conversations`` page (25 rows) at
≥ 300 requests/s and p95 ≤ 50 ms on 2 cores, one gunicorn worker per core, with a store of
100,000 conversations. This script prints the figures; it asserts nothing.

What it does, in its own database (``convix_bench_api``; product data is never touched):

1. Creates and migrates the database (the embedded server when DATABASE_URL is unset).
2. Creates one store with its owner, 5,000 customers and ``--conversations`` conversations
   spread over 90 days and four channels (bulk inserts), then ANALYZE.
3. Starts ``gunicorn convix.wsgi`` with 2 sync workers on a free loopback port, with rate
   limits raised out of the way.
4. Runs, for ``--seconds`` each, ``--clients`` concurrent client threads against: the
   baseline ``GET /health`` (one ``SELECT 1``), then the conversation list with a JWT, then
   the same with a status filter and a second page (cursor). Every response must be 200.
5. Prints requests/s, p50, p95 and p99 for each, and the list's throughput as a share of the
   baseline measured in the same run, then one JSON line. The clients run on the same 2 cores
   as the server, so these are lower bounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.retrieval import bench_database, drop_database, recreate_database

BENCH_DATABASE = "convix_bench_api"
ROOT = Path(__file__).resolve().parent.parent


def setup_django(bench_url: str) -> None:
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")
    import django

    django.setup()


def populate(conversations: int) -> tuple[str, str]:
    """Create the store and its conversations; returns (store id, access token)."""
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.accounts.models import User
    from apps.conversations.models import Conversation, Customer
    from apps.stores.services import store_create
    from convix.tenancy import store_scope

    owner = User.objects.create_user(email="bench-owner@example.com", password=None)  # signs in by token only
    store = store_create(owner=owner, name="Bench Outfitters")
    rng = random.Random(7)
    now = timezone.now()
    channels = ["WEB_WIDGET", "WHATSAPP", "EMAIL", "SMS"]
    statuses = ["ACTIVE", "RESOLVED", "RESOLVED", "HANDED_OFF", "ABANDONED"]
    with store_scope(store):
        customers = Customer.objects.bulk_create(
            [
                Customer(store=store, email=f"shopper{i}@example.com", name=f"Shopper {i}")
                for i in range(5000)
            ],
            batch_size=2000,
        )
        batch = []
        for index in range(conversations):
            started = now - timedelta(seconds=rng.randint(0, 90 * 24 * 3600))
            batch.append(
                Conversation(
                    store=store,
                    customer=customers[index % len(customers)],
                    channel_type=rng.choice(channels),
                    status=rng.choice(statuses),
                    subject=f"Question {index}",
                    sentiment=rng.uniform(-1, 1),
                    intent_score=rng.random(),
                    last_message_at=started + timedelta(minutes=rng.randint(0, 600)),
                )
            )
            if len(batch) == 5000:
                Conversation.objects.bulk_create(batch)
                batch.clear()
        if batch:
            Conversation.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return str(store.id), str(RefreshToken.for_user(owner).access_token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(bench_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DEBUG": "false",
        "API_THROTTLE_AUTH": "100000000/min",
        "API_THROTTLE_STORE": "100000000/min",
        "API_THROTTLE_USER": "100000000/min",
        "API_THROTTLE_PUBLIC": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "gunicorn",
            "convix.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = request(port, "/health", {})
            if status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start within 60 s.")


def request(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def load(port: int, paths: list[str], headers: dict, *, seconds: float, clients: int) -> dict:
    """Hit ``paths`` (round robin) from ``clients`` threads for ``seconds``; latency figures."""
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        mine, index = [], offset
        while time.monotonic() < stop:
            path = paths[index % len(paths)]
            index += 1
            started = time.perf_counter()
            status, body = request(port, path, headers)
            mine.append(time.perf_counter() - started)
            if status != 200:
                errors.append((status, body[:200]))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    bench_url, admin_url = bench_database(BENCH_DATABASE)
    recreate_database(admin_url, BENCH_DATABASE)
    server = None
    try:
        setup_django(bench_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        started = time.monotonic()
        store_id, token = populate(args.conversations)
        print(f"Store with {args.conversations:,} conversations ready in {time.monotonic() - started:.0f} s.")
        from django.db import connections

        connections.close_all()
        port = free_port()
        server = start_server(bench_url, port)
        auth = {"Authorization": f"Bearer {token}"}
        list_path = f"/v1/stores/{store_id}/conversations"
        status, body = request(port, list_path, auth)
        assert status == 200, body[:300]
        second_page = urlparse(json.loads(body)["next"])
        second_page_path = f"{second_page.path}?{second_page.query}"
        # Warm both workers' connections and caches.
        load(port, ["/health", list_path], auth, seconds=2, clients=args.clients)
        results = {
            "baseline /health": load(port, ["/health"], {}, seconds=args.seconds, clients=args.clients),
            "conversation list (page 1)": load(
                port, [list_path], auth, seconds=args.seconds, clients=args.clients
            ),
            "filtered + page 2": load(
                port,
                [f"{list_path}?status=RESOLVED", second_page_path],
                auth,
                seconds=args.seconds,
                clients=args.clients,
            ),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(admin_url, BENCH_DATABASE)

    baseline = results["baseline /health"]["rps"]
    print(
        f"\n2 gunicorn sync workers, {args.clients} client threads on the same machine, {args.seconds:.0f} s each"
    )
    print(f"{'endpoint':<30} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'vs baseline':>12}")
    for name, figures in results.items():
        share = figures["rps"] / baseline if baseline else 0
        print(
            f"{name:<30} {figures['rps']:>8} {figures['p50_ms']:>8} {figures['p95_ms']:>8} "
            f"{figures['p99_ms']:>8} {share:>11.2f}x"
        )
    print("bar: conversation list >= 300 req/s and p95 <= 50 ms")
    summary = {"conversations": args.conversations, "clients": args.clients, **results}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
