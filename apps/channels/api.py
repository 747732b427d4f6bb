"""``/v1/stores/<store_id>/channels``: list, add, change, remove, test a connection."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.accounts.models import UserRole
from apps.channels import services
from apps.channels.models import Channel
from apps.channels.serializers import ChannelCreateSerializer, ChannelSerializer, ChannelUpdateSerializer
from convix.api.serializers import NoFilters, validate_query
from convix.api.views import StoreAPIView

TAG = ["channels"]


class ChannelListView(StoreAPIView):
    serializer_class = ChannelCreateSerializer
    roles = {"GET": UserRole.ADMIN}

    @extend_schema(
        tags=TAG,
        summary="The store's channels and their status (admin)",
        responses={200: ChannelSerializer(many=True)},
    )
    def get(self, request, store_id):
        validate_query(NoFilters, request)
        page = self.paginate_queryset(Channel.objects.filter(store=self.store).order_by("-created_at", "-id"))
        return self.get_paginated_response(ChannelSerializer(page, many=True).data)

    @extend_schema(tags=TAG, summary="Add a channel (admin)", responses={201: ChannelSerializer})
    def post(self, request, store_id):
        serializer = ChannelCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = services.channel_create(store=self.store, **serializer.validated_data)
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailView(StoreAPIView):
    serializer_class = ChannelUpdateSerializer
    roles = {"GET": UserRole.ADMIN}

    def channel(self, channel_id) -> Channel:
        return Channel.objects.get(store=self.store, pk=channel_id)

    @extend_schema(tags=TAG, summary="One channel (admin)", responses={200: ChannelSerializer})
    def get(self, request, store_id, channel_id):
        return Response(ChannelSerializer(self.channel(channel_id)).data)

    @extend_schema(
        tags=TAG,
        summary="Change a channel's name, activity or settings (admin)",
        responses={200: ChannelSerializer},
    )
    def patch(self, request, store_id, channel_id):
        channel = self.channel(channel_id)
        serializer = ChannelUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = services.channel_update(store=self.store, channel=channel, **serializer.validated_data)
        return Response(ChannelSerializer(channel).data)

    @extend_schema(tags=TAG, summary="Remove a channel (admin)", responses={204: None})
    def delete(self, request, store_id, channel_id):
        services.channel_delete(store=self.store, channel=self.channel(channel_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelTestView(StoreAPIView):
    serializer_class = NoFilters

    @extend_schema(
        tags=TAG,
        summary="Test the channel's connection (admin)",
        request=None,
        responses={200: ChannelSerializer},
    )
    def post(self, request, store_id, channel_id):
        channel = Channel.objects.get(store=self.store, pk=channel_id)
        channel = services.channel_test(store=self.store, channel=channel)
        return Response(ChannelSerializer(channel).data)
