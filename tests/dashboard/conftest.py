"""Fixtures for the dashboard pages: a logged-in client for each role of store A."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import UserRole
from convix.tenancy import unscoped


@pytest.fixture
def admin_user(store):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="admin@store-a.example", name="Ada Admin")
    with unscoped("tests"):
        MembershipFactory(store=store, user=user, role=UserRole.ADMIN)
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner, store):
    return _client_for(owner)


@pytest.fixture
def admin_client_(admin_user):
    """A store ADMIN (named with a trailing underscore: pytest-django owns ``admin_client``)."""
    return _client_for(admin_user)


@pytest.fixture
def agent_client(agent):
    return _client_for(agent)


@pytest.fixture
def other_owner_client(other_owner, other_store):
    return _client_for(other_owner)
