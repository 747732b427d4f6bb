"""Operator admin for handoffs. They are opened by the conversation flow, never by hand."""

from __future__ import annotations

from django.contrib import admin

from apps.handoff.models import Handoff
from apps.stores.admin import StoreOwnedAdmin


@admin.register(Handoff)
class HandoffAdmin(StoreOwnedAdmin):
    list_display = (
        "created_at",
        "store",
        "conversation",
        "trigger",
        "status",
        "destination",
        "assigned_to",
        "confidence",
        "resolved_at",
    )
    list_filter = ("status", "trigger", "destination", "store", "created_at")
    list_select_related = ("store", "conversation", "assigned_to")
    search_fields = ("=conversation__id", "helpdesk_ticket_id", "summary", "learning_note")
    autocomplete_fields = ("store", "assigned_to")
    raw_id_fields = ("conversation",)
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("store", "conversation", "trigger", "confidence", "summary", "created_at")}),
        ("Routing", {"fields": ("status", "destination", "assigned_to", "assigned_at", "resolved_at")}),
        ("Helpdesk", {"fields": ("helpdesk_ticket_id", "helpdesk_ticket_url")}),
        ("Learning", {"fields": ("learning_note", "learned_at")}),
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False
