"""A NUL character (which PostgreSQL cannot store in text or JSON) anywhere in API input is a
clear 400, never a 500, with or without an Idempotency-Key; nothing is written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.response import Response

from apps.accounts.models import IdempotencyRecord
from apps.stores.models import Product, Store
from apps.training.models import TrainingDoc
from convix.api import idempotency
from convix.api.serializers import NUL_MESSAGE
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "Bad\u0000Store"}, {"name": [NUL_MESSAGE]}),
        ({"name": "Fine", "platform": "\u0000"}, {"platform": [NUL_MESSAGE]}),
        ({"name": "Fine", "address": {"city": "Ber\u0000lin"}}, {"address.city": [NUL_MESSAGE]}),
        ({"name": "Fine", "\u0000": "x"}, {"non_field_errors": [NUL_MESSAGE]}),
    ],
)
def test_nul_in_a_new_store_is_a_400_and_its_idempotent_retry_gets_the_same(
    owner_client, owner, body, fields
):
    stores_before = Store.objects.count()
    first = owner_client.post("/v1/stores", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == 400
    assert (error_of(first)["code"], error_of(first)["fields"]) == ("validation_error", fields)
    retry = owner_client.post("/v1/stores", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert (retry.status_code, retry.json(), retry["Idempotent-Replayed"]) == (400, first.json(), "true")
    assert Store.objects.count() == stores_before


def test_nul_in_the_idempotency_key_is_a_400(owner_client):
    response = owner_client.post(
        "/v1/stores", {"name": "Fine"}, format="json", HTTP_IDEMPOTENCY_KEY="a\u0000b"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"Idempotency-Key": ["Invalid."]}
    assert not IdempotencyRecord.objects.exists()


def test_an_answer_that_echoes_a_nul_is_still_saved_for_replay(owner):
    record = IdempotencyRecord.objects.create(
        owner=str(owner.pk), key="k", method="POST", path="/v1/stores", fingerprint="f"
    )
    idempotency.settle(record, Response({"fields": {"a\u0000": ["b\u0000c"]}}, status=400))
    record.refresh_from_db()
    assert (record.status_code, record.response_body) == (400, {"fields": {"a\ufffd": ["b\ufffdc"]}})


def test_nul_in_a_query_parameter_is_a_400(admin_client, store):
    response = admin_client.get(f"/v1/stores/{store.pk}/training", {"type": "FAQ\u0000"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"type": [NUL_MESSAGE]}


def test_nul_in_a_training_document_is_a_400(admin_client, store):
    url = f"/v1/stores/{store.pk}/training"
    faq = admin_client.post(url, {"type": "FAQ", "title": "Q?", "content": "A\u0000."}, format="json")
    assert error_of(faq)["fields"] == {"content": [NUL_MESSAGE]}
    upload = admin_client.post(
        url,
        {"title": "Ret\u0000urns", "file": SimpleUploadedFile("returns.md", b"# Returns\n", "text/markdown")},
        format="multipart",
    )
    assert error_of(upload)["fields"] == {"title": [NUL_MESSAGE]}
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(store=store).exists()


def test_nul_in_a_catalog_import_is_a_400_and_imports_nothing(admin_client, store):
    url = f"/v1/stores/{store.pk}/catalog/import"
    as_json = admin_client.post(
        url, {"products": [{"sku": "MUG-1", "title": "Enamel\u0000mug", "price": "14.00"}]}, format="json"
    )
    assert error_of(as_json)["fields"] == {"products.0.title": [NUL_MESSAGE]}
    as_csv = admin_client.generic(
        "POST",
        f"{url}?kind=products",
        "sku,title,price\nMUG-1,Enamel\u0000mug,14.00\n",
        content_type="text/csv",
    )
    assert (as_csv.status_code, error_of(as_csv)["message"]) == (400, NUL_MESSAGE)
    as_file = admin_client.post(
        url,
        {
            "kind": "products",
            "file": SimpleUploadedFile("p.csv", b"sku,title,price\nMUG-1,Enamel\x00mug,14.00\n", "text/csv"),
        },
        format="multipart",
    )
    assert error_of(as_file)["fields"] == {"file": [NUL_MESSAGE]}
    with unscoped("tests"):
        assert not Product.objects.filter(store=store).exists()
