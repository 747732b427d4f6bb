"""Secrets are ciphertext in the database: a raw dump of the rows shows none of them."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.channels.models import Channel
from apps.stores.models import Store, StoreSettings
from convix.tenancy import store_scope, unscoped
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

SECRETS = {
    "api_key": "shpat_live_4f9a8b7c6d5e",
    "api_secret": "shpss_secret_0a1b2c3d",
    "zendesk": "zd-token-9f8e7d6c5b",
    "gorgias": "gorgias-key-1234abcd",
    "freshdesk": "fd-key-5678efgh",
    "channel": "EAAG-whatsapp-token-abcdef123456",
    "platform": "wc-consumer-secret-777",
}


def raw_rows(table: str) -> str:
    """Every row of ``table`` as PostgreSQL prints it, as a pg_dump would show it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 - table names are ours
        return "\n".join(row[0] for row in cursor.fetchall())


def test_secrets_are_ciphertext_at_rest_and_readable_through_the_model(store):
    Store.objects.filter(pk=store.pk).update()  # the store exists
    store.api_key = SECRETS["api_key"]
    store.api_secret = SECRETS["api_secret"]
    store.platform_config = {"consumer_secret": SECRETS["platform"]}
    store.save()
    with store_scope(store):
        settings = StoreSettings.objects.get(store=store)
        settings.zendesk_api_token = SECRETS["zendesk"]
        settings.gorgias_api_key = SECRETS["gorgias"]
        settings.freshdesk_api_key = SECRETS["freshdesk"]
        settings.save()
    with unscoped("tests"):
        ChannelFactory(store=store, config={"access_token": SECRETS["channel"]})

    dump = "\n".join(raw_rows(t) for t in ("stores_store", "stores_storesettings", "convix_channels_channel"))
    for secret in SECRETS.values():
        assert secret not in dump
    assert store.identity_secret not in dump
    assert "gAAAAA" in dump  # Fernet tokens

    fresh = Store.objects.get(pk=store.pk)
    assert fresh.api_key == SECRETS["api_key"]
    assert fresh.platform_config == {"consumer_secret": SECRETS["platform"]}
    with store_scope(store):
        assert StoreSettings.objects.get(store=store).zendesk_api_token == SECRETS["zendesk"]
        assert Channel.objects.get(store=store).config == {"access_token": SECRETS["channel"]}
