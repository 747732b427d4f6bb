"""Writes of stores: creating (with settings and the owner's membership), updating, deleting,
their settings, and store API keys. Catalog and order imports are in ``apps.stores.imports``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import UserRole
from apps.stores import selectors
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


# --- team: invitations, roles, removal (dashboard settings) ------------------------------------

INVITATION_TTL_DAYS = 7


def invitation_url(*, store: Store, key: str) -> str:
    """The accept link emailed to the invitee (it carries the key: never log it)."""
    from django.conf import settings

    return f"{settings.PUBLIC_URL}/invitations/{store.id}/{key}"


@transaction.atomic
def member_invite(*, store: Store, email: str, role: str, invited_by=None):
    """Invite ``email`` to join ``store`` with ``role``; returns (invitation, key).

    The key is in the emailed link only (its hash is stored). A newer invitation to the same
    email replaces the open one (its link stops working). Refused (ValidationError) for a
    member's email, an unknown role, or when the plan's seats are all taken. The email is sent
    through Django's email backend once the transaction commits.
    """
    import secrets
    from datetime import timedelta

    from django.conf import settings
    from django.core.mail import send_mail
    from django.core.validators import validate_email

    from apps.stores.models import StoreInvitation

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    if role not in UserRole.values:
        raise ValidationError({"role": ["Unknown role."]})
    if StoreMembership.objects.filter(store=store, user__email__iexact=email).exists():
        raise ValidationError({"email": [f"{email} is already a member of this store."]})
    StoreInvitation.objects.filter(
        store=store, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    limit = store.limits.seats
    if limit is not None and selectors.seats_used(store) >= limit:
        raise ValidationError(
            {"email": [f"Your plan allows {limit} seats. Remove a member or upgrade to invite more."]},
            code="plan_limit",
        )
    key = secrets.token_urlsafe(32)
    invitation = StoreInvitation.objects.create(
        store=store,
        email=email,
        role=role,
        key_hash=selectors.invitation_key_hash(key),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=INVITATION_TTL_DAYS),
    )
    link = invitation_url(store=store, key=key)
    inviter = (invited_by.get_full_name() if invited_by else "") or "A team member"
    body = (
        f"{inviter} invited you to join {store.name} on Convix as {invitation.get_role_display()}.\n\n"
        f"To accept, open:\n{link}\n\n"
        "If you have no Convix account yet, you can create one from that page with this email "
        f"address. The link works once and expires in {INVITATION_TTL_DAYS} days.\n"
        "If you did not expect this invitation, ignore this email."
    )
    transaction.on_commit(
        lambda: send_mail(
            f"You're invited to join {store.name} on Convix", body, settings.DEFAULT_FROM_EMAIL, [email]
        )
    )
    return invitation, key


def invitation_revoke(*, store: Store, invitation) -> None:
    """Withdraw an open invitation: its link stops working."""
    from apps.stores.models import StoreInvitation

    if invitation.store_id != store.id:
        raise StoreInvitation.DoesNotExist("No such invitation.")
    StoreInvitation.objects.filter(store=store, pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def invitation_accept(*, store: Store, invitation, user) -> StoreMembership:
    """Make ``user`` a member of ``store`` with the invited role, once.

    Refused (ValidationError on ``invitation``) when the invitation was used, revoked or has
    expired, when ``user`` is signed in with another email than the invited one, or is already
    a member.
    """
    from apps.stores.models import StoreInvitation

    if invitation.store_id != store.id:
        raise StoreInvitation.DoesNotExist("No such invitation.")
    invitation = StoreInvitation.objects.select_for_update().get(store=store, pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": ["This invitation has already been used."]})
    if invitation.revoked_at is not None:
        raise ValidationError({"invitation": ["This invitation was withdrawn. Ask for a new one."]})
    if invitation.is_expired:
        raise ValidationError({"invitation": ["This invitation has expired. Ask for a new one."]})
    if user.email.strip().lower() != invitation.email:
        raise ValidationError(
            {
                "invitation": [
                    f"This invitation was sent to {invitation.email}. Sign in with that address to accept it."
                ]
            }
        )
    if StoreMembership.objects.filter(store=store, user=user).exists():
        raise ValidationError({"invitation": ["You are already a member of this store."]})
    membership = StoreMembership.objects.create(store=store, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _keep_an_owner(store: Store, membership: StoreMembership) -> None:
    """Refuse to take the OWNER role from the store's last owner; keep ``Store.owner`` on an
    owner. Locks the owners' rows so two concurrent demotions cannot both pass."""
    if membership.role != UserRole.OWNER:
        return
    owners = list(
        StoreMembership.objects.select_for_update()
        .filter(store=store, role=UserRole.OWNER)
        .order_by("created_at", "pk")
        .values_list("user_id", flat=True)
    )
    others = [user_id for user_id in owners if user_id != membership.user_id]
    if not others:
        raise ValidationError(
            {"role": ["A store needs at least one owner: make another member an owner first."]},
            code="last_owner",
        )
    if store.owner_id == membership.user_id:
        store.owner_id = others[0]
        Store.objects.filter(pk=store.pk).update(owner_id=others[0], updated_at=timezone.now())


