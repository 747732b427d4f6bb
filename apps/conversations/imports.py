"""The custom platform's catalog import: products, orders and customers in one call.

Idempotent: products by SKU, orders by number, customers by email; importing the same data
twice changes nothing the second time. All or nothing: one invalid row and nothing is written.
Imported products feed the knowledge index (the catalog document is re-indexed on commit).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.conversations.models import Customer
from apps.stores import services as store_services
from apps.stores.models import Store, StoreMembership
from apps.training import services as training_services


def customer_upsert(*, store: Store, data: dict) -> tuple[Customer, bool]:
    """Create or update the customer with ``data["email"]`` (idempotent by email).
    ``account_rep_email`` names a member of the store who looks after a B2B account."""
    data = dict(data)
    email = data.pop("email").strip().lower()
    rep_email = data.pop("account_rep_email", None)
    if rep_email:
        rep = User.objects.filter(email__iexact=rep_email).first()
        if rep is None or not StoreMembership.objects.filter(store=store, user=rep).exists():
            raise ValidationError({"account_rep_email": [f"{rep_email} is not a member of this store."]})
        data["account_rep"] = rep
    elif rep_email == "":
        data["account_rep"] = None
    customer = Customer.objects.filter(store=store, email__iexact=email).first()
    if customer is None:
        return Customer.objects.create(store=store, email=email, **data), True
    for name, value in data.items():
        setattr(customer, name, value)
    customer.save()
    return customer, False


def _apply(kind: str, rows: list[dict], upsert, store: Store) -> dict:
    counts = {"created": 0, "updated": 0}
    for index, row in enumerate(rows):
        try:
            _, created = upsert(store=store, data=dict(row))
        except ValidationError as error:
            messages = (
                error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
            )
            raise ValidationError(
                {f"{kind}.{index}.{field}": msgs for field, msgs in messages.items()}
            ) from None
        counts["created" if created else "updated"] += 1
    return counts


@transaction.atomic
def catalog_import(
    *,
    store: Store,
    products: list[dict] | None = None,
    orders: list[dict] | None = None,
    customers: list[dict] | None = None,
) -> dict:
    """Upsert validated rows (see the API's import schema). Returns the counts per kind and the
    catalog document queued for re-indexing when products were imported."""
    result = {
        "products": _apply("products", products or [], store_services.product_upsert, store),
        "orders": _apply("orders", orders or [], store_services.order_upsert, store),
        "customers": _apply("customers", customers or [], customer_upsert, store),
        "catalog_doc_id": None,
    }
    if products:
        result["catalog_doc_id"] = training_services.catalog_sync_doc(store=store).id
    return result
