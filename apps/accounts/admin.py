"""Operator admin for users: Django's UserAdmin adapted to the email-based user (no username)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from apps.accounts.models import User
from apps.stores.models import StoreMembership


def _clean_unique_email(form: forms.ModelForm) -> str:
    """The email, lowercased as the user manager stores it, and not taken in any letter case."""
    email = User.objects.normalize_email(form.cleaned_data["email"]).lower()
    taken = User.objects.filter(email__iexact=email).exclude(pk=form.instance.pk)
    if taken.exists():
        raise forms.ValidationError("A user with this email address already exists.", code="unique")
    return email


class UserAddForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")

    def clean_email(self):
        return _clean_unique_email(self)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        return _clean_unique_email(self)


class UserMembershipInline(admin.TabularInline):
    """The stores a user belongs to, on the user's page."""

    model = StoreMembership
    fk_name = "user"
    fields = ("store", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("store",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "updated_at")
    list_display = (
        "email",
        "name",
        "role",
        "is_staff",
        "is_superuser",
        "is_active",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "role", "groups", "date_joined")
    search_fields = ("=id", "email", "name")
    ordering = ("email",)
    date_hierarchy = "date_joined"
    inlines = (UserMembershipInline,)

    def get_inlines(self, request, obj):
        # Memberships are added once the user exists.
        return self.inlines if obj is not None else ()
