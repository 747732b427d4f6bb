"""Operator admin for customers, conversations, messages and the inbound ledger.

Messages and inbound records are written by the running system, so they are view-only here.
A conversation's page shows its latest messages read-only and links to all of them.
"""

from __future__ import annotations

from django.contrib import admin
from django.forms import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from apps.conversations.models import Conversation, Customer, InboundMessage, Message
from apps.stores.admin import StoreOwnedAdmin, ViewOnlyAdminMixin

# How many of a conversation's messages its admin page shows (the newest ones).
MESSAGE_INLINE_LIMIT = 50


@admin.register(Customer)
class CustomerAdmin(StoreOwnedAdmin):
    list_display = ("__str__", "email", "phone", "store", "company", "is_b2b", "is_opted_out", "created_at")
    list_filter = ("is_b2b", "is_opted_out", "accepts_marketing", "store", "created_at")
    list_select_related = ("store",)
    search_fields = ("=id", "email", "name", "phone", "company")
    autocomplete_fields = ("store", "account_rep")
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False


class LatestMessagesFormSet(BaseInlineFormSet):
    """Only the newest ``MESSAGE_INLINE_LIMIT`` messages, oldest first."""

    def get_queryset(self):
        if not hasattr(self, "_latest_messages"):
            newest_first = super().get_queryset().order_by("-created_at", "-id")[:MESSAGE_INLINE_LIMIT]
            self._latest_messages = list(reversed(newest_first))
        return self._latest_messages


class MessageInline(admin.TabularInline):
    model = Message
    formset = LatestMessagesFormSet
    fields = ("created_at", "role", "content", "confidence", "delivery_status", "author")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"latest messages (up to {MESSAGE_INLINE_LIMIT})"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(StoreOwnedAdmin):
    list_display = (
        "__str__",
        "store",
        "customer",
        "channel_type",
        "status",
        "sentiment",
        "intent_score",
        "cart_value",
        "assigned_agent",
        "last_message_at",
    )
    list_filter = ("status", "channel_type", "is_customer_verified", "store", "last_message_at", "created_at")
    list_select_related = ("store", "customer", "assigned_agent")
    search_fields = ("=id", "subject", "external_thread_id", "attributed_order_number", "customer__email")
    autocomplete_fields = ("store", "assigned_agent")
    raw_id_fields = ("customer", "channel")
    readonly_fields = ("messages_link", "last_message_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("store", "customer", "channel", "channel_type", "external_thread_id", "subject")}),
        (
            "State",
            {
                "fields": (
                    "status",
                    "assigned_agent",
                    "is_customer_verified",
                    "unresolved_turns",
                    "resolved_at",
                )
            },
        ),
        (
            "Signals",
            {
                "fields": (
                    "sentiment",
                    "intent_score",
                    "last_intent",
                    "cart_value",
                    "revenue_attributed",
                    "attributed_order_number",
                    "metadata",
                )
            },
        ),
        ("Messages", {"fields": ("messages_link", "last_message_at", "created_at", "updated_at")}),
    )
    date_hierarchy = "created_at"
    ordering = ("-last_message_at",)
    show_full_result_count = False
    inlines = (MessageInline,)

    def has_add_permission(self, request):
        # Conversations start from a shopper's message, through the services.
        return False

    @admin.display(description="All messages")
    def messages_link(self, obj):
        url = reverse("admin:conversations_message_changelist")
        return format_html('<a href="{}?conversation__id__exact={}">All messages</a>', url, obj.pk)


@admin.register(Message)
class MessageAdmin(ViewOnlyAdminMixin, StoreOwnedAdmin):
    list_display = (
        "created_at",
        "conversation",
        "store",
        "role",
        "short_content",
        "confidence",
        "delivery_status",
    )
    list_filter = ("role", "delivery_status", "store", "created_at")
    list_select_related = ("conversation", "store")
    search_fields = ("=conversation__id", "=external_id", "content")
    raw_id_fields = ("conversation", "author")
    ordering = ("-created_at",)
    show_full_result_count = False

    @admin.display(description="Content")
    def short_content(self, obj):
        return obj.content if len(obj.content) <= 80 else obj.content[:79] + "…"


@admin.register(InboundMessage)
class InboundMessageAdmin(ViewOnlyAdminMixin, StoreOwnedAdmin):
    list_display = (
        "received_at",
        "store",
        "channel_type",
        "provider_message_id",
        "outcome",
        "attempts",
        "completed_at",
    )
    list_filter = ("outcome", "channel_type", "store", "received_at")
    list_select_related = ("store",)
    search_fields = ("=provider_message_id", "=conversation__id")
    raw_id_fields = ("conversation", "message")
    ordering = ("-received_at",)
    show_full_result_count = False
