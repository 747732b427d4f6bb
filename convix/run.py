"""``scripts/run``: start Convix on the embedded default and stop it cleanly.

Starts the embedded PostgreSQL (unless DATABASE_URL is set), applies migrations, loads and
indexes the demo store, runs the periodic tasks (``manage.py run_periodic``: the inbound sweeper
and the re-queue of stuck ingestion, as Celery beat would) and serves HTTP and WebSockets with
daphne; on Ctrl-C (or SIGTERM) it stops daphne and the periodic tasks, then the database. A second run while one is going says so and leaves the first alone.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from convix import embedded_pg


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Convix on its embedded default.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo store")
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")
    embedded = not os.environ.get("DATABASE_URL", "").strip()
    data_dir = embedded_pg.data_dir().parent
    data_dir.mkdir(parents=True, exist_ok=True)

    lock_file = open(Path(data_dir) / "run.lock", "w")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            f"Convix is already running from this folder (lock: {lock_file.name}). Stop it first.",
            file=sys.stderr,
        )
        return 1

    if embedded:
        print(f"==> Starting the embedded PostgreSQL in {embedded_pg.data_dir()}")
        embedded_pg.start()
    server = periodic = None
    try:
        print("==> Applying migrations")
        _manage("migrate", "--no-input", "-v", "0")
        _manage("collectstatic", "--no-input", "-v", "0")
        if not options.no_demo:
            print("==> Loading and indexing the demo store")
            _manage("load_demo")
        print("==> Starting the periodic tasks (inbound sweeper, stuck ingestion)")
        periodic = subprocess.Popen([sys.executable, "manage.py", "run_periodic"])  # noqa: S603
        url = f"http://{options.host}:{options.port}"
        print(
            f"\nConvix is running.\n  Dashboard: {url}/login\n  Admin:     {url}/admin/\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                options.host,
                "-p",
                str(options.port),
                "convix.asgi:application",
            ]
        )

        def _stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (server, periodic):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        if embedded:
            print("==> Stopping the embedded PostgreSQL")
            embedded_pg.stop()


if __name__ == "__main__":
    sys.exit(main())
