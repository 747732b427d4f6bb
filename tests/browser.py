"""What the browser tests share: Debian's Chromium driven by Playwright against Convix served by
Daphne (HTTP and WebSockets) in a child process on the test database.

Playwright runs in a thread of its own (``in_thread``): its event loop must not stay behind in
the main thread, where later tests use ``async_to_sync``.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connections

SCREENSHOTS = Path(settings.BASE_DIR) / "tests" / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 30_000


def in_thread(function, *args):
    """Run ``function`` in a thread of its own; the thread's database connections (if it used
    any) are closed when it ends."""

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@contextmanager
def live_daphne(django_db_blocker):
    """The base URL of Convix served by Daphne in a child process (forked: it keeps the settings
    in force when it starts), on the test database."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.core.cache import cache

    with django_db_blocker.unblock():
        connections.close_all()  # the child must not share the parent's database sockets
        cache.clear()  # nor start with the parent's rate-limit counters (the cache is in memory)
        server = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=None))
        server.start()
        try:
            if not server.ready.wait(timeout=60):
                raise RuntimeError("The live server did not start.")
            yield f"http://127.0.0.1:{server.port.value}"
        finally:
            server.terminate()
            server.join(timeout=10)
