"""Stores: list, create, get, update, delete (owner, explicit), settings with write-only keys."""

from __future__ import annotations

import pytest

from apps.conversations.models import Conversation
from apps.stores.models import Store, StoreMembership, StoreSettings
from convix.tenancy import unscoped
from tests.api.conftest import client_for, error_of
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_list_shows_only_my_stores_with_my_role(agent_client, store, other_store):
    body = agent_client.get("/v1/stores").json()
    assert [(s["name"], s["role"]) for s in body["results"]] == [("Store A", "AGENT")]
    assert "identity_secret" not in body["results"][0]


def test_create_makes_me_owner_with_settings(outsider, outsider_client):
    response = outsider_client.post("/v1/stores", {"name": "Fjord & Fell", "currency": "EUR"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "fjord-fell" and body["role"] == "OWNER" and body["plan_tier"] == "STARTER"
    store = Store.objects.get(pk=body["id"])
    with unscoped("tests"):
        assert StoreSettings.objects.filter(store=store).exists()
        assert StoreMembership.objects.get(store=store, user=outsider).role == "OWNER"


def test_create_validation(outsider_client, store):
    before = Store.objects.count()  # the session's demo stores may exist too
    response = outsider_client.post(
        "/v1/stores", {"name": "", "slug": "store-a", "plan_tier": "PRO"}, format="json"
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"name", "plan_tier"}
    response = outsider_client.post("/v1/stores", {"name": "X", "slug": "store-a"}, format="json")
    assert error_of(response)["fields"] == {"slug": ["This slug is taken."]}
    assert Store.objects.count() == before


def test_admin_updates_profile(admin_client, store):
    response = admin_client.patch(
        f"/v1/stores/{store.pk}", {"name": "Store A+", "timezone": "Europe/Oslo"}, format="json"
    )
    assert response.status_code == 200
    store.refresh_from_db()
    assert (store.name, store.timezone) == ("Store A+", "Europe/Oslo")
    bad = admin_client.patch(f"/v1/stores/{store.pk}", {"timezone": "Mars/Olympus"}, format="json")
    assert set(error_of(bad)["fields"]) == {"timezone"}


def test_owner_deletes_store_and_its_data_with_confirmation(owner_client, store, other_store):
    with unscoped("tests"):
        ConversationFactory(store=store)
        ConversationFactory(store=other_store)
    unconfirmed = owner_client.delete(f"/v1/stores/{store.pk}?confirm=wrong")
    assert unconfirmed.status_code == 400 and set(error_of(unconfirmed)["fields"]) == {"confirm"}
    assert owner_client.delete(f"/v1/stores/{store.pk}").status_code == 400
    assert Store.objects.filter(pk=store.pk).exists()
    assert owner_client.delete(f"/v1/stores/{store.pk}?confirm=store-a").status_code == 204
    assert not Store.objects.filter(pk=store.pk).exists()
    with unscoped("tests"):
        assert list(Conversation.objects.values_list("store", flat=True)) == [other_store.pk]


def test_settings_secrets_are_write_only(admin_client, store):
    response = admin_client.patch(
        f"/v1/stores/{store.pk}/settings",
        {
            "zendesk_api_token": "zd-secret-123",
            "confidence_threshold": 0.7,
            "business_hours": {"mon": [["08:00", "16:00"]]},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert "zd-secret-123" not in response.content.decode()
    assert body["zendesk_api_token_set"] is True and body["confidence_threshold"] == 0.7
    # A blank value keeps the saved key; null clears it.
    admin_client.patch(f"/v1/stores/{store.pk}/settings", {"zendesk_api_token": ""}, format="json")
    with unscoped("tests"):
        assert StoreSettings.objects.get(store=store).zendesk_api_token == "zd-secret-123"
    admin_client.patch(f"/v1/stores/{store.pk}/settings", {"zendesk_api_token": None}, format="json")
    with unscoped("tests"):
        assert not StoreSettings.objects.get(store=store).zendesk_api_token


def test_settings_validation(admin_client, store):
    response = admin_client.patch(
        f"/v1/stores/{store.pk}/settings",
        {"confidence_threshold": 1.5, "primary_color": "blue", "business_hours": {"funday": []}},
        format="json",
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"confidence_threshold", "primary_color", "business_hours"}
    with unscoped("tests"):
        assert StoreSettings.objects.get(store=store).confidence_threshold == 0.65


def test_agent_cannot_read_settings(agent_client, store):
    assert agent_client.get(f"/v1/stores/{store.pk}/settings").status_code == 403


def test_admin_cannot_delete_store(admin_client, store):
    assert admin_client.delete(f"/v1/stores/{store.pk}?confirm=store-a").status_code == 403
    assert Store.objects.filter(pk=store.pk).exists()


def test_store_of_another_owner_is_404(other_owner, store):
    assert client_for(other_owner).get(f"/v1/stores/{store.pk}").status_code == 404
