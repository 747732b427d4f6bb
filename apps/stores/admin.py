"""Operator admin for stores, their settings, members, catalog and orders.

Also home of the admin building blocks the other apps' admins share (they import from here,
following the app order accounts → stores → everything else):

- secrets are never rendered: encrypted fields stay out of every form, a read-only column says
  "configured" or "not set" (or lists a mapping's keys with masked values), and staff set a new
  value through a write-only field (empty keeps the current value);
- a store-owned object's store is chosen once, on add, and every other store-owned object it
  points to must belong to that same store.

Admin requests run unscoped (``convix.middleware.AdminUnscopedMiddleware``), so nothing here
switches store scopes.
"""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Sum

from apps.stores.models import (
    Order,
    Product,
    ProductVariant,
    Store,
    StoreInvitation,
    StoreMembership,
    StoreSettings,
)
from apps.stores.services import store_setup

MASK = "••••"
CONFIGURED = "configured"
NOT_SET = "not set"
WRITE_ONLY_HELP = "Write-only: the current value is never shown. Leave empty to keep it."


# --- secrets ----------------------------------------------------------------------------------


def secret_status(value) -> str:
    """What the admin shows instead of a secret: whether one is set."""
    return CONFIGURED if value else NOT_SET


def masked_mapping(mapping) -> str:
    """A secret mapping's keys with every value masked: ``access_token: ••••, app_secret: ••••``."""
    if not mapping:
        return NOT_SET
    if not isinstance(mapping, dict):
        return CONFIGURED
    return ", ".join(f"{key}: {MASK}" for key in sorted(mapping))


def write_only_secret_field(model: type[models.Model], field_name: str, label: str) -> forms.CharField:
    """A form field that sets ``model.field_name`` and never renders a value back."""
    model_field = model._meta.get_field(field_name)
    return forms.CharField(
        label=label,
        required=False,
        max_length=model_field.max_length,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=WRITE_ONLY_HELP,
    )


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value, not even the one just submitted with an error."""

    def format_value(self, value):
        return None


class SecretMappingUpdateField(forms.JSONField):
    """A JSON object of keys to set in a secret mapping; ``null`` removes a key, empty changes nothing."""

    widget = WriteOnlyTextarea

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            'Write-only. A JSON object of keys to set, e.g. {"access_token": "..."}; a null value '
            "removes the key; other keys are kept. Leave empty to change nothing.",
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError("Enter a JSON object.", code="invalid")
        return value

    def prepare_value(self, value):
        # Never echo a value back, not even a rejected submission.
        return ""

    def has_changed(self, initial, data):
        return bool(data and str(data).strip())


class WriteOnlySecretsForm(forms.ModelForm):
    """A model form whose write-only fields update encrypted model fields on save.

    ``write_only_secrets`` maps a form field to the model field it sets when not empty;
    ``write_only_mappings`` maps a form field to a JSON model field it merges into.
    Subclasses declare the form fields themselves (see ``write_only_secret_field``).
    """

    write_only_secrets: ClassVar[dict[str, str]] = {}
    write_only_mappings: ClassVar[dict[str, str]] = {}

    def save(self, commit=True):
        for form_field, model_field in self.write_only_secrets.items():
            value = self.cleaned_data.get(form_field)
            if value:
                setattr(self.instance, model_field, value)
        for form_field, model_field in self.write_only_mappings.items():
            update = self.cleaned_data.get(form_field)
            if update:
                merged = dict(getattr(self.instance, model_field) or {})
                for key, value in update.items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                setattr(self.instance, model_field, merged)
        return super().save(commit=commit)


# --- store-owned objects ----------------------------------------------------------------------


class StoreOwnedForm(forms.ModelForm):
    """Every store-owned object this object points to must belong to the same store."""

    def clean(self):
        cleaned_data = super().clean()
        store = cleaned_data.get("store")
        store_id = store.pk if store is not None else self.instance.store_id
        if store_id is None:
            return cleaned_data
        for name, value in list(cleaned_data.items()):
            if name == "store" or not isinstance(value, models.Model):
                continue
            related_store_id = getattr(value, "store_id", None)
            if related_store_id is not None and related_store_id != store_id:
                self.add_error(name, "This belongs to another store.")
        return cleaned_data

    def _get_validation_exclusions(self):
        # The store is read-only on change and comes from the parent in inlines, so it is not a
        # form field and Django would skip every (store, ...) uniqueness rule, letting a clash
        # reach the database as an IntegrityError. Check them whenever the store is known.
        exclude = super()._get_validation_exclusions()
        if self.instance.store_id is not None and "store" not in self.fields:
            exclude.discard("store")
        return exclude


class StoreOwnedAdmin(admin.ModelAdmin):
    """Base admin of a store-owned model: the store is picked on add and read-only afterwards,
    since moving one object to another store would split it from the rest of its data."""

    form = StoreOwnedForm

    def get_readonly_fields(self, request, obj=None):
        readonly_fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and "store" not in readonly_fields:
            readonly_fields = ("store", *readonly_fields)
        return readonly_fields


class ViewOnlyAdminMixin:
    """For records the running system writes (messages, the inbound ledger, chunks): staff can
    look and delete, never add or edit, because an edit here would bypass the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- store settings ---------------------------------------------------------------------------


