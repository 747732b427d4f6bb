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


ENV_READERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "env_url"}


def _names_read_from_the_environment(source: str) -> set[str]:
    """Variable names passed as a literal to ``env_*(...)``, ``os.environ.get(...)`` or
    ``os.getenv(...)`` in ``source``."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        function = ast.unparse(node.func)
        if function in ENV_READERS or function in ("os.environ.get", "os.getenv"):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def test_env_example_lists_every_variable_read_from_the_environment():
    import re

    read = set()
    for path in [
        PROJECT / "manage.py",
        *(PROJECT / "convix").rglob("*.py"),
        *(PROJECT / "apps").rglob("*.py"),
    ]:
        read |= _names_read_from_the_environment(path.read_text())
    assert {"DEBUG", "SECRET_KEY", "WIDGET_WAIT_SECONDS", "CONVIX_DATA_DIR"} <= read  # the scan works
    example = (PROJECT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert sorted(read - listed) == [], "read from the environment but missing from .env.example"
