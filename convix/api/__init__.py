"""Shared pieces of the REST API v1: authentication, the error format, pagination, throttles,
idempotency, the store-scoped base view and the OpenAPI schema hooks. Each app's endpoints live
in ``apps/<app>/api.py`` and call that app's services and selectors."""
