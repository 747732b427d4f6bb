"""Base views of the API. Every store endpoint derives from :class:`StoreAPIView`.

``StoreAPIView`` resolves ``/v1/stores/<store_id>/...`` to the caller's membership (or API key)
right after authentication, checks the role the method needs, switches the store's scope on for
the rest of the request and throttles per store. A store the caller does not belong to is a 404,
whether it exists or not; a member whose role is too low gets 403.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied

from apps.accounts.models import UserRole
from apps.stores.selectors import ROLE_RANK, membership_get
from convix.api import idempotency
from convix.api.authentication import api_key_of
from convix.api.serializers import reject_nul_characters
from convix.api.throttles import StoreRateThrottle, UserRateThrottle
from convix.tenancy import store_scope

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class APIView(generics.GenericAPIView):
    """Authenticated endpoints: throttled per user (or per store), ``Idempotency-Key`` on POST,
    and input with a NUL character refused with a 400 (see ``reject_nul_characters``)."""

    throttle_classes = [UserRateThrottle]
    _idempotency_record = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency_record = idempotency.claim(request)
        reject_nul_characters(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency_record is not None:
            idempotency.settle(self._idempotency_record, response)
            self._idempotency_record = None
        return response


class StoreAPIView(APIView):
    """An endpoint under ``/v1/stores/<store_id>/``.

    ``roles`` maps a method to the least role it needs; by default reading needs AGENT and
    writing ADMIN. Sets ``self.store``, ``self.membership`` (None for an API key) and
    ``self.role``.
    """

    throttle_classes = [StoreRateThrottle]
    roles: dict[str, str] = {}
    store = None
    membership = None
    role = None
    _scope = None

    def required_role(self, method: str) -> str:
        if method in self.roles:
            return self.roles[method]
        return UserRole.AGENT if method in SAFE_METHODS else UserRole.ADMIN

    def check_throttles(self, request):
        # Runs right after authentication and permissions: resolve the store first, so the
        # per-store throttle knows it and an outsider gets 404 rather than a hint.
        self.resolve_store(request)
        super().check_throttles(request)

    def resolve_store(self, request) -> None:
        store_id = self.kwargs.get("store_id")
        needed = self.required_role(request.method)
        api_key = api_key_of(request)
        if api_key is not None:
            if str(api_key.store_id) != str(store_id):
                raise Http404("No such store.")
            self.store, self.role = api_key.store, api_key.role
        else:
            membership = membership_get(user=request.user, store_id=store_id)
            self.membership, self.store, self.role = membership, membership.store, membership.role
        if ROLE_RANK[self.role] < ROLE_RANK[needed]:
            raise PermissionDenied(f"This needs the {needed.title()} role in this store.")
        self._scope = store_scope(self.store)
        self._scope.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        try:
            return super().finalize_response(request, response, *args, **kwargs)
        finally:
            if self._scope is not None:
                self._scope.__exit__(None, None, None)
                self._scope = None
