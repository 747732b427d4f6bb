"""Catalog import for the custom platform: JSON and CSV, idempotent, all or nothing, indexed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.conversations.models import Customer
from apps.stores.models import Order, Product, ProductVariant
from apps.training.models import DocType, TrainingChunk, TrainingDoc
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "products": [
        {
            "sku": "TENT-2P",
            "title": "Ridge two-person tent",
            "description": "A light three-season tent for two.",
            "category": "Tents",
            "price": "249.00",
            "url": "https://shop.example/tent",
            "variants": [
                {"sku": "TENT-2P-GRN", "title": "Green", "options": {"color": "green"}, "stock": 4},
                {"sku": "TENT-2P-ORG", "title": "Orange", "options": {"color": "orange"}, "stock": 0},
            ],
            "b2b_price_tiers": [{"min_quantity": 10, "price": "219.00"}],
        },
        {"sku": "MUG-1", "title": "Enamel mug", "price": "14.00", "stock": 30},
    ],
    "orders": [
        {
            "number": "#2001",
            "email": "Buyer@Example.com",
            "status": "SHIPPED",
            "items": [{"sku": "TENT-2P-GRN", "title": "Ridge tent", "quantity": 1, "unit_price": "249.00"}],
            "total": "259.00",
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "placed_at": "2026-11-01T10:00:00Z",
        }
    ],
    "customers": [{"email": "buyer@example.com", "name": "Bea Buyer", "is_b2b": True, "company": "Camp Co"}],
}


def url(store, suffix=""):
    return f"/v1/stores/{store.pk}/catalog/import{suffix}"


def test_json_import_is_idempotent_and_feeds_knowledge(
    admin_client, store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(url(store), PAYLOAD, format="json")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["products"] == {"created": 2, "updated": 0}
    assert body["orders"] == {"created": 1, "updated": 0}
    assert body["customers"] == {"created": 1, "updated": 0}
    with unscoped("tests"):
        tent = Product.objects.get(store=store, sku="TENT-2P")
        assert tent.total_stock == 4 and tent.b2b_price_tiers == [{"min_quantity": 10, "price": "219.00"}]
        assert ProductVariant.objects.get(sku="MUG-1").stock == 30
        assert Order.objects.get(number="#2001").email == "buyer@example.com"
        doc = TrainingDoc.objects.get(store=store, type=DocType.PRODUCT_CATALOG)
        assert str(doc.pk) == body["catalog_doc_id"]
        doc.refresh_from_db()
        assert (doc.status, doc.status_reason) == ("READY", "")
        assert TrainingChunk.objects.filter(doc=doc, title__icontains="Ridge two-person tent").exists()
    second = admin_client.post(url(store), PAYLOAD, format="json")
    assert second.json()["products"] == {"created": 0, "updated": 2}
    with unscoped("tests"):
        assert (
            Product.objects.count(),
            ProductVariant.objects.count(),
            Order.objects.count(),
            Customer.objects.count(),
        ) == (2, 3, 1, 1)


def test_an_invalid_row_writes_nothing(admin_client, store):
    payload = {
        "products": [{"sku": "OK-1", "title": "Fine", "price": "1.00"}, {"sku": "BAD", "title": "No price"}],
        "customers": [{"email": "x@example.com", "nickname": "x"}],
    }
    response = admin_client.post(url(store), payload, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "products.1.price": ["This field is required."],
        "customers.0.nickname": ["This field is not accepted here."],
    }
    rep = admin_client.post(
        url(store),
        {
            "products": [{"sku": "OK-1", "title": "Fine", "price": "1.00"}],
            "customers": [{"email": "c@example.com", "account_rep_email": "stranger@example.com"}],
        },
        format="json",
    )
    assert rep.status_code == 400 and set(error_of(rep)["fields"]) == {"customers.0.account_rep_email"}
    with unscoped("tests"):
        assert not Product.objects.exists() and not Customer.objects.exists()
    empty = admin_client.post(url(store), {}, format="json")
    assert error_of(empty)["message"] == "Send at least one product, order or customer."


def test_csv_import_body_and_multipart(admin_client, store, agent):
    products_csv = (
        "sku,title,price,category,variant_sku,variant_title,variant_stock,b2b_price_tiers\n"
        "TENT-2P,Ridge tent,249.00,Tents,TENT-2P-GRN,Green,4,10:219.00;50:199.00\n"
        "TENT-2P,Ridge tent,249.00,Tents,TENT-2P-ORG,Orange,2,10:219.00;50:199.00\n"
    )
    response = admin_client.generic(
        "POST", url(store, "?kind=products"), products_csv, content_type="text/csv"
    )
    assert response.status_code == 200, response.content
    assert response.json()["products"] == {"created": 1, "updated": 0}
    customers_csv = f"email,name,is_b2b,account_rep_email\nrep@example.com,Rita,true,{agent.email}\n"
    upload = SimpleUploadedFile("customers.csv", customers_csv.encode(), "text/csv")
    response = admin_client.post(url(store), {"kind": "customers", "file": upload}, format="multipart")
    assert response.status_code == 200, response.content
    orders_csv = (
        "number,email,total,placed_at,items\n#7,a@example.com,20.00,2026-11-02T09:00:00Z,MUG-1:2:10.00\n"
    )
    response = admin_client.generic("POST", url(store, "?kind=orders"), orders_csv, content_type="text/csv")
    assert response.status_code == 200, response.content
    with unscoped("tests"):
        assert Product.objects.get(sku="TENT-2P").total_stock == 6
        assert Customer.objects.get(email="rep@example.com").account_rep == agent
        assert Order.objects.get(number="#7").items == [
            {"sku": "MUG-1", "title": "", "quantity": 2, "unit_price": "10.00"}
        ]
    missing_kind = admin_client.generic("POST", url(store), products_csv, content_type="text/csv")
    assert missing_kind.status_code == 400 and set(error_of(missing_kind)["fields"]) == {"kind"}
