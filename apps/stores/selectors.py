"""Reads of stores and memberships."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import UserRole
from apps.stores.models import Store, StoreMembership
from convix.tenancy import unscoped

ROLE_RANK = {UserRole.AGENT: 1, UserRole.ADMIN: 2, UserRole.OWNER: 3}


def memberships_for_user(*, user) -> list[StoreMembership]:
    """Every membership of ``user``, with its store, active stores first."""
    if not user.is_authenticated:
        return []
    with unscoped("membership-lookup"):
        return list(
            StoreMembership.objects.filter(user=user, store__is_active=True)
            .select_related("store")
            .order_by("store__name")
        )


def membership_get(*, user, store_id, minimum_role: str = UserRole.AGENT) -> StoreMembership:
    """The membership of ``user`` in the store ``store_id`` with at least ``minimum_role``.

    A store the user is not a member of, a deleted or inactive store and a malformed id all
    raise the same ``Http404``: an outsider learns nothing about whether the store exists.
    A member whose role is too low gets ``PermissionError`` (the caller answers 403).
    """
    if not user.is_authenticated:
        raise Http404("No such store.")
    with unscoped("membership-lookup"):
        try:
            membership = StoreMembership.objects.select_related("store").get(
                user=user, store_id=store_id, store__is_active=True
            )
        except (StoreMembership.DoesNotExist, ValidationError, ValueError, TypeError) as error:
            raise Http404("No such store.") from error
    if ROLE_RANK[membership.role] < ROLE_RANK[minimum_role]:
        raise PermissionError(f"This needs the {minimum_role} role.")
    return membership


def store_get_public(*, store_id) -> Store:
    """An active store by its public id (widget), or Http404."""
    try:
        return Store.objects.get(pk=store_id, is_active=True)
    except (Store.DoesNotExist, ValidationError, ValueError, TypeError) as error:
        raise Http404("No such store.") from error


# --- invitations and plan usage ------------------------------------------------------------


def invitation_key_hash(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()


def seats_used(store: Store) -> int:
    """Members plus invitations still open and unexpired: each will take a seat."""
    from apps.stores.models import StoreInvitation

    open_invitations = StoreInvitation.objects.filter(
        store=store, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
    return StoreMembership.objects.filter(store=store).count() + open_invitations


def invitation_for_key(*, store_id, key: str):
    """The invitation behind an accept link (open or not), with its store; ``None`` when the
    store or key is unknown."""
    from apps.stores.models import StoreInvitation
    from convix.tenancy import store_scope

    try:
        store = Store.objects.get(pk=store_id, is_active=True)
    except (Store.DoesNotExist, ValidationError, ValueError, TypeError):
        return None
    if not key or len(key) > 200:
        return None
    with store_scope(store):
        return (
            StoreInvitation.objects.filter(store=store, key_hash=invitation_key_hash(key))
            .select_related("store", "invited_by")
            .first()
        )


def store_usage(*, store: Store) -> dict[str, int]:
    """What the store uses of its plan: conversations this month (UTC), training documents,
    channels, seats (members and open invitations). The counts live in higher apps, looked up
    by name so that stores imports none of them."""
    from django.apps import apps

    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    conversation = apps.get_model("conversations", "Conversation")
    training_doc = apps.get_model("training", "TrainingDoc")
    channel = apps.get_model("convix_channels", "Channel")
    return {
        "monthly_conversations": conversation.objects.filter(
            store=store, created_at__gte=month_start
        ).count(),
        "training_docs": training_doc.objects.filter(store=store).count(),
        "channels": channel.objects.filter(store=store).count(),
        "seats": seats_used(store),
    }
