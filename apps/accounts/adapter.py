"""allauth's account adapter: where a person lands after signing up or logging in.

A user who belongs to no store yet has nothing to see in the dashboard, so they are sent to the
first onboarding step; everyone else goes to the dashboard. A ``next`` URL given to the login
form still wins (allauth applies it before asking the adapter).
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from apps.stores.dashboard import ONBOARDING_START
from apps.stores.selectors import memberships_for_user


def landing_url_for(user) -> str:
    """The onboarding start for a user without a store, else the dashboard."""
    if not memberships_for_user(user=user):
        return ONBOARDING_START
    return settings.LOGIN_REDIRECT_URL


class AccountAdapter(DefaultAccountAdapter):
    def get_signup_redirect_url(self, request) -> str:
        return landing_url_for(request.user)

    def get_login_redirect_url(self, request) -> str:
        return landing_url_for(request.user)

    def format_email_subject(self, subject: str) -> str:
        return f"[Convix] {subject}"
