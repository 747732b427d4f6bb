from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from apps.channels.models import ChannelType
from apps.conversations.models import Conversation, ConvStatus, Customer, Message
from apps.handoff.models import Handoff, HandoffTrigger
from convix.api.serializers import Serializer


class ConversationFilterSerializer(Serializer):
    status = serializers.ChoiceField(choices=ConvStatus.choices, required=False)
    channel = serializers.ChoiceField(choices=ChannelType.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Started at or after (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Started before (ISO 8601).")
    handed_off = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(
        required=False, max_length=200, help_text="Text in the subject, customer or messages."
    )

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "is_b2b"]


class ConversationSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer(read_only=True, allow_null=True)
    channel_id = serializers.UUIDField(read_only=True, allow_null=True)
    assigned_agent_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "channel_type",
            "channel_id",
            "subject",
            "customer",
            "sentiment",
            "intent_score",
            "last_intent",
            "cart_value",
            "revenue_attributed",
            "assigned_agent_id",
            "last_message_at",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields


def _datetime(value: datetime | None) -> str | None:
    # As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as "Z".
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _decimal(value: Decimal) -> str:
    # As DRF's DecimalField writes it: a string with the column's two decimal places.
    return f"{value.quantize(Decimal('0.01')):f}"


def conversation_row(row: dict) -> dict:
    """A row of ``selectors.conversation_list_rows`` as ``ConversationSerializer`` writes the
    conversation (same keys, same formats; the schema stays ``ConversationSerializer``). The list
    is the API's busiest read, and DRF's per-field machinery cost more than the query."""
    customer_id = row["customer_id"]
    channel_id = row["channel_id"]
    agent_id = row["assigned_agent_id"]
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "channel_type": row["channel_type"],
        "channel_id": None if channel_id is None else str(channel_id),
        "subject": row["subject"],
        "customer": None
        if customer_id is None
        else {
            "id": str(customer_id),
            "name": row["customer__name"],
            "email": row["customer__email"],
            "phone": row["customer__phone"],
            "is_b2b": row["customer__is_b2b"],
        },
        "sentiment": float(row["sentiment"]),
        "intent_score": float(row["intent_score"]),
        "last_intent": row["last_intent"],
        "cart_value": _decimal(row["cart_value"]),
        "revenue_attributed": _decimal(row["revenue_attributed"]),
        "assigned_agent_id": None if agent_id is None else str(agent_id),
        "last_message_at": _datetime(row["last_message_at"]),
        "created_at": _datetime(row["created_at"]),
        "resolved_at": _datetime(row["resolved_at"]),
    }


class MessageSerializer(serializers.ModelSerializer):
    author_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = ["id", "role", "content", "confidence", "delivery_status", "author_id", "created_at"]
        read_only_fields = fields


class HandoffSerializer(serializers.ModelSerializer):
    assigned_to_id = serializers.UUIDField(read_only=True, allow_null=True)
    helpdesk_ticket_url = serializers.CharField(read_only=True, help_text="The ticket's URL, or blank.")

    class Meta:
        model = Handoff
        fields = [
            "id",
            "trigger",
            "status",
            "destination",
            "summary",
            "confidence",
            "assigned_to_id",
            "helpdesk_ticket_url",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(
        many=True, read_only=True, help_text="The latest 500 messages, oldest first."
    )
    handoffs = HandoffSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages", "handoffs"]
        read_only_fields = fields


class ConversationStatusSerializer(Serializer):
    status = serializers.ChoiceField(choices=[ConvStatus.ACTIVE, ConvStatus.RESOLVED, ConvStatus.ABANDONED])


class HandoffRequestSerializer(Serializer):
    trigger = serializers.ChoiceField(choices=HandoffTrigger.choices, default=HandoffTrigger.EXPLICIT_REQUEST)
