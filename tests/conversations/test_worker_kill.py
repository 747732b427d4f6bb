"""Nothing lost, nothing sent twice: the pipeline with a real Celery worker, beat and Redis.

The test starts its own ``redis-server`` (on a free loopback port, keeping nothing on disk, like
ours), a real prefork ``celery worker`` and ``celery beat`` pointed at it and at the test
database, and sends shopper messages to the demo store through ``message_receive``. Mid-batch it

1. SIGKILLs the whole worker: the tasks it was running and had prefetched stay unacknowledged
   in Redis for the visibility timeout (an hour); a new worker is started;
2. SIGKILLs one pool process of the new worker while it works (``reject_on_worker_lost``);
3. kills Redis and starts a new one on the same port: every queued task is gone; messages keep
   arriving while Redis is down and after it is back.

Every ``ai.reply`` is also queued a second time, as a broker redelivery would, so two pool
processes race on the same inbound message. Only the ledger, its sweeper (run by beat) and the
reply's uniqueness can bring every message to exactly one outcome, which the test then checks:
one shopper message, one AI message (the reply, or the handoff notice with its Handoff) per
inbound message, and every ledger row closed.

The rows are committed (the worker must see them), from a thread outside the test's transaction,
and removed at the end, so the session's demo store is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, connections

from apps.conversations import services
from apps.conversations.models import (
    Conversation,
    InboundMessage,
    InboundOutcome,
    Message,
    MessageRole,
)
from apps.handoff.models import Handoff
from convix.celery import app as celery_app
from convix.tenancy import store_scope

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary"),
]

logger = logging.getLogger(__name__)
PROJECT_DIR = Path(settings.BASE_DIR)
# Generous: a loaded 2-core machine starts a worker (Django + the offline models) slowly.
WAIT_SECONDS = 150
QUESTIONS = [
    "how many days do I have to send something back?",
    "Do you ship to Canada?",
    "what are your store hours?",
    "do you have waterproof hiking boots?",
    "how much is shipping?",
    "can I change the size of my order?",
    "hello there",
    "I want to talk to a human",
]


def wait_for(condition, what: str, timeout: float = WAIT_SECONDS):
    """Poll ``condition`` until it returns a true value; fail naming ``what`` after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        value = condition()
        if value:
            logger.info("%s: %.1f s", what, time.monotonic() - started)
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of our own that keeps nothing on disk: a restart loses every queued task."""

    def __init__(self, port: int, folder: Path):
        self.port, self.folder, self.process = port, folder, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the server owns it
        self.process = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.ping, "redis-server to answer")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class CeleryProcess:
    """``celery -A convix <arguments>`` in its own process group, so a kill takes its children."""

    def __init__(self, name: str, arguments: list[str], env: dict, folder: Path):
        self.log_path = folder / f"{name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "convix", *arguments],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def children(self) -> list[int]:
        """The pool processes: the processes whose parent is the worker (from /proc)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                if parent == self.process.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def in_own_connection(function, *args):
    """Run ``function`` in a thread, whose database connection is outside the test's transaction.

    pytest-django wraps the test in a transaction the worker could never see; a thread has a
    connection of its own, in autocommit, so every service call commits as in production.
    """

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def remove_test_conversations(store) -> None:
    with store_scope(store):
        Conversation.objects.filter(store=store, metadata__kill_test=True).delete()


@pytest.fixture
def committed(db, demo_store):
    """The demo store; the conversations the test commits are removed after it."""
    in_own_connection(remove_test_conversations, demo_store)  # left by an interrupted run
    yield demo_store
    in_own_connection(remove_test_conversations, demo_store)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.kill()


@contextlib.contextmanager
def publishing_to(broker_url: str):
    """Make this process's Celery app publish to ``broker_url`` instead of running tasks eagerly.

    The app caches its connection and producer pools on first use (``_pool``, ``_producer_pool``);
    they are forgotten on the way in and out, so the app picks the pools of the broker in use from
    kombu's registry. The pools of the usual broker are left open: eager tasks use them too.
    """
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "task_always_eager")}

    def forget_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    forget_pools()
    conf.update(broker_url=broker_url, task_always_eager=False)
    try:
        yield
    finally:
        celery_app.pool.force_close_all()  # the test's broker: nothing else uses it
        forget_pools()
        conf.update(saved)


def test_killed_worker_and_restarted_redis_lose_nothing_and_reply_once(committed, redis_server, tmp_path):
    in_own_connection(kill_scenario, committed, redis_server, tmp_path)


