"""Fixtures of the API tests: a client per persona (JWT), roles in store A, store B's objects."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import UserRole
from convix.tenancy import unscoped


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real password hashing costs most of each test's time on 2 shared cores; what is tested
    # here is the API, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def admin(store):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="admin@store-a.example", name="Ada Admin")
    with unscoped("tests"):
        MembershipFactory(store=store, user=user, role=UserRole.ADMIN)
    return user


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture
def owner_client(owner, store):
    return client_for(owner)


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def agent_client(agent):
    return client_for(agent)


@pytest.fixture
def outsider_client(outsider):
    return client_for(outsider)


@pytest.fixture
def other_client(other_owner, other_store):
    return client_for(other_owner)


def error_of(response) -> dict:
    """The error body, checked to be in the one error format."""
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    return body
