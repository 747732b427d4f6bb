"""Rate limits: per client IP on public and auth endpoints, per store elsewhere.

A refused request gets 429 with ``Retry-After`` (seconds). Rates come from
``settings.API_THROTTLE_RATES`` and are read at request time. Each key's state (one number) lives
in the cache (Redis in production, so every web process shares it).
"""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    """``N/period`` as a token bucket (GCRA): a burst of up to N requests, then one every period/N.

    The cache holds one number per key, the time the bucket will be full again, and costs the
    same at any rate; DRF's own throttle keeps (and pickles, both ways) the time of every request
    in the last period, which at hundreds of requests a second cost more than the request.
    """

    _wait = None

    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        if self.num_requests <= 0:
            self._wait = self.duration
            return False
        interval = self.duration / self.num_requests
        full_at = max(self.cache.get(self.key, 0.0), now) + interval
        self._wait = full_at - now - self.duration
        if self._wait > 0:
            return False
        self.cache.set(self.key, full_at, timeout=math.ceil(full_at - now))
        return True

    def wait(self):
        return self._wait


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
