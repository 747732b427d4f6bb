"""Request and response shapes of the public widget API (validation and the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers


class CustomerClaimSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ConversationStartSerializer(serializers.Serializer):
    conversation = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="A token to resume, if the browser has one.",
    )
    customer = CustomerClaimSerializer(required=False)
    identity_hash = serializers.CharField(
        required=False, allow_blank=True, max_length=128, help_text="hex HMAC-SHA256(identity secret, email)"
    )
    page_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class StrictCharField(serializers.CharField):
    """Text only: a number or a list is an error, not silently turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MessageSendSerializer(serializers.Serializer):
    conversation = StrictCharField(max_length=500, help_text="The conversation token.")
    text = StrictCharField(max_length=100_000, allow_blank=True, trim_whitespace=False)
    wait = serializers.BooleanField(required=False, default=False)
    client_id = StrictCharField(
        required=False, max_length=64, help_text="The browser's id for this message; a resend is a no-op."
    )


class WidgetMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=["USER", "AI", "AGENT"])
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    confidence = serializers.DictField(required=False)
    handoff_trigger = serializers.CharField(required=False, allow_null=True)
    products = serializers.ListField(child=serializers.DictField(), required=False)
    orders = serializers.ListField(child=serializers.DictField(), required=False)
    quick_replies = serializers.ListField(child=serializers.CharField(), required=False)
    agent_name = serializers.CharField(required=False)


class ConversationStateSerializer(serializers.Serializer):
    status = serializers.CharField()
    agent_name = serializers.CharField(allow_blank=True)
    is_handed_off = serializers.BooleanField()


class ConversationStartResponseSerializer(serializers.Serializer):
    conversation = serializers.CharField(help_text="The conversation token; keep it to resume.")
    is_new = serializers.BooleanField()
    state = ConversationStateSerializer()
    messages = WidgetMessageSerializer(many=True)


class MessageSendResponseSerializer(serializers.Serializer):
    message = WidgetMessageSerializer(help_text="The shopper's saved message.")
    reply = WidgetMessageSerializer(required=False, allow_null=True)
    status = serializers.CharField()
    trigger = serializers.CharField(required=False, allow_null=True)
    pending = serializers.BooleanField(help_text="True when the reply will arrive over the socket.")


class WidgetErrorSerializer(serializers.Serializer):
    error = serializers.DictField(help_text='{"code": "...", "message": "..."}')
