"""Fixtures of the widget tests.

Sockets and the live server read the database from other threads and processes, so those tests
work on committed rows (``committed``, in tests/conftest.py) and delete what they created, instead
of flushing the database (which would also remove the session's demo store).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from convix.tenancy import unscoped


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def demo_conversation_cleanup(store, since):
    """Delete the demo store's conversations created since ``since`` (committed by a live test)."""
    from apps.conversations.models import Conversation

    with unscoped("tests"):
        Conversation.objects.filter(store=store, created_at__gte=since).delete()
