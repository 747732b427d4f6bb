"""The dashboard entry point: login required, the member's own store only."""

from __future__ import annotations

import pytest

from apps.stores.middleware import SESSION_STORE_KEY
from convix.tenancy import unscoped
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/dashboard"


def test_login_page_answers(client):
    response = client.get("/login", follow=True)
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_member_sees_only_their_store(client, store, other_store, agent):
    with unscoped("tests"):
        ProductFactory(store=store)
        ProductFactory(store=other_store)
        ProductFactory(store=other_store)
    client.force_login(agent)
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.context["store"] == store
    assert response.context["counts"]["products"] == 1
    assert b"Store B" not in response.content


def test_tampered_session_store_falls_back_to_own_store(client, store, other_store, agent):
    client.force_login(agent)
    session = client.session
    session[SESSION_STORE_KEY] = str(other_store.id)
    session.save()
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.context["store"] == store
    assert client.session[SESSION_STORE_KEY] == str(store.id)


def test_user_without_a_store_gets_the_empty_state(client, outsider, store):
    """A signed-in user who belongs to no store is sent to onboarding to connect one."""
    client.force_login(outsider)
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.url == "/onboarding/connect-store"


def test_health_reports_database(client):
    response = client.get("/health")
    assert response.json() == {"status": "ok"}


def test_switching_to_a_foreign_store_changes_nothing(client, store, other_store, agent):
    client.force_login(agent)
    response = client.post("/dashboard/switch-store", {"store": str(other_store.id)})
    assert response.status_code == 302
    assert client.session[SESSION_STORE_KEY] != str(other_store.id)
    assert client.get("/dashboard").context["store"] == store


def test_switching_between_own_stores(client, store, other_store, agent):
    from apps.accounts.models import UserRole
    from tests.factories import MembershipFactory

    with unscoped("tests"):
        MembershipFactory(store=other_store, user=agent, role=UserRole.AGENT)
    client.force_login(agent)
    client.post("/dashboard/switch-store", {"store": str(other_store.id)})
    response = client.get("/dashboard")
    assert response.context["store"] == other_store
    assert b"Store A" in response.content  # the switcher lists both stores
