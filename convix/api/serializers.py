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
