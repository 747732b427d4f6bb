"""The rate limit's arithmetic (a token bucket), on a clock the test sets."""

from __future__ import annotations

from types import SimpleNamespace

from django.core.cache import cache

from convix.api.throttles import StoreRateThrottle


def throttle_at(now: float) -> StoreRateThrottle:
    throttle = StoreRateThrottle()
    throttle.timer = lambda: now
    return throttle


def test_a_burst_of_n_then_one_every_period_over_n(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "store": "2/min"}
    view = SimpleNamespace(store=SimpleNamespace(pk="store-1"))
    other = SimpleNamespace(store=SimpleNamespace(pk="store-2"))
    request = SimpleNamespace()
    cache.clear()
    assert throttle_at(1000).allow_request(request, view)
    assert throttle_at(1000).allow_request(request, view)
    refused = throttle_at(1000)
    assert not refused.allow_request(request, view)
    assert refused.wait() == 30  # one token back every 60 s / 2
    assert throttle_at(1000).allow_request(request, other)  # per store
    assert not throttle_at(1029).allow_request(request, view)
    assert throttle_at(1030).allow_request(request, view)
    assert not throttle_at(1030).allow_request(request, view)
    # Idle for a whole period: the full burst again, never more.
    assert [throttle_at(2000).allow_request(request, view) for _ in range(3)] == [True, True, False]
    # The state is one number per key, whatever the rate.
    assert isinstance(cache.get(throttle_at(2000).get_cache_key(request, view)), float)
    cache.clear()
