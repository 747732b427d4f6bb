"""``/v1/stores/<store_id>/conversations``: list with filters, one with its messages, status
changes and manual handoffs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.accounts.models import UserRole
from apps.conversations import selectors
from apps.conversations.serializers import (
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationSerializer,
    ConversationStatusSerializer,
    HandoffRequestSerializer,
    HandoffSerializer,
    conversation_row,
)
from apps.handoff import services as handoff_services
from apps.handoff.models import Handoff
from convix.api.authentication import api_key_of
from convix.api.pagination import CursorPagination
from convix.api.serializers import validate_query
from convix.api.views import StoreAPIView

TAG = ["conversations"]
PAGE_PARAMS = ("cursor", "limit")


class ConversationPagination(CursorPagination):
    ordering = ("-last_message_at", "-id")


class ConversationListView(StoreAPIView):
    serializer_class = ConversationSerializer
    pagination_class = ConversationPagination

    @extend_schema(
        tags=TAG,
        summary="The store's conversations, most recent activity first",
        parameters=[ConversationFilterSerializer],
        responses={200: ConversationSerializer(many=True)},
    )
    def get(self, request, store_id):
        filters = selectors.ConversationFilters()
        if any(key not in PAGE_PARAMS for key in request.query_params):  # else nothing to validate
            filters = selectors.ConversationFilters(**validate_query(ConversationFilterSerializer, request))
        rows = selectors.conversation_list_rows(store=self.store, filters=filters)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([conversation_row(row) for row in page])


def _detail(store, conversation):
    conversation.messages_list = selectors.conversation_messages(store=store, conversation=conversation)
    data = ConversationSerializer(conversation).data
    from apps.conversations.serializers import MessageSerializer

    data["messages"] = MessageSerializer(conversation.messages_list, many=True).data
    data["handoffs"] = HandoffSerializer(
        Handoff.objects.filter(store=store, conversation=conversation).order_by("-created_at"), many=True
    ).data
    return data


class ConversationDetailView(StoreAPIView):
    serializer_class = ConversationStatusSerializer
    roles = {"PATCH": UserRole.AGENT}

    @extend_schema(
        tags=TAG,
        summary="A conversation with its messages and handoffs",
        responses={200: ConversationDetailSerializer},
    )
    def get(self, request, store_id, conversation_id):
        conversation = selectors.conversation_get(store=self.store, conversation_id=conversation_id)
        return Response(_detail(self.store, conversation))

    @extend_schema(
        tags=TAG,
        summary="Set the status: ACTIVE, RESOLVED (resolves its handoffs) or ABANDONED",
        request=ConversationStatusSerializer,
        responses={200: ConversationDetailSerializer},
    )
    def patch(self, request, store_id, conversation_id):
        conversation = selectors.conversation_get(store=self.store, conversation_id=conversation_id)
        serializer = ConversationStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        by = None if api_key_of(request) else request.user
        conversation = handoff_services.conversation_status_set(
            store=self.store, conversation=conversation, status=serializer.validated_data["status"], by=by
        )
        return Response(
            _detail(self.store, selectors.conversation_get(store=self.store, conversation_id=conversation.pk))
        )


class ConversationHandoffView(StoreAPIView):
    serializer_class = HandoffRequestSerializer
    roles = {"POST": UserRole.AGENT}

    @extend_schema(
        tags=TAG,
        summary="Hand the conversation to a human now (returns the open handoff if there is one)",
        responses={201: HandoffSerializer},
    )
    def post(self, request, store_id, conversation_id):
        conversation = selectors.conversation_get(store=self.store, conversation_id=conversation_id)
        serializer = HandoffRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        handoff = handoff_services.handoff_create(
            store=self.store, conversation=conversation, trigger=serializer.validated_data["trigger"]
        )
        return Response(HandoffSerializer(handoff).data, status=status.HTTP_201_CREATED)
