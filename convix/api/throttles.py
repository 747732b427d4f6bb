"""Rate limits: per client IP on public and auth endpoints, per store elsewhere.

A refused request gets 429 with ``Retry-After`` (seconds). Rates come from
``settings.API_THROTTLE_RATES`` and are read at request time. Counts live in the cache (Redis in
production, so every web process shares them).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class AuthRateThrottle(_SettingsRateThrottle):
    """Login, registration, password reset, token refresh: per client IP (brute force)."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicRateThrottle(AuthRateThrottle):
    """Public endpoints (the schema and its docs page): per client IP."""

    scope = "public"


class StoreRateThrottle(_SettingsRateThrottle):
    """Store endpoints: per store, whoever calls (members and API keys share the budget)."""

    scope = "store"

    def get_cache_key(self, request, view):
        store = getattr(view, "store", None)
        if store is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": store.pk}


class UserRateThrottle(_SettingsRateThrottle):
    """Endpoints outside a store (listing or creating stores, ``/auth/me``): per user."""

    scope = "user"

    def get_cache_key(self, request, view):
        if getattr(view, "store", None) is not None or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
