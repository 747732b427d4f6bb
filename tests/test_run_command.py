"""The README's first command, after its install step: ``python -m convix.run`` starts the
embedded database, migrates, loads the demo store, runs the periodic tasks, serves the dashboard,
refuses a second copy, and stops everything cleanly on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from convix import embedded_pg

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_line(process: subprocess.Popen, text: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed; output so far:\n{''.join(seen)}")


def children(pid: int) -> dict[int, str]:
    """The running child processes of ``pid``, by pid, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        if parent == pid:
            found[int(entry.name)] = command
    return found


def is_alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def get(url: str) -> tuple[int, str]:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                return response.status, response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_run_command_serves_the_demo_store_and_stops_cleanly():
    data_dir = Path(tempfile.mkdtemp(prefix="cvr-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(CONVIX_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "convix.run", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = wait_for_line(process, "Press Ctrl-C to stop.", timeout=300)
        assert "owner@alderandpine.example / demo-owner-2026" in output
        assert f"Dashboard: http://127.0.0.1:{port}/login" in output
        # The periodic tasks run beside the web server: the inbound sweeper has run once already.
        if "maintenance.sweep_inbound: {" not in output:
            output += wait_for_line(process, "maintenance.sweep_inbound: {", timeout=120)
        periodic = [pid for pid, command in children(process.pid).items() if "run_periodic" in command]
        assert len(periodic) == 1

        status, body = get(f"http://127.0.0.1:{port}/login")
        assert status == 200
        assert 'name="password"' in body

        with psycopg.connect(host=str(data_dir / "postgres"), user="postgres", dbname="convix") as conn:
            products = conn.execute(
                "SELECT count(*) FROM stores_product p JOIN stores_store s ON s.id = p.store_id "
                "WHERE s.slug = 'alder-and-pine'"
            ).fetchone()[0]
        assert products >= 100

        second = subprocess.run(
            [sys.executable, "-m", "convix.run", "--port", str(free_port())],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert embedded_pg.is_running(data_dir / "postgres")

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert not is_alive(periodic[0])
        assert "Traceback" not in process.stdout.read()
        assert not embedded_pg.is_running(data_dir / "postgres")
    finally:
        if process.poll() is None:
            process.kill()
        embedded_pg.stop(data_dir / "postgres")
        shutil.rmtree(data_dir, ignore_errors=True)
