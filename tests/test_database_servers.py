"""The embedded PostgreSQL (start, reuse, stale pid file, clean stop) and the clear error on a
server without pgvector."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from convix import embedded_pg

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_folder():
    # Short, outside /root: the server runs as its own OS user and needs a short socket path.
    path = Path(tempfile.mkdtemp(prefix="cvx-", dir="/tmp")) / "postgres"
    yield path
    embedded_pg.stop(path)
    shutil.rmtree(path.parent, ignore_errors=True)


def query(socket: Path, sql: str):
    with psycopg.connect(host=str(socket), user="postgres", dbname=embedded_pg.DATABASE_NAME) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.mark.slow
def test_embedded_server_starts_reuses_survives_a_stale_pid_file_and_stops(data_folder):
    socket = embedded_pg.start(data_folder)
    assert embedded_pg.is_running(data_folder)
    query(socket, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('still here');")
    version = query(socket, "SHOW server_version")[0][0]
    assert version.startswith("18.")
    available = {row[0] for row in query(socket, "SELECT name FROM pg_available_extensions")}
    assert {"vector", "pg_trgm"} <= available

    # Starting again reuses the running server.
    pid = (data_folder / "postmaster.pid").read_text().splitlines()[0]
    assert embedded_pg.start(data_folder) == socket
    assert (data_folder / "postmaster.pid").read_text().splitlines()[0] == pid

    # A crash leaves a postmaster.pid behind: simulate it after a clean stop.
    stale = (data_folder / "postmaster.pid").read_text()
    embedded_pg.stop(data_folder)
    assert not embedded_pg.is_running(data_folder)
    (data_folder / "postmaster.pid").write_text(stale.replace(pid, "999999", 1))
    embedded_pg.start(data_folder)
    assert query(socket, "SELECT value FROM kept") == [("still here",)]

    embedded_pg.stop(data_folder)
    assert not embedded_pg.is_running(data_folder)


def test_data_folder_under_root_is_refused_with_the_fix():
    if os.geteuid() != 0:
        pytest.skip("only root triggers the /root check")
    with pytest.raises(SystemExit, match="outside /root"):
        embedded_pg.check_location(Path("/root/somewhere/postgres"))


def test_too_long_socket_path_is_refused_with_the_fix():
    with pytest.raises(SystemExit, match="CONVIX_DATA_DIR"):
        embedded_pg.check_location(Path("/tmp/" + "x" * 120))


def loopback_postgres_url() -> str | None:
    url = os.environ.get("NO_PGVECTOR_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            has_vector = conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return None
    return None if has_vector else url


def test_server_without_pgvector_gets_a_clear_error_naming_the_fix():
    url = loopback_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL without pgvector on 127.0.0.1:5432 to test against")
    name = "convix_no_pgvector_check"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    target = url.rsplit("/", 1)[0] + f"/{name}"
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=PROJECT,
            env={**os.environ, "DATABASE_URL": target},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert result.returncode != 0
    assert "does not have pgvector" in result.stderr
    assert "apt-get install postgresql-15-pgvector" in result.stderr
    assert "unset DATABASE_URL" in result.stderr
