"""Serializer bases of the API: unknown input fields are errors, not silently dropped."""

from __future__ import annotations

from rest_framework import serializers


class StrictMixin:
    """Reject input fields the serializer does not accept (read-only ones included)."""

    def to_internal_value(self, data):
        unknown = {}
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {
                name: ["This field is not accepted here."] for name in sorted(set(data.keys()) - writable)
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class Serializer(StrictMixin, serializers.Serializer):
    pass


class ModelSerializer(StrictMixin, serializers.ModelSerializer):
    pass


class NoFilters(Serializer):
    """Query parameters of a list without filters (only ``cursor`` and ``limit``)."""


class ErrorSerializer(serializers.Serializer):
    """Every error response."""

    code = serializers.CharField(
        help_text="Stable, machine-readable: validation_error, not_found, throttled, ..."
    )
    message = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by input field (dotted paths for nested fields); empty when not about fields.",
    )


def validate_query(serializer_class, request, *, allowed=("cursor", "limit")):
    """Validate query parameters with a strict serializer; returns its validated data."""
    params = {key: request.query_params.get(key) for key in request.query_params if key not in allowed}
    serializer = serializer_class(data=params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


NUL_MESSAGE = "Text must not contain NUL (\\u0000) characters."


def _nul_paths(value, path: str = "") -> list[str]:
    """Dotted paths of the strings (keys included) in ``value`` that contain a NUL character."""
    if isinstance(value, str):
        return [path or "non_field_errors"] if "\x00" in value else []
    if isinstance(value, bytes):
        return [path or "non_field_errors"] if b"\x00" in value else []
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            name = str(key)
            if "\x00" in name:
                found.append("non_field_errors")  # the field name itself; not echoed back
            else:
                found += _nul_paths(inner, f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found += _nul_paths(inner, f"{path}.{index}" if path else str(index))
    return found


def _plain(form) -> dict:
    """A QueryDict (query string, form, multipart) as a dict; a file stands for its name."""
    plain = {}
    for name, values in form.lists():
        values = [getattr(value, "name", value) for value in values]
        plain[name] = values[0] if len(values) == 1 else values
    return plain


def reject_nul_characters(request) -> None:
    """Raise a 400 naming the fields when the query string or the body holds a NUL character,
    which PostgreSQL cannot store in text or JSON. The API's base view calls it on every request."""
    data = request.data
    paths = _nul_paths(_plain(request.query_params)) + _nul_paths(
        _plain(data) if hasattr(data, "lists") else data
    )
    if paths:
        raise serializers.ValidationError({path: [NUL_MESSAGE] for path in dict.fromkeys(paths)})
