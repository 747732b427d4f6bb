from __future__ import annotations

from rest_framework import serializers

from apps.channels.models import Channel, ChannelType
from convix.api.serializers import Serializer


class ChannelSerializer(serializers.ModelSerializer):
    """A channel as shown: credentials never leave the server."""

    config_keys = serializers.SerializerMethodField(
        help_text="Names of the saved settings (values never shown)."
    )

    class Meta:
        model = Channel
        fields = [
            "id",
            "type",
            "name",
            "public_config",
            "config_keys",
            "is_active",
            "status",
            "last_error",
            "last_tested_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_config_keys(self, channel) -> list[str]:
        return sorted((channel.config or {}).keys())


class ChannelCreateSerializer(Serializer):
    type = serializers.ChoiceField(choices=ChannelType.choices)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    config = serializers.DictField(
        required=False, default=dict, help_text="The type's settings, secrets included (write-only)."
    )


class ChannelUpdateSerializer(Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    config = serializers.DictField(
        required=False, help_text="Merged into the saved settings; a key set to null is removed."
    )
