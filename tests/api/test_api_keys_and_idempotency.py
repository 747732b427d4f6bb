"""Store API keys (shown once, stored hashed, one store only) and the Idempotency-Key header."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.test import APIClient

from apps.stores.models import ApiKey
from apps.training.models import TrainingDoc
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def api_key(admin_client, store):
    response = admin_client.post(f"/v1/stores/{store.pk}/api-keys", {"name": "ERP sync"}, format="json")
    assert response.status_code == 201
    return response.json()


def test_key_is_shown_once_and_stored_hashed(admin_client, store, api_key):
    key = api_key["key"]
    assert key.startswith("cvx_") and api_key["prefix"] == key[:12]
    with unscoped("tests"):
        stored = ApiKey.objects.get(pk=api_key["id"])
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    listed = admin_client.get(f"/v1/stores/{store.pk}/api-keys")
    assert key not in listed.content.decode() and "key" not in listed.json()["results"][0]


def test_key_works_in_its_store_only(store, other_store, api_key):
    client = key_client(api_key["key"])
    assert client.get(f"/v1/stores/{store.pk}/conversations").status_code == 200
    assert [s["id"] for s in client.get("/v1/stores").json()["results"]] == [str(store.pk)]
    assert client.get(f"/v1/stores/{other_store.pk}/conversations").status_code == 404
    # It acts as an admin: never as the owner, and it cannot manage keys or use /auth/me.
    assert client.delete(f"/v1/stores/{store.pk}?confirm=store-a").status_code == 403
    assert client.get(f"/v1/stores/{store.pk}/api-keys").status_code == 403
    assert client.get("/v1/auth/me").status_code == 401
    assert client.post("/v1/stores", {"name": "Mine"}, format="json").status_code == 403


def test_revoked_or_wrong_key_is_refused(admin_client, store, api_key):
    assert key_client("cvx_not-a-real-key").get(f"/v1/stores/{store.pk}").status_code == 401
    assert key_client("nonsense").get(f"/v1/stores/{store.pk}").status_code == 401
    assert admin_client.delete(f"/v1/stores/{store.pk}/api-keys/{api_key['id']}").status_code == 204
    response = key_client(api_key["key"]).get(f"/v1/stores/{store.pk}")
    assert response.status_code == 401 and error_of(response)["message"] == "Invalid API key."


def test_api_key_validation(admin_client, store):
    response = admin_client.post(
        f"/v1/stores/{store.pk}/api-keys", {"name": "x", "role": "OWNER"}, format="json"
    )
    assert response.status_code == 400 and set(error_of(response)["fields"]) == {"role"}


def test_idempotency_key_replays_the_first_answer(admin_client, store):
    url = f"/v1/stores/{store.pk}/training"
    body = {"type": "FAQ", "title": "Gift wrap?", "content": "Yes, for $5."}
    first = admin_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    again = admin_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    with unscoped("tests"):
        assert TrainingDoc.objects.count() == 1
    different = admin_client.post(
        url, {**body, "title": "Other?"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
    )
    assert different.status_code == 422 and error_of(different)["code"] == "idempotency_key_reused"
    # Without the header, or with another key, each POST is its own.
    assert admin_client.post(url, {**body, "title": "Third?"}, format="json").status_code == 201
    with unscoped("tests"):
        assert TrainingDoc.objects.count() == 2


def test_store_endpoints_are_throttled_per_store(admin_client, agent_client, store, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "store": "2/min"}
    url = f"/v1/stores/{store.pk}/conversations"
    assert admin_client.get(url).status_code == 200
    assert agent_client.get(url).status_code == 200
    refused = admin_client.get(url)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert error_of(refused)["code"] == "throttled"
