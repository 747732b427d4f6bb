"""Widget benchmark: open widget sockets on one web process, push-to-arrival, POST message.

    python -m benchmarks.widget [--sockets 5000] [--pushes 300] [--shoppers 20] [--messages 15] [--keep]

In its own database (``convix_bench_widget``): loads and indexes the demo store, starts ONE Daphne
process (``convix.asgi``, in-memory channel layer, background work in-process as in the embedded
default) and drives it from this process with aiohttp:

- holds ``--sockets`` widget sockets open (each joined to its own conversation) and reports the
  server's resident memory per socket;
- push-to-arrival: a human agent's message sent on the dashboard socket until it arrives on the
  shopper's widget socket (DB write + event fan-out), with all sockets open; baseline in the same
  run: ping → pong on a widget socket (the transport alone);
- ``POST /v1/widget/<id>/message`` with ``wait`` (the offline engine's reply in the response)
  from ``--shoppers`` concurrent shoppers, each pausing ``--think`` seconds between messages;
  baseline in the same run: ``GET .../config`` by the same shoppers.

With ``--distributed`` it measures ``POST message`` alone in the production topology instead
(README "Distributed mode"): gunicorn (2 workers × 8 threads) for HTTP, a Celery worker
(``--worker-concurrency`` processes) running the agent, Redis (``--redis-url``) as broker, cache
and channel layer; the request waits for the worker's reply by polling the ledger.

Bars (issue 4): 5,000 sockets held; push p95 <= 50 ms; POST message p95 <= 200 ms.
The last line is one JSON object of the figures. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.agent import summary
from benchmarks.retrieval import bench_database, drop_database, recreate_database, setup_django

DATABASE = "convix_bench_widget"
QUESTIONS = [
    "How much does shipping cost?",
    "Do you ship to Canada?",
    "How long do I have to return something?",
    "Can you recommend a 2 person backpacking tent?",
    "I need a warm sleeping bag under $250",
    "What payment methods do you take?",
    "Do you price match?",
    "Is the Juniper UL 2P in stock?",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def prepare(sockets: int):
    """Demo store, indexed; one conversation per socket; an agent session; tokens."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from apps.accounts.models import User
    from apps.channels.models import Channel, ChannelType
    from apps.channels.widget.services import token_for
    from apps.conversations.models import Conversation, ConvStatus
    from apps.stores.models import Store
    from convix.tenancy import store_scope

    # Unlimited plan: the benchmark opens more conversations than the demo plan allows a month.
    Store.objects.filter(slug="alder-and-pine").update(plan_tier="ENTERPRISE")
    store = Store.objects.get(slug="alder-and-pine")
    agent = User.objects.get(email="agent@alderandpine.example")
    with store_scope(store):
        from celery import current_app

        current_app.conf.task_always_eager = True
        channel = Channel.objects.get(store=store, type=ChannelType.WEB_WIDGET)
        # Held by the agent already, as in a busy afternoon: pushes measure the steady state.
        conversations = Conversation.objects.bulk_create(
            [
                Conversation(
                    store=store,
                    channel=channel,
                    channel_type=ChannelType.WEB_WIDGET,
                    status=ConvStatus.HANDED_OFF,
                    assigned_agent=agent,
                )
                for _ in range(sockets)
            ],
            batch_size=1000,
        )
        tokens = [(str(c.id), token_for(c)) for c in conversations]
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    return store, tokens, session.session_key


class Listener:
    """A client socket that is always read (so the server's keep-alive pings get their pongs)."""

    def __init__(self, ws):
        self.ws = ws
        self.frames: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        import aiohttp

        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.frames.put_nowait(json.loads(message.data))

    async def send(self, frame: dict):
        await self.ws.send_str(json.dumps(frame))

    async def next(self, timeout=30) -> dict:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def close(self):
        await self.ws.close()
        self.task.cancel()


