"""The one helper every dashboard page uses: a member of the current store, with a role.

``DashboardStoreMiddleware`` has already required a login, picked the member's current store and
switched the store scope on. ``dashboard_view`` adds what each page needs on top:

- a signed-in user without a store is sent to onboarding (``/onboarding/connect-store``);
- a member whose role is below ``minimum_role`` gets 403 (an AGENT cannot change billing or
  team); objects of other stores are the selectors' business and answer 404.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.models import UserRole
from apps.stores.selectors import ROLE_RANK, membership_get, memberships_for_user

ONBOARDING_START = "/onboarding/connect-store"


def role_at_least(membership, minimum_role: str) -> bool:
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[minimum_role]


def dashboard_view(view=None, *, minimum_role: str = UserRole.AGENT):
    """Decorate a dashboard view: current store required, ``minimum_role`` enforced (403)."""

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if getattr(request, "store", None) is None:
                return redirect(ONBOARDING_START)
            if not role_at_least(request.membership, minimum_role):
                raise PermissionDenied("Your role in this store does not allow this page.")
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def dashboard_context(request) -> dict:
    """Template context for the dashboard shell (sidebar, store switcher, role-gated links)."""
    membership = getattr(request, "membership", None)
    if membership is None or not request.path.startswith(("/dashboard", "/onboarding")):
        return {}
    return {
        "store": request.store,
        "membership": membership,
        "can_admin": role_at_least(membership, UserRole.ADMIN),
        "is_owner": role_at_least(membership, UserRole.OWNER),
        # Evaluated only by the store switcher, when the template asks for it.
        "my_memberships": lambda: memberships_for_user(user=request.user),
    }


@require_POST
def switch_store(request):
    """Make another of the member's stores the current one (a foreign id changes nothing)."""
    from apps.stores.middleware import SESSION_STORE_KEY

    try:
        membership = membership_get(user=request.user, store_id=request.POST.get("store", ""))
    except Http404:
        messages.error(request, "That store is not one of yours.")
    else:
        request.session[SESSION_STORE_KEY] = str(membership.store_id)
    return redirect("/dashboard")
