"""Dashboard entry point: the signed-in member's current store, and its scope."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

from apps.stores.selectors import membership_get, memberships_for_user
from convix.tenancy import store_scope

SESSION_STORE_KEY = "convix_store_id"


class DashboardStoreMiddleware:
    """For ``/dashboard`` and ``/onboarding``: require a login, pick the member's store, scope to it.

    The current store is kept in the session; a stale or foreign id falls back to the user's
    first store. ``request.store`` and ``request.membership`` are set for the views.
    """

    prefixes = ("/dashboard", "/onboarding")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.prefixes):
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        membership = None
        store_id = request.session.get(SESSION_STORE_KEY)
        if store_id:
            try:
                membership = membership_get(user=request.user, store_id=store_id)
            except Exception:  # noqa: BLE001 - any failure means "not a valid current store"
                membership = None
        if membership is None:
            memberships = memberships_for_user(user=request.user)
            membership = memberships[0] if memberships else None
        request.membership = membership
        request.store = membership.store if membership else None
        if membership is None:
            return self.get_response(request)
        if store_id != str(membership.store_id):  # a session write costs a query per page
            request.session[SESSION_STORE_KEY] = str(membership.store_id)
        with store_scope(membership.store):
            return self.get_response(request)