async def open_widget_sockets(http, base_ws, store_id, tokens, concurrency=100):
    sockets: list = [None] * len(tokens)
    limiter = asyncio.Semaphore(concurrency)

    async def one(index, token):
        async with limiter:
            for attempt in range(5):
                try:
                    ws = await http.ws_connect(
                        f"{base_ws}/ws/widget/{store_id}/",
                        headers={"Origin": base_ws.replace("ws", "http", 1)},
                    )
                    await ws.send_str(json.dumps({"type": "join", "conversation": token}))
                    frame = json.loads((await ws.receive(timeout=60)).data)
                    if frame.get("type") == "joined":
                        sockets[index] = Listener(ws)
                        return
                    await ws.close()
                except Exception:  # noqa: BLE001 - retried with backoff, counted if it never works
                    await asyncio.sleep(0.2 * (attempt + 1) + random.random() * 0.2)

    await asyncio.gather(*(one(i, token) for i, (_, token) in enumerate(tokens)))
    return sockets


async def measure_pushes(sockets, conversation_ids, agent_ws, pushes):
    """Agent message → arrival on the shopper's socket, one at a time."""
    times = []
    rng = random.Random(7)
    indexes = [i for i, ws in enumerate(sockets) if ws is not None]
    for number in range(pushes):
        index = rng.choice(indexes)
        ws = sockets[index]
        text = f"push {number}"
        started = time.perf_counter()
        await agent_ws.send(
            {"type": "agent:message", "conversation_id": conversation_ids[index], "text": text}
        )
        while True:
            frame = await ws.next()
            if frame.get("type") == "message" and frame["message"]["text"] == text:
                break
        times.append(time.perf_counter() - started)
    return times


async def measure_pings(sockets, count):
    times = []
    rng = random.Random(3)
    live = [ws for ws in sockets if ws is not None]
    for _ in range(count):
        ws = rng.choice(live)
        started = time.perf_counter()
        await ws.send({"type": "ping"})
        while (await ws.next()).get("type") != "pong":
            pass
        times.append(time.perf_counter() - started)
    return times


async def shoppers_posting(http, base, store_id, shoppers, messages, think, *, config_only):
    times: list[float] = []
    errors = 0

    async def shopper(number):
        nonlocal errors
        rng = random.Random(number)
        async with http.post(f"{base}/v1/widget/{store_id}/conversation", json={}) as response:
            token = (await response.json())["conversation"]
        await asyncio.sleep(rng.random() * think)
        for turn in range(messages):
            started = time.perf_counter()
            if config_only:
                async with http.get(f"{base}/v1/widget/{store_id}/config") as response:
                    ok = response.status == 200
                    await response.read()
            else:
                body = {
                    "conversation": token,
                    "text": QUESTIONS[(number + turn) % len(QUESTIONS)],
                    "wait": True,
                }
                async with http.post(f"{base}/v1/widget/{store_id}/message", json=body) as response:
                    ok = response.status == 200
                    await response.read()
            times.append(time.perf_counter() - started)
            errors += 0 if ok else 1
            await asyncio.sleep(think * (0.5 + rng.random()))

    await asyncio.gather(*(shopper(n) for n in range(shoppers)))
    return times, errors


async def drive(options, base, store_id, tokens, session_key, server_pid):
    import aiohttp

    base_ws = base.replace("http", "ws", 1)
    results: dict = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        if not options.distributed:
            await drive_sockets(
                options, http, base, base_ws, store_id, tokens, session_key, server_pid, results
            )
        # Warm the server's models (first reply loads them) before measuring.
        async with http.post(f"{base}/v1/widget/{store_id}/conversation", json={}) as response:
            token = (await response.json())["conversation"]
        async with http.post(
            f"{base}/v1/widget/{store_id}/message", json={"conversation": token, "text": "hi", "wait": True}
        ) as response:
            await response.read()
        config_times, config_errors = await shoppers_posting(
            http, base, store_id, options.shoppers, options.messages, options.think, config_only=True
        )
        post_times, post_errors = await shoppers_posting(
            http, base, store_id, options.shoppers, options.messages, options.think, config_only=False
        )
        results["baseline_get_config"] = {**summary(config_times), "errors": config_errors}
        results["post_message_wait"] = {**summary(post_times), "errors": post_errors}
    return results


