"""Writes of stores: creating (with settings and the owner's membership), updating, deleting,
their settings, and store API keys. Catalog and order imports are in ``apps.stores.imports``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import UserRole
from apps.stores.models import (
    ApiKey,
    Order,
    Platform,
    Product,
    ProductVariant,
    Store,
    StoreMembership,
    StoreSettings,
)
from convix.tenancy import store_scope

STORE_EDITABLE_FIELDS = {
    "name",
    "domain",
    "platform",
    "currency",
    "timezone",
    "support_email",
    "phone",
    "address",
}
SETTINGS_SECRET_FIELDS = {"zendesk_api_token", "gorgias_api_key", "freshdesk_api_key"}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "store"
    slug, n = base, 1
    while Store.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def store_create(*, owner, name: str, slug: str = "", **fields) -> Store:
    """Create a store owned by ``owner``, with its settings and the owner's OWNER membership.

    ``slug`` defaults to one made from the name (made unique); a given slug must be free.
    Other ``fields`` are Store fields (domain, platform, currency, timezone, plan_tier, ...).
    """
    if slug:
        if Store.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": ["This slug is taken."]})
    else:
        slug = _unique_slug(name)
    if fields.get("platform") and fields["platform"] not in Platform.values:
        raise ValidationError({"platform": ["Unknown platform."]})
    store = Store.objects.create(owner=owner, name=name, slug=slug, **fields)
    store_setup(store=store)
    return store


def store_setup(*, store: Store) -> None:
    """Give ``store`` its settings and count its owner as a member, if either is missing."""
    with store_scope(store):
        StoreSettings.objects.get_or_create(store=store)
        StoreMembership.objects.get_or_create(
            store=store, user=store.owner, defaults={"role": UserRole.OWNER}
        )


@transaction.atomic
def store_update(*, store: Store, **fields) -> Store:
    """Change a store's profile fields (``STORE_EDITABLE_FIELDS``)."""
    unknown = set(fields) - STORE_EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(store, name, value)
    store.full_clean(exclude=["owner", "identity_secret", "api_key", "api_secret", "platform_config"])
    store.save()
    return store


@transaction.atomic
def store_delete(*, store: Store) -> None:
    """Delete the store and everything it owns (conversations, messages, documents, channels,
    products, orders, memberships, API keys). Irreversible."""
    with store_scope(store):
        Store.objects.filter(pk=store.pk).delete()


@transaction.atomic
def store_settings_update(*, store: Store, **fields) -> StoreSettings:
    """Change a store's settings. Helpdesk keys are write-only: a blank value leaves the saved
    key as it is; ``None`` clears it."""
    store_settings, _ = StoreSettings.objects.get_or_create(store=store)
    for name, value in fields.items():
        if name in SETTINGS_SECRET_FIELDS:
            if value == "":
                continue
            value = value or ""
        setattr(store_settings, name, value)
    store_settings.full_clean(exclude=["store"])
    store_settings.save()
    return store_settings


# --- API keys ----------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(
    *, store: Store, name: str, created_by=None, role: str = UserRole.ADMIN
) -> tuple[ApiKey, str]:
    """A new API key for ``store``. Returns the key object and the key itself, which is shown
    once: only its hash is stored. A key's role is ADMIN or AGENT, never OWNER."""
    from convix.api.authentication import api_key_generate

    if role not in (UserRole.ADMIN, UserRole.AGENT):
        raise ValidationError({"role": ["An API key's role is ADMIN or AGENT."]})
    key, prefix, key_hash = api_key_generate()
    api_key = ApiKey.objects.create(
        store=store,
        name=name.strip() or "API key",
        prefix=prefix,
        key_hash=key_hash,
        role=role,
        created_by=created_by,
    )
    return api_key, key


def api_key_revoke(*, store: Store, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; requests signed with it are refused from now on."""
    if api_key.store_id != store.id:
        raise ApiKey.DoesNotExist("No such API key.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        ApiKey.objects.filter(store=store, pk=api_key.pk).update(revoked_at=api_key.revoked_at)
    return api_key


# --- catalog and orders (the custom platform's import) -----------------------------------------


def product_upsert(*, store: Store, data: dict) -> tuple[Product, bool]:
    """Create or update the product with ``data["sku"]`` (idempotent by SKU), with its variants
    (by variant SKU). Without variants, ``stock`` gives the product one default variant.
    Returns (product, created)."""
    variants = data.pop("variants", None)
    stock = data.pop("stock", None)
    sku = data.pop("sku")
    data.setdefault("currency", store.currency)
    product, created = Product.objects.update_or_create(
        store=store, sku=sku, defaults={**data, "synced_at": timezone.now()}
    )
    if not variants and stock is not None:
        variants = [{"sku": sku, "title": "Default", "price": product.price, "stock": stock}]
    for variant in variants or []:
        variant = dict(variant)
        variant_sku = variant.pop("sku")
        variant.setdefault("price", product.price)
        owner = ProductVariant.objects.filter(store=store, sku=variant_sku).exclude(product=product).first()
        if owner is not None:
            raise ValidationError(
                {"variants": [f"Variant SKU {variant_sku} belongs to product {owner.product.sku}."]}
            )
        ProductVariant.objects.update_or_create(
            store=store, sku=variant_sku, defaults={**variant, "product": product}
        )
    return product, created


def order_upsert(*, store: Store, data: dict) -> tuple[Order, bool]:
    """Create or update the order with ``data["number"]`` (idempotent by order number)."""
    number = data.pop("number")
    data["email"] = data["email"].strip().lower()
    data.setdefault("currency", store.currency)
    return Order.objects.update_or_create(
        store=store, number=number, defaults={**data, "synced_at": timezone.now()}
    )
