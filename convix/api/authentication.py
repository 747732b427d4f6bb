"""How API callers prove who they are: a JWT access token or a store API key."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt import authentication as jwt_authentication

API_KEY_PREFIX = "cvx_"
API_KEY_KEYWORD = "Api-Key"


class JWTAuthentication(jwt_authentication.JWTAuthentication):
    """``Authorization: Bearer <access token>`` (simplejwt). Inactive users are refused."""


def api_key_generate() -> tuple[str, str, str]:
    """A new key: (the key to show once, its prefix to list it by, its hash to store)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12], api_key_hash(key)


def api_key_hash(key: str) -> str:
    # The key has 256 bits of randomness: a plain SHA-256 cannot be brute-forced, and it lets
    # a request find its key with one indexed lookup.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyPrincipal:
    """``request.user`` for a request made with an API key: it acts in the key's store only."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key) -> None:
        self.api_key = api_key
        self.pk = self.id = f"api-key:{api_key.pk}"

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key cvx_...``: a store-scoped key made in the dashboard or the API."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, key = header.partition(" ")
        if keyword != API_KEY_KEYWORD:
            return None
        key = key.strip()
        if not key.startswith(API_KEY_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        from apps.stores.models import ApiKey
        from convix.tenancy import unscoped

        with unscoped("api-key-auth"):
            api_key = (
                ApiKey.objects.select_related("store")
                .filter(key_hash=api_key_hash(key), revoked_at__isnull=True, store__is_active=True)
                .first()
            )
            if api_key is None:
                raise exceptions.AuthenticationFailed("Invalid API key.")
            now = timezone.now()
            if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
                ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return API_KEY_KEYWORD


def api_key_of(request):
    """The API key a request was made with, or None (a JWT user)."""
    user = getattr(request, "user", None)
    return user.api_key if isinstance(user, ApiKeyPrincipal) else None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "convix.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A store API key: `Api-Key cvx_...`. It acts in its own store only.",
        }


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "convix.api.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /v1/auth/login` (15 minutes).",
        }
