"""Missing or malformed environment values fail at start-up, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def start_django(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=PROJECT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "convix.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "Environment variable DEBUG='maybe' is not a boolean"),
        (
            "DATABASE_URL",
            "mysql://root@localhost/convix",
            "Environment variable DATABASE_URL must be a PostgreSQL URL",
        ),
        ("REDIS_URL", "localhost:6379", "Environment variable REDIS_URL is not a valid URL"),
        (
            "JWT_ACCESS_TOKEN_MINUTES",
            "fifteen",
            "Environment variable JWT_ACCESS_TOKEN_MINUTES='fifteen' is not an integer",
        ),
        ("JWT_REFRESH_TOKEN_DAYS", "0", "Environment variable JWT_REFRESH_TOKEN_DAYS='0' must be at least 1"),
        ("OPENAI_BASE_URL", "ftp://models", "Environment variable OPENAI_BASE_URL is not a valid URL"),
        (
            "OPENAI_TIMEOUT_SECONDS",
            "soon",
            "Environment variable OPENAI_TIMEOUT_SECONDS='soon' is not a number",
        ),
        (
            "EMBEDDINGS_PROVIDER",
            "magic",
            "Environment variable EMBEDDINGS_PROVIDER must be 'offline' or 'openai'",
        ),
    ],
)
def test_malformed_variable_is_named_at_start_up(name, value, message):
    result = start_django(**{name: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "started" not in result.stdout


def test_starts_with_nothing_set():
    result = start_django()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
