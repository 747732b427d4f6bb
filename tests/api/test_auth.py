"""Auth endpoints and the token lifecycle: expiry, rotation, reuse of a rotated token, logout."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import User
from tests.api.conftest import error_of

PASSWORD = "correct-horse-battery"
COOKIE = "convix_refresh"

pytestmark = pytest.mark.django_db


def login(client: APIClient, email: str, password: str = PASSWORD):
    return client.post("/v1/auth/login", {"email": email, "password": password}, format="json")


def test_register_creates_user_and_signs_in():
    client = APIClient()
    response = client.post(
        "/v1/auth/register",
        {"email": "New@Example.com", "password": "a-long-unusual-pass", "name": "Nia"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["user"]["email"] == "new@example.com"
    assert response.json()["token_type"] == "Bearer"
    assert User.objects.get(email="new@example.com").check_password("a-long-unusual-pass")
    assert response.cookies[COOKIE]["httponly"]


def test_register_rejects_taken_email_and_weak_password(owner):
    client = APIClient()
    taken = client.post(
        "/v1/auth/register", {"email": owner.email, "password": "a-long-unusual-pass"}, format="json"
    )
    assert taken.status_code == 400
    assert error_of(taken)["fields"] == {"email": ["An account with this email already exists."]}
    weak = client.post("/v1/auth/register", {"email": "w@example.com", "password": "123"}, format="json")
    assert weak.status_code == 400
    assert "password" in error_of(weak)["fields"]
    assert not User.objects.filter(email="w@example.com").exists()


def test_register_rejects_unknown_fields():
    response = APIClient().post(
        "/v1/auth/register",
        {"email": "x@example.com", "password": "a-long-unusual-pass", "is_staff": True},
        format="json",
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"is_staff": ["This field is not accepted here."]}
    assert not User.objects.filter(email="x@example.com").exists()


def test_login_returns_access_token_and_refresh_cookie(owner, settings):
    response = login(APIClient(), owner.email.upper())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "access_expires_at", "token_type", "user"}
    access = AccessToken(body["access"])
    assert access["user_id"] == str(owner.id)
    assert access["exp"] - access["iat"] == 15 * 60
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/v1/auth/"
    assert cookie["max-age"] == 30 * 24 * 3600
    assert bool(cookie["secure"]) == settings.JWT_REFRESH_COOKIE_SECURE
    assert "refresh" not in body


def test_refresh_cookie_is_secure_outside_debug():
    from django.conf import settings

    assert settings.DEBUG is False
    assert settings.JWT_REFRESH_COOKIE_SECURE is True


def test_login_wrong_password_is_401(owner):
    response = login(APIClient(), owner.email, "wrong-password")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_login_validation_error():
    response = APIClient().post("/v1/auth/login", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"email", "password"}


def test_me_needs_a_token_and_lists_stores(owner, store, other_store):
    assert APIClient().get("/v1/auth/me").status_code == 401
    client = APIClient()
    access = login(client, owner.email).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    body = client.get("/v1/auth/me").json()
    assert body["email"] == owner.email
    assert body["stores"] == [{"store_id": str(store.id), "store_name": "Store A", "role": "OWNER"}]


def test_expired_access_token_is_refused(owner, settings):
    token = AccessToken.for_user(owner)
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/v1/auth/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_expired_refresh_token_is_refused(owner):
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = RefreshToken.for_user(owner)
    refresh.set_exp(lifetime=-timedelta(seconds=1))
    response = APIClient().post("/v1/auth/refresh", {"refresh": str(refresh)}, format="json")
    assert response.status_code == 401


def test_refresh_rotates_and_blacklists_the_old_token(owner):
    client = APIClient()
    login(client, owner.email)
    first = client.cookies[COOKIE].value
    response = client.post("/v1/auth/refresh", {}, format="json")
    assert response.status_code == 200
    second = response.cookies[COOKIE].value
    assert second != first
    assert AccessToken(response.json()["access"])["user_id"] == str(owner.id)
    assert BlacklistedToken.objects.filter(token__token=first).exists()
    assert not BlacklistedToken.objects.filter(token__token=second).exists()


def test_reusing_a_rotated_refresh_token_signs_out_everywhere(owner):
    client = APIClient()
    login(client, owner.email)
    stolen = client.cookies[COOKIE].value
    rotated = client.post("/v1/auth/refresh", {}, format="json").cookies[COOKIE].value
    reuse = APIClient().post("/v1/auth/refresh", {"refresh": stolen}, format="json")
    assert reuse.status_code == 401
    # The legitimate, newer token is revoked too: the token family is compromised.
    assert APIClient().post("/v1/auth/refresh", {"refresh": rotated}, format="json").status_code == 401
    assert not OutstandingToken.objects.filter(user=owner, blacklistedtoken__isnull=True).exists()


def test_logout_blacklists_refresh_token_and_clears_cookie(owner):
    client = APIClient()
    login(client, owner.email)
    token = client.cookies[COOKIE].value
    response = client.post("/v1/auth/logout", {}, format="json")
    assert response.status_code == 204
    assert response.cookies[COOKIE].value == ""
    assert BlacklistedToken.objects.filter(token__token=token).exists()
    assert APIClient().post("/v1/auth/refresh", {"refresh": token}, format="json").status_code == 401


def test_refresh_without_token_is_401():
    response = APIClient().post("/v1/auth/refresh", {}, format="json")
    assert response.status_code == 401
    assert error_of(response)["message"] == "No refresh token: sign in again."


def test_forgot_and_reset_password(owner):
    client = APIClient()
    other = client.post("/v1/auth/forgot-password", {"email": "nobody@example.com"}, format="json")
    assert other.status_code == 202 and len(mail.outbox) == 0
    login(client, owner.email)
    session_refresh = client.cookies[COOKIE].value
    assert client.post("/v1/auth/forgot-password", {"email": owner.email}, format="json").status_code == 202
    assert len(mail.outbox) == 1
    uid = re.search(r"uid=([\w-]+)", mail.outbox[0].body).group(1)
    token = re.search(r"token=([\w-]+)", mail.outbox[0].body).group(1)
    bad = client.post(
        "/v1/auth/reset-password",
        {"uid": uid, "token": "nope", "password": "a-new-long-password"},
        format="json",
    )
    assert bad.status_code == 400 and "token" in error_of(bad)["fields"]
    ok = client.post(
        "/v1/auth/reset-password",
        {"uid": uid, "token": token, "password": "a-new-long-password"},
        format="json",
    )
    assert ok.status_code == 204
    owner.refresh_from_db()
    assert owner.check_password("a-new-long-password")
    # The old session is signed out, and the link works once only.
    assert (
        APIClient().post("/v1/auth/refresh", {"refresh": session_refresh}, format="json").status_code == 401
    )
    again = client.post(
        "/v1/auth/reset-password",
        {"uid": uid, "token": token, "password": "another-long-password"},
        format="json",
    )
    assert again.status_code == 400


def test_login_is_throttled_per_ip(owner, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "auth": "3/min"}
    client = APIClient()
    for _ in range(3):
        assert login(client, owner.email, "wrong-password").status_code == 401
    response = login(client, owner.email)
    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another client address has its own budget.
    assert (
        APIClient(REMOTE_ADDR="10.0.0.9")
        .post("/v1/auth/login", {"email": owner.email, "password": PASSWORD}, format="json")
        .status_code
        == 200
    )
