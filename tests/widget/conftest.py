"""Fixtures of the widget tests.

Sockets and the live server read the database from other threads and processes, so those tests
work on committed rows (``committed``) and delete what they created, instead of flushing the
database (which would also remove the session's demo store).
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


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Database access outside a test transaction; stores and users made here are deleted after."""
    from apps.accounts.models import User
    from apps.stores.models import Store

    with django_db_blocker.unblock():
        stores_before = set(Store.objects.values_list("id", flat=True))
        users_before = set(User.objects.values_list("id", flat=True))
        yield
        with unscoped("tests"):
            Store.objects.exclude(id__in=stores_before).delete()
            User.objects.exclude(id__in=users_before).delete()


def demo_conversation_cleanup(store, since):
    """Delete the demo store's conversations created since ``since`` (committed by a live test)."""
    from apps.conversations.models import Conversation

    with unscoped("tests"):
        Conversation.objects.filter(store=store, created_at__gte=since).delete()
