"""Checks shared by every API endpoint that accepts a file upload."""

from __future__ import annotations

from django.conf import settings

from convix.api.errors import PayloadTooLarge


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def check_upload_size(upload) -> None:
    """Raise PayloadTooLarge (413) when ``upload`` is larger than ``API_MAX_UPLOAD_BYTES``."""
    limit = settings.API_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise PayloadTooLarge(f"Files up to {_size_text(limit)} are accepted.")
