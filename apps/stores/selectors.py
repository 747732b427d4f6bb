"""Reads of stores and memberships."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

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
