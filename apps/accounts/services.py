"""Writes of users and their sessions: registration, refresh tokens, password reset."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.accounts.models import User


def user_register(*, email: str, password: str, name: str = "") -> User:
    """Create a user who signs in with ``email``. Raises ValidationError for a taken email or a
    weak password (the project's password validators)."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["An account with this email already exists."]})
    candidate = User(email=email, name=name)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    with transaction.atomic():
        return User.objects.create_user(email=email, password=password, name=name)


def user_revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of ``user`` (signs out every session)."""
    tokens = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    count = 0
    for token in tokens:
        BlacklistedToken.objects.get_or_create(token=token)
        count += 1
    return count


def password_reset_request(*, email: str) -> None:
    """Email a reset link to ``email`` if it belongs to an active user. Says nothing either way."""
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = f"{settings.PUBLIC_URL}/reset-password?uid={uid}&token={token}"
    send_mail(
        "Reset your Convix password",
        f"Someone asked to reset the password of {user.email}.\n\n"
        f"To choose a new password, open:\n{link}\n\n"
        f"Or send uid={uid} and token={token} to POST /v1/auth/reset-password.\n"
        "If it was not you, ignore this email.",
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


def password_reset_confirm(*, uid: str, token: str, password: str) -> User:
    """Set a new password from a reset link; signs every session out. ValidationError when the
    link is invalid or used, or the password is weak."""
    invalid = ValidationError({"token": ["This reset link is invalid or has already been used."]})
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (User.DoesNotExist, ValueError, TypeError, OverflowError, ValidationError):
        raise invalid from None
    if not default_token_generator.check_token(user, token):
        raise invalid
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password", "updated_at"])
        user_revoke_refresh_tokens(user=user)
    return user
