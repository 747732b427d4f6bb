"""Channels: add, list with status, change, remove, test a connection; secrets never returned."""

from __future__ import annotations

import pytest

from apps.channels.models import Channel
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

SECRET = "EAAG-very-secret-token"


def url(store, suffix=""):
    return f"/v1/stores/{store.pk}/channels{suffix}"


def test_add_list_test_update_remove(admin_client, store):
    created = admin_client.post(
        url(store),
        {
            "type": "WHATSAPP",
            "name": "Support line",
            "config": {"phone_number_id": "1234567", "access_token": SECRET},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert SECRET not in created.content.decode()
    assert body["config_keys"] == ["access_token", "phone_number_id"]
    assert body["public_config"] == {"phone_number_id": "1234567"}
    assert body["status"] == "PENDING"
    with unscoped("tests"):
        channel = Channel.objects.get(pk=body["id"])
        assert channel.config["access_token"] == SECRET and channel.routing_key == "1234567"

    listed = admin_client.get(url(store))
    assert [c["id"] for c in listed.json()["results"]] == [body["id"]]
    assert SECRET not in listed.content.decode()

    tested = admin_client.post(url(store, f"/{body['id']}/test"), {}, format="json")
    assert tested.status_code == 200 and tested.json()["status"] == "CONNECTED"

    # Changing settings merges them (the secret is kept) and asks for a new test.
    updated = admin_client.patch(
        url(store, f"/{body['id']}"), {"config": {"display_phone_number": "+1 303"}}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["status"] == "PENDING"
    with unscoped("tests"):
        assert Channel.objects.get(pk=body["id"]).config["access_token"] == SECRET

    # Removing a required setting makes the update invalid and changes nothing.
    bad = admin_client.patch(url(store, f"/{body['id']}"), {"config": {"access_token": None}}, format="json")
    assert bad.status_code == 400 and error_of(bad)["fields"] == {
        "config.access_token": ["This setting is required."]
    }
    with unscoped("tests"):
        assert Channel.objects.get(pk=body["id"]).config["access_token"] == SECRET

    assert admin_client.delete(url(store, f"/{body['id']}")).status_code == 204
    with unscoped("tests"):
        assert not Channel.objects.filter(pk=body["id"]).exists()


def test_add_validation(admin_client, store):
    response = admin_client.post(
        url(store), {"type": "SLACK", "config": {"team_id": "T1", "colour": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "config.bot_token": ["This setting is required."],
        "config.colour": ["Not a setting of a SLACK channel."],
    }
    response = admin_client.post(url(store), {"type": "PIGEON"}, format="json")
    assert set(error_of(response)["fields"]) == {"type"}
    with unscoped("tests"):
        assert not Channel.objects.exists()


def test_identifier_taken_by_another_store_is_a_validation_error(admin_client, store, other_store):
    from tests.factories import ChannelFactory

    with unscoped("tests"):
        ChannelFactory(store=other_store, type="SLACK", routing_key="t-shared")
    response = admin_client.post(
        url(store), {"type": "SLACK", "config": {"team_id": "T-SHARED", "bot_token": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"config"}


def test_plan_limit(admin_client, store):
    for index in range(2):  # Starter allows 2 channels
        assert (
            admin_client.post(
                url(store),
                {"type": "SLACK", "config": {"team_id": f"T{index}", "bot_token": "x"}},
                format="json",
            ).status_code
            == 201
        )
    response = admin_client.post(
        url(store), {"type": "SLACK", "config": {"team_id": "T9", "bot_token": "x"}}, format="json"
    )
    assert response.status_code == 400 and "plan allows 2" in error_of(response)["fields"]["type"][0]


def test_agent_cannot_list_channels(agent_client, store):
    assert agent_client.get(url(store)).status_code == 403
