from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import UserRole
from convix.api.serializers import Serializer


class RegisterSerializer(Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LoginSerializer(Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128)


class RefreshSerializer(Serializer):
    refresh = serializers.CharField(
        required=False, help_text="The refresh token, for clients without cookies (else the cookie is used)."
    )


class ForgotPasswordSerializer(Serializer):
    email = serializers.EmailField(max_length=254)


class ResetPasswordSerializer(Serializer):
    uid = serializers.CharField(max_length=100)
    token = serializers.CharField(max_length=100)
    password = serializers.CharField(write_only=True, max_length=128)


class MembershipSerializer(serializers.Serializer):
    store_id = serializers.UUIDField(source="store.id")
    store_name = serializers.CharField(source="store.name")
    role = serializers.ChoiceField(choices=UserRole.choices)


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    date_joined = serializers.DateTimeField()


class MeSerializer(UserSerializer):
    stores = MembershipSerializer(many=True)


class TokenSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    access_expires_at = serializers.DateTimeField()
    token_type = serializers.CharField(default="Bearer")
    user = UserSerializer()
