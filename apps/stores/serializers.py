from __future__ import annotations

import zoneinfo

from django.core.validators import URLValidator
from rest_framework import serializers

from apps.accounts.models import UserRole
from apps.stores.models import ApiKey, Store, StoreSettings
from convix.api.serializers import ModelSerializer, Serializer

TIMEZONES = sorted(zoneinfo.available_timezones())


class StoreSerializer(ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in this store.")
    timezone = serializers.ChoiceField(choices=TIMEZONES, required=False)

    class Meta:
        model = Store
        fields = [
            "id",
            "name",
            "slug",
            "domain",
            "platform",
            "plan_tier",
            "currency",
            "timezone",
            "support_email",
            "phone",
            "address",
            "is_active",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "plan_tier", "is_active", "created_at", "updated_at"]
        extra_kwargs = {
            "slug": {"required": False, "validators": []},
            "currency": {"min_length": 3},
        }

    def get_role(self, store) -> str:
        return self.context.get("roles", {}).get(store.pk, "")


class StoreUpdateSerializer(StoreSerializer):
    class Meta(StoreSerializer.Meta):
        read_only_fields = [*StoreSerializer.Meta.read_only_fields, "slug"]


class StoreDeleteQuerySerializer(Serializer):
    confirm = serializers.CharField(help_text="The store's slug, to confirm the deletion.")


SECRET_FIELDS = ("zendesk_api_token", "gorgias_api_key", "freshdesk_api_key")


class StoreSettingsSerializer(ModelSerializer):
    zendesk_api_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=500,
        help_text="Write-only. Blank keeps the saved token; null clears it.",
    )
    gorgias_api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=500,
        help_text="Write-only. Blank keeps the saved key; null clears it.",
    )
    freshdesk_api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=500,
        help_text="Write-only. Blank keeps the saved key; null clears it.",
    )
    zendesk_api_token_set = serializers.SerializerMethodField()
    gorgias_api_key_set = serializers.SerializerMethodField()
    freshdesk_api_key_set = serializers.SerializerMethodField()
    timezone = serializers.ChoiceField(choices=TIMEZONES, required=False)
    forbidden_topics = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=100
    )
    allowed_domains = serializers.ListField(
        child=serializers.CharField(max_length=253), required=False, max_length=100
    )
    business_hours = serializers.DictField(
        child=serializers.ListField(
            child=serializers.ListField(
                child=serializers.RegexField(r"^\d\d:\d\d$"), min_length=2, max_length=2
            )
        ),
        required=False,
    )
    primary_color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    # Blank or an http(s) URL; a CharField so that blank is valid in the schema too.
    avatar_url = serializers.CharField(
        required=False, allow_blank=True, max_length=200, validators=[URLValidator(schemes=["http", "https"])]
    )

    class Meta:
        model = StoreSettings
        exclude = ["id", "store"]
        read_only_fields = ["updated_at"]

    def get_zendesk_api_token_set(self, obj) -> bool:
        return bool(obj.zendesk_api_token)

    def get_gorgias_api_key_set(self, obj) -> bool:
        return bool(obj.gorgias_api_key)

    def get_freshdesk_api_key_set(self, obj) -> bool:
        return bool(obj.freshdesk_api_key)

    def validate_business_hours(self, value):
        days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
        unknown = set(value) - days
        if unknown:
            raise serializers.ValidationError(f"Unknown days: {', '.join(sorted(unknown))}.")
        return value


class ApiKeySerializer(ModelSerializer):
    role = serializers.ChoiceField(choices=[UserRole.ADMIN, UserRole.AGENT], default=UserRole.ADMIN)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "is_active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself. Shown this once only: keep it safe."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