class StoreSettingsForm(WriteOnlySecretsForm, StoreOwnedForm):
    new_zendesk_api_token = write_only_secret_field(
        StoreSettings, "zendesk_api_token", "New Zendesk API token"
    )
    new_gorgias_api_key = write_only_secret_field(StoreSettings, "gorgias_api_key", "New Gorgias API key")
    new_freshdesk_api_key = write_only_secret_field(
        StoreSettings, "freshdesk_api_key", "New Freshdesk API key"
    )

    write_only_secrets = {
        "new_zendesk_api_token": "zendesk_api_token",
        "new_gorgias_api_key": "gorgias_api_key",
        "new_freshdesk_api_key": "freshdesk_api_key",
    }


STORE_SETTINGS_SECRETS = ("zendesk_api_token", "gorgias_api_key", "freshdesk_api_key")
STORE_SETTINGS_FIELDSETS = (
    (
        "Agent",
        {
            "fields": (
                "brand_voice",
                "language",
                "forbidden_topics",
                "confidence_threshold",
                "high_value_cart_threshold",
            )
        },
    ),
    ("Handoff", {"fields": ("handoff_destination", "business_hours", "timezone", "after_hours_message")}),
    (
        "Widget",
        {
            "fields": (
                "greeting",
                "launcher_text",
                "primary_color",
                "position",
                "avatar_url",
                "allowed_domains",
            )
        },
    ),
    (
        "Zendesk",
        {
            "fields": (
                "zendesk_subdomain",
                "zendesk_email",
                "zendesk_api_token_status",
                "new_zendesk_api_token",
            )
        },
    ),
    (
        "Gorgias",
        {"fields": ("gorgias_domain", "gorgias_email", "gorgias_api_key_status", "new_gorgias_api_key")},
    ),
    ("Freshdesk", {"fields": ("freshdesk_domain", "freshdesk_api_key_status", "new_freshdesk_api_key")}),
)


class StoreSettingsSecretsDisplay:
    """Read-only columns standing in for the helpdesk keys."""

    @admin.display(description="Zendesk API token")
    def zendesk_api_token_status(self, obj):
        return secret_status(obj.zendesk_api_token)

    @admin.display(description="Gorgias API key")
    def gorgias_api_key_status(self, obj):
        return secret_status(obj.gorgias_api_key)

    @admin.display(description="Freshdesk API key")
    def freshdesk_api_key_status(self, obj):
        return secret_status(obj.freshdesk_api_key)


@admin.register(StoreSettings)
class StoreSettingsAdmin(StoreSettingsSecretsDisplay, StoreOwnedAdmin):
    form = StoreSettingsForm
    exclude = STORE_SETTINGS_SECRETS
    fieldsets = ((None, {"fields": ("store", "updated_at")}), *STORE_SETTINGS_FIELDSETS)
    readonly_fields = (
        "zendesk_api_token_status",
        "gorgias_api_key_status",
        "freshdesk_api_key_status",
        "updated_at",
    )
    list_display = (
        "store",
        "handoff_destination",
        "language",
        "confidence_threshold",
        "zendesk_api_token_status",
        "gorgias_api_key_status",
        "freshdesk_api_key_status",
        "updated_at",
    )
    list_filter = ("handoff_destination", "language", "store")
    list_select_related = ("store",)
    search_fields = ("store__name", "store__slug")
    autocomplete_fields = ("store",)
    ordering = ("store__name",)


class StoreSettingsInline(StoreSettingsSecretsDisplay, admin.StackedInline):
    model = StoreSettings
    form = StoreSettingsForm
    exclude = STORE_SETTINGS_SECRETS
    fieldsets = STORE_SETTINGS_FIELDSETS
    readonly_fields = ("zendesk_api_token_status", "gorgias_api_key_status", "freshdesk_api_key_status")
    can_delete = False
    min_num = 0
    max_num = 1
    extra = 1


# --- memberships ------------------------------------------------------------------------------


@admin.register(StoreMembership)
class StoreMembershipAdmin(StoreOwnedAdmin):
    list_display = ("user", "store", "role", "created_at")
    list_filter = ("role", "store", "created_at")
    list_select_related = ("user", "store")
    search_fields = ("user__email", "user__name", "store__name", "store__slug")
    autocomplete_fields = ("store", "user")
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"
    ordering = ("store__name", "user__email")


