"""Fixtures for knowledge ingestion and retrieval: a counting wrapper around the real embedder,
a loopback page server, private URLs allowed, and a test body inside store A's scope."""

from __future__ import annotations

import pytest

from tests.fakes.http_pages import PageServer


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.model_id = inner.model_id
        self.dimensions = inner.dimensions
        self.texts: list[str] = []
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def embed(self, texts, *args, **kwargs):
        self.calls += 1
        self.texts.extend(texts)
        return self._inner.embed(texts, *args, **kwargs)


@pytest.fixture
def page_server():
    with PageServer() as server:
        yield server


@pytest.fixture
def allow_private_urls(settings):
    settings.ALLOW_PRIVATE_URLS = True


@pytest.fixture
def in_store(store):
    """The test body runs inside store A's scope, as a request or task would."""
    from convix.tenancy import store_scope

    with store_scope(store):
        yield store