def kill_scenario(store, redis_server: RedisServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_NAME": connection.settings_dict["NAME"],
        "DJANGO_SETTINGS_MODULE": "convix.settings",
        "INBOUND_SWEEP_INTERVAL_SECONDS": "2",
        "INBOUND_SWEEP_AFTER_SECONDS": "6",
        "PYTHONUNBUFFERED": "1",
    }
    worker_arguments = ["worker", "-Q", "ai,outbound,ingest,default", "-P", "prefork", "-c", "2"]
    worker_arguments += ["--without-gossip", "--without-mingle", "-l", "INFO"]
    processes: list[CeleryProcess] = []

    def start_worker(name: str) -> CeleryProcess:
        worker = CeleryProcess(name, [*worker_arguments, "-n", f"{name}@%h"], env, tmp_path)
        processes.append(worker)
        return worker

    sent: list[str] = []  # the inbound ledger ids, in order

    def send(count: int) -> None:
        for _ in range(count):
            number = len(sent)
            with store_scope(store):
                conversation = services.conversation_start(store=store, metadata={"kill_test": True})
                message, is_new = services.message_receive(
                    store=store,
                    conversation=conversation,
                    text=QUESTIONS[number % len(QUESTIONS)],
                    provider_message_id=f"kill-test-{number}",
                )
                assert is_new
                inbound = InboundMessage.objects.get(store=store, message=message)
                sent.append(str(inbound.id))
                # A second delivery of the same task, as a broker redelivery would make.
                with contextlib.suppress(Exception):
                    celery_app.tasks["ai.reply"].apply_async(
                        kwargs={"store_id": str(store.id), "inbound_id": str(inbound.id)}
                    )

    def closed() -> int:
        with store_scope(store):
            return (
                InboundMessage.objects.filter(store=store, pk__in=sent)
                .exclude(outcome=InboundOutcome.RECEIVED)
                .count()
            )

    def everything_settled() -> bool:
        """Every ledger row closed, every handoff created, nothing queued or running in Redis."""
        with store_scope(store):
            handoffs_missing = (
                InboundMessage.objects.filter(store=store, pk__in=sent, outcome=InboundOutcome.HANDED_OFF)
                .filter(conversation__handoffs__isnull=True)
                .exists()
            )
        broker = redis.Redis(port=redis_server.port, socket_timeout=5)
        # kombu keeps a delivered, not yet acknowledged message in the "unacked" hash.
        idle = not any(broker.llen(queue) for queue in ("ai", "default")) and not broker.hlen("unacked")
        return closed() == len(sent) and not handoffs_missing and idle

    try:
        with publishing_to(redis_server.url):
            processes.append(
                CeleryProcess("beat", ["beat", "-s", str(tmp_path / "schedule"), "-l", "INFO"], env, tmp_path)
            )
            first = start_worker("first")
            send(12)
            wait_for(lambda: closed() >= 3, "the first replies")
            first.kill()
            assert closed() < len(sent), "the worker was killed after the batch, not in the middle of it"

            send(6)  # queued while no worker runs
            second = start_worker("second")
            progress = closed()
            wait_for(lambda: closed() >= progress + 2, "replies from the new worker")
            pool_process = wait_for(second.children, "the new worker's pool processes")[0]
            os.kill(pool_process, signal.SIGKILL)

            progress = closed()
            wait_for(lambda: closed() >= progress + 2, "replies after a pool process died")
            redis_server.kill()
            assert closed() < len(sent), "Redis was restarted after the batch, not in the middle of it"
            send(3)  # received while Redis is down: saved and acknowledged, queued later by the sweeper
            redis_server.start()
            send(3)

            wait_for(everything_settled, "an outcome for every inbound message")
            # Late duplicates (a redelivery after the visibility timeout, a second sweep) change nothing.
            for inbound_id in sent:
                celery_app.tasks["ai.reply"].apply_async(
                    kwargs={"store_id": str(store.id), "inbound_id": inbound_id}
                )
            wait_for(everything_settled, "the late duplicates to be consumed")
    except BaseException:
        for process in processes:
            logger.error("last lines of %s:\n%s", process.log_path.name, process.log_tail())
        raise
    finally:
        for process in processes:
            process.kill()

    with store_scope(store):
        ledger = list(InboundMessage.objects.filter(store=store, pk__in=sent).select_related("conversation"))
        assert len(ledger) == len(sent) == 24
        for inbound in ledger:
            assert inbound.outcome in (InboundOutcome.REPLIED, InboundOutcome.HANDED_OFF), inbound
            assert inbound.completed_at is not None
            messages = list(Message.objects.filter(store=store, conversation=inbound.conversation))
            shopper = [message for message in messages if message.role == MessageRole.USER]
            replies = [message for message in messages if message.role != MessageRole.USER]
            assert [message.id for message in shopper] == [inbound.message_id]
            assert [(message.role, message.reply_to_id) for message in replies] == [
                (MessageRole.AI, inbound.id)
            ], inbound.provider_message_id
            handoffs = Handoff.objects.filter(store=store, conversation=inbound.conversation).count()
            assert handoffs == (1 if inbound.outcome == InboundOutcome.HANDED_OFF else 0), inbound
