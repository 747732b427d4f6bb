"""One error format for every API response that is not a success::

    {"code": "validation_error", "message": "The request is invalid.", "fields": {"name": ["..."]}}

``code`` is stable and machine-readable, ``message`` is for people, ``fields`` maps each
invalid input field to its messages (``{}`` when the error is not about fields).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

STATUS_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled",
}


class ApiError(exceptions.APIException):
    """Base of the API's own errors: a status, a stable code and a message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message or self.default_detail, code or self.default_code)
        self.code = code or self.default_code
        self.fields = fields or {}


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class IdempotencyKeyReused(ApiError):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used for a different request."


class PayloadTooLarge(ApiError):
    status_code = 413
    default_code = "payload_too_large"
    default_detail = "The upload is too large."


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def _field_errors(detail) -> dict:
    """DRF's nested error detail as ``{"field": ["message", ...]}`` (nested paths dotted)."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            fields.setdefault(prefix or "non_field_errors", []).extend(_flatten(value))

    walk("", detail)
    return fields


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def _from_django_validation_error(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {k: [m for e in v for m in e.messages] for k, v in error.error_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": error.messages})


def exception_handler(exc, context):
    """DRF's exception handler for the whole API: every error in the one format."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied | PermissionError):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = _from_django_validation_error(exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a server error: Django's handler logs it and answers 500

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))

    if isinstance(exc, ApiError):
        body = error_body(exc.code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        non_field = fields.get("non_field_errors")
        message = non_field[0] if non_field and len(fields) == 1 else "The request is invalid."
        body = error_body("validation_error", message, fields)
    else:
        detail = exc.detail
        if isinstance(detail, dict):  # simplejwt's {"detail", "code", "messages"}
            message = str(detail.get("detail", "")) or exc.default_detail
        elif isinstance(detail, list):
            message = " ".join(_flatten(detail))
        else:
            message = str(detail)
        code = STATUS_CODES.get(exc.status_code, getattr(exc, "default_code", "error"))
        if exc.status_code == 401 and getattr(exc, "default_code", "") in (
            "token_not_valid",
            "authentication_failed",
        ):
            code = "authentication_failed"
        body = error_body(code, message)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def not_found_view(request, exception=None):
    """Django's 404 for paths no view matches: JSON under /v1, the normal page elsewhere."""
    if request.path.startswith("/v1/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error_view(request):
    if request.path.startswith("/v1/"):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    from django.views.defaults import server_error

    return server_error(request)
