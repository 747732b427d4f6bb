"""Fixtures of the pipeline tests: the demo store in scope, and the LLM path on the fake
OpenAI-compatible server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import pytest

from convix.tenancy import store_scope


@pytest.fixture
def scoped(demo_store):
    with store_scope(demo_store):
        yield demo_store


@pytest.fixture
def llm(settings, openai_server):
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_MODEL = "gpt-test"
    settings.OPENAI_TIMEOUT_SECONDS = 2.0
    settings.OPENAI_MAX_RETRIES = 1
    return openai_server
