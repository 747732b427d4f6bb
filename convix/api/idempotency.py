"""The ``Idempotency-Key`` header on POST: a retried request gets the first answer again.

The first request with a key claims it (a row with no answer yet); its answer is saved when it
succeeds or fails with a 4xx. A retry with the same key and the same request gets that saved
answer (with ``Idempotent-Replayed: true``); the same key with a different request gets 422;
a retry while the first is still running gets 409. A 5xx frees the key so it can be retried.
Keys are per caller and kept for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from apps.accounts.models import IdempotencyRecord
from convix.api.errors import ApiError, Conflict, IdempotencyKeyReused

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.get_full_path().encode())
    digest.update(request.content_type.encode() if hasattr(request, "content_type") else b"")
    digest.update(request._request.body)
    return digest.hexdigest()


def _storable(value):
    """``value`` with every NUL character replaced by U+FFFD: PostgreSQL stores no NUL in text
    or JSON, and an answer that echoes one must still be saved, not turn into a 500."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_storable(inner) for inner in value]
    return value


def claim(request) -> IdempotencyRecord | None:
    """Claim the request's key, or raise Replay / Conflict / IdempotencyKeyReused. None when
    the request has no key or is not a POST by an authenticated caller."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not request.user.is_authenticated:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ApiError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.",
            code="validation_error",
            fields={HEADER: ["Invalid."]},
        )
    owner = str(request.user.pk)
    fingerprint = _fingerprint(request)
    IdempotencyRecord.objects.filter(owner=owner, key=key, created_at__lt=timezone.now() - KEEP_FOR).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                owner=owner,
                key=key,
                method=request.method,
                path=_storable(request.path)[:500],
                fingerprint=fingerprint,
            )
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None:  # freed meanwhile
        raise Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.status_code is None:
        raise Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    raise Replay(response)


def settle(record: IdempotencyRecord, response) -> None:
    """Save the answer to a claimed key (or free the key after a server error)."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    data = getattr(response, "data", None)
    body = _storable(json.loads(JSONRenderer().render(data))) if data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, response_body=body
    )
