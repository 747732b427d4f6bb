"""Operator admin for channels. ``Channel.config`` holds credentials: it is shown only as its
keys with masked values and changed only through a write-only update field."""

from __future__ import annotations

from django.contrib import admin

from apps.channels.models import Channel
from apps.stores.admin import (
    SecretMappingUpdateField,
    StoreOwnedAdmin,
    StoreOwnedForm,
    WriteOnlySecretsForm,
    masked_mapping,
)


class ChannelForm(WriteOnlySecretsForm, StoreOwnedForm):
    config_update = SecretMappingUpdateField(label="Update credentials")

    write_only_mappings = {"config_update": "config"}


@admin.register(Channel)
class ChannelAdmin(StoreOwnedAdmin):
    form = ChannelForm
    exclude = ("config",)
    fieldsets = (
        (None, {"fields": ("store", "type", "name", "is_active", "routing_key", "public_config")}),
        ("Credentials", {"fields": ("config_keys", "config_update")}),
        ("Status", {"fields": ("status", "last_error", "last_tested_at", "created_at", "updated_at")}),
    )
    readonly_fields = ("config_keys", "last_tested_at", "created_at", "updated_at")
    list_display = (
        "__str__",
        "name",
        "type",
        "store",
        "status",
        "is_active",
        "routing_key",
        "config_keys",
        "last_tested_at",
    )
    list_filter = ("type", "status", "is_active", "store", "created_at")
    list_select_related = ("store",)
    search_fields = ("name", "routing_key", "store__name", "store__slug")
    autocomplete_fields = ("store",)
    ordering = ("store__name", "type")

    @admin.display(description="Credentials")
    def config_keys(self, obj):
        return masked_mapping(obj.config)
