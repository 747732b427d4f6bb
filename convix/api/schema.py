"""OpenAPI 3 schema of the API (drf-spectacular): every operation lists its error responses."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from convix.api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (see `fields`).",
    "401": "Missing or invalid credentials.",
    "403": "Your role in this store does not allow this.",
    "404": "No such object in your stores.",
    "409": "Conflict: a request with this Idempotency-Key is still running.",
    "413": "Upload too large.",
    "415": "Unsupported content type.",
    "422": "Idempotency-Key reused for a different request.",
    "429": "Rate limit reached; retry after `Retry-After` seconds.",
}


def only_v1(endpoints):
    """Keep the API's own endpoints (not the schema and docs pages)."""
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if path.startswith("/v1/") and not path.startswith(("/v1/schema", "/v1/docs"))
    ]


class AutoSchema(openapi.AutoSchema):
    """Adds the error responses each operation can give, in the one error format."""

    public = False  # set True on views without authentication

    def _error_codes(self) -> list[str]:
        codes = ["400", "429"]
        if self.view.get_authenticators() and not getattr(self.view, "schema_public", False):
            codes += ["401", "403"]
        if "{" in self.path or getattr(self.view, "schema_404", False):
            codes.append("404")
        if self.method == "POST" and not getattr(self.view, "schema_public", False):
            codes += ["409", "422"]
        codes += getattr(self.view, "schema_extra_errors", [])
        codes.append("415") if self.method in ("POST", "PUT", "PATCH") else None
        return sorted(set(codes))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                if code == "429":
                    response["headers"] = {
                        "Retry-After": {
                            "schema": build_basic_type(OpenApiTypes.INT),
                            "description": "Seconds.",
                        }
                    }
                responses[code] = response
        return responses

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if (
            self.method == "POST"
            and self.view.get_authenticators()
            and not getattr(self.view, "schema_public", False)
        ):
            from drf_spectacular.utils import OpenApiParameter

            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Send the same key to retry safely: the first answer is replayed (24 h).",
                )
            )
        return parameters
