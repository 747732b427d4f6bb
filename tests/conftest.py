"""Shared fixtures: two stores and the personas owner, agent and outsider.

With DATABASE_URL unset, the suite runs on the embedded PostgreSQL (with pgvector), started
here if it is not running.
"""

from __future__ import annotations

import os

import pytest

from apps.accounts.models import UserRole
from convix.tenancy import unscoped


def pytest_configure(config):
    if not os.environ.get("DATABASE_URL", "").strip():
        from convix import embedded_pg

        embedded_pg.start()


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests create many users: hash their passwords cheaply (the product keeps its hashers)."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    hashers = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    yield
    settings.PASSWORD_HASHERS = hashers
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture
def no_scope():
    """Run the test body with store scoping disabled (set-up and assertions only)."""
    with unscoped("tests"):
        yield


@pytest.fixture
def owner(db):
    from tests.factories import UserFactory

    return UserFactory(email="owner@store-a.example", name="Olive Owner")


@pytest.fixture
def store(owner):
    from tests.factories import StoreFactory

    return StoreFactory(name="Store A", slug="store-a", owner=owner)


@pytest.fixture
def agent(store):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="agent@store-a.example", name="Avery Agent")
    with unscoped("tests"):
        MembershipFactory(store=store, user=user, role=UserRole.AGENT)
    return user


@pytest.fixture
def other_owner(db):
    from tests.factories import UserFactory

    return UserFactory(email="owner@store-b.example", name="Bo Other")


@pytest.fixture
def other_store(other_owner):
    from tests.factories import StoreFactory

    return StoreFactory(name="Store B", slug="store-b", owner=other_owner)


@pytest.fixture
def outsider(db):
    from tests.factories import UserFactory

    return UserFactory(email="outsider@example.com", name="Oscar Outsider")


@pytest.fixture(scope="session")
def demo_store(django_db_setup, django_db_blocker):
    """The demo store (and the canary store "Harbor & Thread"), loaded and indexed once per run.

    Committed outside the per-test transactions, so tests must not change it in ways they do
    not undo; each test's own writes are still rolled back.
    """
    from apps.conversations.evaluation import prepare_demo_store

    with django_db_blocker.unblock():
        return prepare_demo_store()


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker):
    """Convix served by Daphne in a child process (HTTP and WebSockets), for browser tests."""
    from tests.browser import live_daphne

    with live_daphne(django_db_blocker) as url:
        yield url


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


from tests.fakes.openai_server import openai_server  # noqa: E402, F401 - a fixture for every test module
