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
