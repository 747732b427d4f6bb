"""``/v1/stores``: the caller's stores, their settings and API keys."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from apps.accounts.models import UserRole
from apps.stores import services
from apps.stores.models import ApiKey, Store, StoreSettings
from apps.stores.selectors import memberships_for_user
from apps.stores.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    StoreDeleteQuerySerializer,
    StoreSerializer,
    StoreSettingsSerializer,
    StoreUpdateSerializer,
)
from convix.api.authentication import api_key_of
from convix.api.serializers import NoFilters, validate_query
from convix.api.views import APIView, StoreAPIView

TAG = ["stores"]


class StoreListView(APIView):
    serializer_class = StoreSerializer

    def get_queryset(self):
        api_key = api_key_of(self.request)
        if api_key is not None:
            self.roles = {api_key.store_id: api_key.role}
            return Store.objects.filter(pk=api_key.store_id, is_active=True)
        self.roles = {m.store_id: m.role for m in memberships_for_user(user=self.request.user)}
        return Store.objects.filter(pk__in=list(self.roles), is_active=True)

    @extend_schema(tags=TAG, summary="The stores you belong to", responses={200: StoreSerializer(many=True)})
    def get(self, request):
        validate_query(NoFilters, request)  # no filters: only cursor, limit
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "-id"))
        data = StoreSerializer(page, many=True, context={"roles": self.roles}).data
        return self.get_paginated_response(data)

    @extend_schema(
        tags=TAG, summary="Create a store (you become its owner)", responses={201: StoreSerializer}
    )
    def post(self, request):
        if api_key_of(request) is not None:
            raise PermissionDenied("An API key acts in its own store only; sign in to create a store.")
        serializer = StoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        store = services.store_create(owner=request.user, **serializer.validated_data)
        return Response(
            StoreSerializer(store, context={"roles": {store.pk: UserRole.OWNER}}).data,
            status=status.HTTP_201_CREATED,
        )


class StoreDetailView(StoreAPIView):
    serializer_class = StoreUpdateSerializer
    roles = {"DELETE": UserRole.OWNER}

    def _data(self, store):
        return StoreSerializer(store, context={"roles": {store.pk: self.role}}).data

    @extend_schema(tags=TAG, summary="One of your stores", responses={200: StoreSerializer})
    def get(self, request, store_id):
        return Response(self._data(self.store))

    @extend_schema(tags=TAG, summary="Change a store's profile (admin)", responses={200: StoreSerializer})
    def patch(self, request, store_id):
        serializer = StoreUpdateSerializer(self.store, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        store = services.store_update(store=self.store, **serializer.validated_data)
        return Response(self._data(store))

    @extend_schema(
        tags=TAG,
        summary="Delete a store and all its data (owner; irreversible)",
        parameters=[OpenApiParameter("confirm", str, required=True, description="The store's slug.")],
        responses={204: None},
    )
    def delete(self, request, store_id):
        query = validate_query(StoreDeleteQuerySerializer, request)
        if query["confirm"] != self.store.slug:
            raise ValidationError({"confirm": ["Give the store's slug to confirm the deletion."]})
        services.store_delete(store=self.store)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StoreSettingsView(StoreAPIView):
    serializer_class = StoreSettingsSerializer
    roles = {"GET": UserRole.ADMIN}

    @extend_schema(tags=TAG, summary="The store's settings (admin)", responses={200: StoreSettingsSerializer})
    def get(self, request, store_id):
        store_settings, _ = StoreSettings.objects.get_or_create(store=self.store)
        return Response(StoreSettingsSerializer(store_settings).data)

    @extend_schema(
        tags=TAG, summary="Change the store's settings (admin)", responses={200: StoreSettingsSerializer}
    )
    def patch(self, request, store_id):
        store_settings, _ = StoreSettings.objects.get_or_create(store=self.store)
        serializer = StoreSettingsSerializer(store_settings, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        store_settings = services.store_settings_update(store=self.store, **serializer.validated_data)
        return Response(StoreSettingsSerializer(store_settings).data)


class MembersOnlyMixin:
    def check_permissions(self, request):
        super().check_permissions(request)
        if api_key_of(request) is not None:
            raise PermissionDenied("API keys are managed by signed-in members only.")


class ApiKeyListView(MembersOnlyMixin, StoreAPIView):
    serializer_class = ApiKeySerializer
    roles = {"GET": UserRole.ADMIN, "POST": UserRole.ADMIN}

    @extend_schema(
        tags=["api keys"],
        summary="The store's API keys (admin)",
        responses={200: ApiKeySerializer(many=True)},
    )
    def get(self, request, store_id):
        validate_query(NoFilters, request)
        page = self.paginate_queryset(ApiKey.objects.filter(store=self.store).order_by("-created_at", "-id"))
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(
        tags=["api keys"],
        summary="Create an API key; the key is in this answer only",
        responses={201: ApiKeyCreatedSerializer},
    )
    def post(self, request, store_id):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, key = services.api_key_create(
            store=self.store, created_by=request.user, **serializer.validated_data
        )
        api_key.key = key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(MembersOnlyMixin, StoreAPIView):
    serializer_class = ApiKeySerializer
    roles = {"DELETE": UserRole.ADMIN}

    @extend_schema(tags=["api keys"], summary="Revoke an API key (admin)", responses={204: None})
    def delete(self, request, store_id, key_id):
        api_key = ApiKey.objects.get(store=self.store, pk=key_id)
        services.api_key_revoke(store=self.store, api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
