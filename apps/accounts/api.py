"""``/v1/auth/``: register, login, refresh, logout, forgot/reset password, me.

The access token (15 minutes) is returned in the body. The refresh token (30 days) is set as an
httpOnly cookie (Secure outside DEBUG, SameSite, path /v1/auth/); clients without cookies may
send it in the body of refresh and logout. Each refresh rotates it and blacklists the old one;
presenting an already-rotated (blacklisted) token signs every session of that user out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import services
from apps.accounts.serializers import (
    ForgotPasswordSerializer,
    LoginSerializer,
    MeSerializer,
    RefreshSerializer,
    RegisterSerializer,
    ResetPasswordSerializer,
    TokenSerializer,
)
from apps.stores.selectors import memberships_for_user
from convix.api.authentication import JWTAuthentication
from convix.api.throttles import AuthRateThrottle, UserRateThrottle
from convix.api.views import APIView

TAG = ["auth"]


def _token_response(user, refresh: RefreshToken, status_code=status.HTTP_200_OK) -> Response:
    access = refresh.access_token
    body = TokenSerializer(
        {
            "access": str(access),
            "access_expires_at": datetime.fromtimestamp(access["exp"], tz=UTC),
            "token_type": "Bearer",
            "user": user,
        }
    ).data
    response = Response(body, status=status_code)
    response.set_cookie(
        settings.JWT_REFRESH_COOKIE,
        str(refresh),
        max_age=int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()),
        path=settings.JWT_REFRESH_COOKIE_PATH,
        secure=settings.JWT_REFRESH_COOKIE_SECURE,
        httponly=True,
        samesite=settings.JWT_REFRESH_COOKIE_SAMESITE,
    )
    return response


def _raw_refresh(request, data) -> str:
    raw = data.get("refresh") or request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
    if not raw:
        raise AuthenticationFailed("No refresh token: sign in again.")
    return raw


class PublicAuthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AuthRateThrottle]
    schema_public = True

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # so failed sign-ins answer 401, not 403


class RegisterView(PublicAuthView):
    serializer_class = RegisterSerializer

    @extend_schema(tags=TAG, summary="Create an account", responses={201: TokenSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return _token_response(user, RefreshToken.for_user(user), status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    serializer_class = LoginSerializer
    schema_extra_errors = ["401"]

    @extend_schema(
        tags=TAG,
        summary="Sign in: an access token in the body, the refresh token in an httpOnly cookie",
        responses={200: TokenSerializer},
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"].lower(),
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong email or password.")
        return _token_response(user, RefreshToken.for_user(user))


class RefreshView(PublicAuthView):
    serializer_class = RefreshSerializer
    schema_extra_errors = ["401"]

    @extend_schema(
        tags=TAG,
        summary="Get a new access token; the refresh token is rotated",
        responses={200: TokenSerializer},
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw = _raw_refresh(request, serializer.validated_data)
        try:
            old = RefreshToken(raw, verify=True)
        except TokenError as error:
            self._revoke_family_on_reuse(raw)
            raise AuthenticationFailed("The refresh token is invalid, expired or already used.") from error
        from apps.accounts.models import User

        user = User.objects.filter(pk=old.get("user_id"), is_active=True).first()
        if user is None:
            raise AuthenticationFailed("The refresh token is invalid, expired or already used.")
        old.blacklist()
        return _token_response(user, RefreshToken.for_user(user))

    @staticmethod
    def _revoke_family_on_reuse(raw: str) -> None:
        """A rotated (blacklisted) token presented again may be stolen: sign the user out everywhere."""
        try:
            token = RefreshToken(raw, verify=False)
            jti = token.get("jti")
        except TokenError:
            return
        blacklisted = BlacklistedToken.objects.select_related("token__user").filter(token__jti=jti).first()
        if blacklisted is not None and blacklisted.token.user is not None:
            services.user_revoke_refresh_tokens(user=blacklisted.token.user)


class LogoutView(PublicAuthView):
    serializer_class = RefreshSerializer

    @extend_schema(tags=TAG, summary="Sign out: the refresh token is blacklisted", responses={204: None})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw = serializer.validated_data.get("refresh") or request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
        if raw:
            try:
                RefreshToken(raw, verify=True).blacklist()
            except TokenError:
                pass  # already invalid: signing out succeeds anyway
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(
            settings.JWT_REFRESH_COOKIE,
            path=settings.JWT_REFRESH_COOKIE_PATH,
            samesite=settings.JWT_REFRESH_COOKIE_SAMESITE,
        )
        return response


class ForgotPasswordView(PublicAuthView):
    serializer_class = ForgotPasswordSerializer

    @extend_schema(
        tags=TAG,
        summary="Email a password reset link (always 202: it never tells whether the account exists)",
        responses={202: OpenApiResponse(description="Accepted.")},
    )
    def post(self, request):
        serializer = ForgotPasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class ResetPasswordView(PublicAuthView):
    serializer_class = ResetPasswordSerializer

    @extend_schema(
        tags=TAG,
        summary="Set a new password from the emailed uid and token; signs out everywhere",
        responses={204: None},
    )
    def post(self, request):
        serializer = ResetPasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    authentication_classes = [JWTAuthentication]
    throttle_classes = [UserRateThrottle]
    serializer_class = MeSerializer

    @extend_schema(tags=TAG, summary="The signed-in user and their stores", responses={200: MeSerializer})
    def get(self, request):
        user = request.user
        data = {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "date_joined": user.date_joined,
            "stores": memberships_for_user(user=user),
        }
        return Response(MeSerializer(data).data)