@admin.register(StoreInvitation)
class StoreInvitationAdmin(ViewOnlyAdminMixin, StoreOwnedAdmin):
    """Invitations are made and accepted through the dashboard (the emailed key is never kept);
    staff can look them up and delete one."""

    list_display = ("email", "store", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role", "store", "created_at")
    list_select_related = ("store",)
    search_fields = ("email", "store__name", "store__slug")
    exclude = ("key_hash",)
    date_hierarchy = "created_at"


class StoreMembershipInline(admin.TabularInline):
    """The members of a store, on the store's page."""

    model = StoreMembership
    fk_name = "store"
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0


# --- stores -----------------------------------------------------------------------------------


class StoreForm(WriteOnlySecretsForm):
    new_api_key = write_only_secret_field(Store, "api_key", "New API key")
    new_api_secret = write_only_secret_field(Store, "api_secret", "New API secret")
    platform_config_update = SecretMappingUpdateField(label="Update platform config")

    write_only_secrets = {"new_api_key": "api_key", "new_api_secret": "api_secret"}
    write_only_mappings = {"platform_config_update": "platform_config"}


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    form = StoreForm
    exclude = ("api_key", "api_secret", "platform_config", "identity_secret")
    fieldsets = (
        (None, {"fields": ("name", "slug", "domain", "owner", "is_active", "plan_tier")}),
        ("Locale and support", {"fields": ("currency", "timezone", "support_email")}),
        (
            "Store platform",
            {
                "fields": (
                    "platform",
                    "api_key_status",
                    "new_api_key",
                    "api_secret_status",
                    "new_api_secret",
                    "platform_config_keys",
                    "platform_config_update",
                )
            },
        ),
        ("Widget identity", {"fields": ("identity_secret_status",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = (
        "api_key_status",
        "api_secret_status",
        "platform_config_keys",
        "identity_secret_status",
        "created_at",
        "updated_at",
    )
    list_display = (
        "name",
        "slug",
        "owner",
        "platform",
        "plan_tier",
        "is_active",
        "api_key_status",
        "created_at",
    )
    list_filter = ("platform", "plan_tier", "is_active", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "domain", "support_email", "owner__email")
    autocomplete_fields = ("owner",)
    prepopulated_fields = {"slug": ("name",)}
    date_hierarchy = "created_at"
    ordering = ("name",)
    inlines = (StoreSettingsInline, StoreMembershipInline)

    @admin.display(description="API key")
    def api_key_status(self, obj):
        return secret_status(obj.api_key)

    @admin.display(description="API secret")
    def api_secret_status(self, obj):
        return secret_status(obj.api_secret)

    @admin.display(description="Platform config")
    def platform_config_keys(self, obj):
        return masked_mapping(obj.platform_config)

    @admin.display(description="Identity secret")
    def identity_secret_status(self, obj):
        return secret_status(obj.identity_secret)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            # Every store has settings and counts its owner as a member (what store_create
            # does); the admin saved the store itself, so it completes it the same way.
            store_setup(store=form.instance)


# --- catalog and orders -----------------------------------------------------------------------


class ProductVariantInlineFormSet(forms.BaseInlineFormSet):
    """Variants take their store from the product (the inline has no store field)."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.store_id = self.instance.store_id
        return form


class ProductVariantInline(admin.TabularInline):
    model = ProductVariant
    form = StoreOwnedForm
    formset = ProductVariantInlineFormSet
    fields = ("sku", "title", "options", "price", "stock", "is_active", "external_id")
    extra = 0


@admin.register(Product)
class ProductAdmin(StoreOwnedAdmin):
    list_display = ("title", "sku", "store", "price", "currency", "total_stock", "is_active", "synced_at")
    list_filter = ("is_active", "store", "synced_at")
    list_select_related = ("store",)
    search_fields = ("title", "sku", "handle", "external_id")
    autocomplete_fields = ("store",)
    readonly_fields = ("total_stock", "synced_at", "created_at", "updated_at")
    ordering = ("title",)
    inlines = (ProductVariantInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(variant_stock=Sum("variants__stock"))

    @admin.display(description="Stock", ordering="variant_stock")
    def total_stock(self, obj):
        return getattr(obj, "variant_stock", None) or 0


@admin.register(ProductVariant)
class ProductVariantAdmin(StoreOwnedAdmin):
    list_display = ("sku", "title", "product", "store", "price", "stock", "is_active")
    list_filter = ("is_active", "store")
    list_select_related = ("product", "store")
    search_fields = ("sku", "title", "external_id", "product__title", "product__sku")
    autocomplete_fields = ("store",)
    raw_id_fields = ("product",)
    ordering = ("product__title", "sku")


@admin.register(Order)
class OrderAdmin(StoreOwnedAdmin):
    list_display = ("number", "store", "email", "status", "total", "currency", "placed_at", "shipped_at")
    list_filter = ("status", "store", "placed_at")
    list_select_related = ("store",)
    search_fields = ("number", "email", "external_id", "tracking_number")
    autocomplete_fields = ("store",)
    readonly_fields = ("synced_at", "updated_at")
    date_hierarchy = "placed_at"
    ordering = ("-placed_at",)