async def drive_sockets(options, http, base, base_ws, store_id, tokens, session_key, server_pid, results):
    """The socket phases: sockets held, ping → pong baseline, push-to-arrival."""
    rss_before = rss_kb(server_pid)
    started = time.perf_counter()
    sockets = await open_widget_sockets(http, base_ws, store_id, tokens)
    opened = sum(ws is not None for ws in sockets)
    await asyncio.sleep(2)
    rss_after = rss_kb(server_pid)
    results["sockets"] = {
        "target": len(tokens),
        "open": opened,
        "open_seconds": round(time.perf_counter() - started, 1),
        "server_rss_mb_before": round(rss_before / 1024, 1),
        "server_rss_mb_after": round(rss_after / 1024, 1),
        "kb_per_socket": round((rss_after - rss_before) / max(opened, 1), 1),
    }
    agent_ws = await http.ws_connect(
        f"{base_ws}/ws/dashboard/{store_id}/",
        headers={"Origin": base, "Cookie": f"sessionid={session_key}"},
    )
    agent = Listener(agent_ws)
    still_open = sum(1 for ws in sockets if ws is not None and not ws.ws.closed)
    results["sockets"]["still_open_before_pushes"] = still_open
    conversation_ids = [conversation_id for conversation_id, _ in tokens]
    results["baseline_ping_pong"] = summary(await measure_pings(sockets, options.pushes))
    results["push_to_arrival"] = summary(
        await measure_pushes(sockets, conversation_ids, agent, options.pushes)
    )
    await agent.close()
    for ws in sockets:
        if ws is not None:
            await ws.close()


def start_distributed(environment: dict, options, port: int) -> list[subprocess.Popen]:
    """gunicorn for HTTP and a Celery worker for the agent, on Redis (the Procfile's topology)."""
    import redis

    redis.Redis.from_url(options.redis_url).flushdb()  # its own Redis database: no stale tasks
    web = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "gunicorn", "convix.wsgi:application", "--workers", "2",
            "--worker-class", "gthread", "--threads", "8", "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "celery", "-A", "convix", "worker", "-Q", "ai,outbound,ingest,default",
            "--concurrency", str(options.worker_concurrency), "--prefetch-multiplier", "1", "-O", "fair",
            "-l", "warning",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return [web, worker]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=15, help="messages per shopper")
    parser.add_argument("--think", type=float, default=2.0, help="seconds a shopper pauses between messages")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="POST message only, with gunicorn, a Celery worker and Redis",
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    options = parser.parse_args(argv)
    if options.distributed:
        options.sockets = 0

    url, admin_url = bench_database(DATABASE)
    recreate_database(admin_url, DATABASE)
    setup_django(url)
    results: dict = {"load_average_start": load_average(), "options": vars(options)}
    server = None
    helpers: list[subprocess.Popen] = []
    try:
        store, tokens, session_key = prepare(options.sockets)
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            "WIDGET_RATE_MESSAGES": "1000000/minute",
            "WIDGET_RATE_CONVERSATIONS": "1000000/minute",
            "WIDGET_RATE_CONFIG": "1000000/minute",
            "WIDGET_SOCKET_FRAMES_PER_10S": "100000",
            "LOG_LEVEL": "WARNING",
        }
        environment.pop("REDIS_URL", None)
        if options.distributed:
            environment["REDIS_URL"] = options.redis_url
            helpers.extend(start_distributed(environment, options, port))
            server = helpers[0]
        else:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "convix.asgi:application",
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        base = f"http://127.0.0.1:{port}"
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).read()  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        from django.db import connections

        connections.close_all()
        results.update(asyncio.run(drive(options, base, str(store.id), tokens, session_key, server.pid)))
    finally:
        for process in helpers or ([server] if server is not None else []):
            process.terminate()
            process.wait(timeout=30)
        if not options.keep:
            from django.db import connections

            connections.close_all()
            drop_database(admin_url, DATABASE)
    results["load_average_end"] = load_average()

    if not options.distributed:
        s = results["sockets"]
        print(
            f"widget sockets open: {s['open']} of {s['target']} in {s['open_seconds']} s; server RSS "
            f"{s['server_rss_mb_before']} → {s['server_rss_mb_after']} MB ({s['kb_per_socket']} KB per socket)"
        )
    for key in ("baseline_ping_pong", "push_to_arrival", "baseline_get_config", "post_message_wait"):
        if key not in results:
            continue
        row = results[key]
        print(
            f"{key:22} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
        )
    print("bars: 5,000 sockets; push p95 <= 50 ms; POST message p95 <= 200 ms (20 shoppers)")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
