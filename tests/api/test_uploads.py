"""Every endpoint that takes a file applies the same size limit, with the same answer."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.stores.models import Product
from apps.training.models import TrainingDoc
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_uploads_over_the_limit_get_413_and_create_nothing(admin_client, store, settings):
    settings.API_MAX_UPLOAD_BYTES = 1024
    too_big = b"sku,title,price\n" + b"SKU-1,Tent,1.00\n" * 100
    training = admin_client.post(
        f"/v1/stores/{store.pk}/training",
        {"file": SimpleUploadedFile("notes.txt", too_big, "text/plain")},
        format="multipart",
    )
    catalog = admin_client.post(
        f"/v1/stores/{store.pk}/catalog/import",
        {"kind": "products", "file": SimpleUploadedFile("products.csv", too_big, "text/csv")},
        format="multipart",
    )
    for response in (training, catalog):
        assert response.status_code == 413
        assert error_of(response) == {
            "code": "payload_too_large",
            "message": "Files up to 1 KB are accepted.",
            "fields": {},
        }
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(store=store).exists()
        assert not Product.objects.filter(store=store).exists()