@transaction.atomic
def member_role_set(*, store: Store, membership: StoreMembership, role: str) -> StoreMembership:
    """Change a member's role. The last OWNER cannot be demoted (ValidationError)."""
    if membership.store_id != store.id:
        raise StoreMembership.DoesNotExist("No such member.")
    if role not in UserRole.values:
        raise ValidationError({"role": ["Unknown role."]})
    if role == membership.role:
        return membership
    if role != UserRole.OWNER:
        _keep_an_owner(store, membership)
    membership.role = role
    StoreMembership.objects.filter(store=store, pk=membership.pk).update(role=role)
    return membership


@transaction.atomic
def member_remove(*, store: Store, membership: StoreMembership) -> None:
    """Remove a member from the store. The last OWNER cannot be removed (ValidationError)."""
    if membership.store_id != store.id:
        raise StoreMembership.DoesNotExist("No such member.")
    _keep_an_owner(store, membership)
    StoreMembership.objects.filter(store=store, pk=membership.pk).delete()


# --- identity secret, plan, usage -------------------------------------------------------------


def store_identity_secret_rotate(*, store: Store) -> str:
    """Give the store a new identity-verification secret; hashes signed with the old one stop
    verifying at once. Returns the new secret."""
    from apps.stores.models import new_identity_secret

    store.identity_secret = new_identity_secret()
    store.save(update_fields=["identity_secret", "updated_at"])
    return store.identity_secret


PLAN_USAGE_LABELS = {"training_docs": "training documents", "channels": "channels", "seats": "seats"}


@transaction.atomic
def store_plan_set(*, store: Store, plan_tier: str) -> Store:
    """Record the store's plan tier (no payment provider). A plan whose limits are below what
    the store uses now (training documents, channels, seats) is refused with what to remove."""
    from apps.stores.models import PLAN_LIMITS, PlanTier

    if plan_tier not in PlanTier.values:
        raise ValidationError({"plan_tier": ["Unknown plan."]})
    limits = PLAN_LIMITS[plan_tier]
    usage = selectors.store_usage(store=store)
    problems = []
    for key, label in PLAN_USAGE_LABELS.items():
        limit = getattr(limits, key)
        if limit is not None and usage[key] > limit:
            problems.append(f"you have {usage[key]} {label} and {PlanTier(plan_tier).label} allows {limit}")
    if problems:
        raise ValidationError(
            {"plan_tier": [f"Cannot switch: {'; '.join(problems)}. Remove some first."]}, code="plan_limit"
        )
    store.plan_tier = plan_tier
    store.save(update_fields=["plan_tier", "updated_at"])
    return store


def store_platform_credentials_set(*, store: Store, api_key: str, api_secret: str, config: dict) -> Store:
    """Record a store platform's credentials (encrypted at rest) for the platform sync.

    Write-only like the helpdesk keys: a blank key or secret keeps the saved one
    (``store_update`` refuses these fields).
    """
    if api_key:
        store.api_key = api_key
    if api_secret:
        store.api_secret = api_secret
    store.platform_config = {**(store.platform_config or {}), **config}
    store.save(update_fields=["api_key", "api_secret", "platform_config", "updated_at"])
    return store
