"""Per-store row scoping that fails closed.

Every store-owned model declares ``objects = StoreScopedManager()``. Querying it raises
``django_scopes.ScopeError`` unless a store scope is active. Scopes are switched on at entry
points only (dashboard middleware, the DRF base view, the webhook's channel lookup, the Celery
task base, WebSocket consumers) through :func:`store_scope`.

Bypasses are rare and named: :func:`unscoped` takes a reason, and every reason is listed in
``UNSCOPED_REASONS`` so a reviewer can see every place that reads across stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

__all__ = [
    "ScopeError",
    "StoreScopedManager",
    "is_store_scoped",
    "store_scope",
    "unscoped",
    "UNSCOPED_REASONS",
]

# Every reason for reading across stores, and where it is used.
UNSCOPED_REASONS = {
    "admin": "the operator's staff-only admin site (convix.middleware.AdminUnscopedMiddleware)",
    "membership-lookup": "finding the stores a signed-in user belongs to, before a store is chosen",
    "api-key-auth": "finding the store API key a REST API request is signed with (convix.api.authentication)",
    "webhook-routing": "finding the channel that received a webhook, before its store is known",
    "widget-routing": "finding the store and conversation behind a public widget request",
    "maintenance": "management commands and periodic sweeps that visit every store one by one",
    "tests": "test set-up and assertions",
}


def StoreScopedManager():  # noqa: N802 - reads like a class at the call site
    """The manager every store-owned model uses: no active store scope, no rows (it raises)."""
    return ScopedManager(store="store")


def is_store_scoped(manager) -> bool:
    """True when ``manager`` refuses queries outside a store scope."""
    return hasattr(manager, "with_scopes_disabled") and hasattr(manager, "with_scope")


@contextmanager
def store_scope(store) -> Iterator[None]:
    """Activate the scope of one store (a Store instance or its primary key)."""
    if store is None:
        raise ValueError("store_scope needs a store.")
    with scope(store=store):
        yield


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """Read across stores, for one of the listed reasons only."""
    if reason not in UNSCOPED_REASONS:
        raise ValueError(f"Unlisted reason for an unscoped query: {reason!r}")
    with scopes_disabled():
        yield
