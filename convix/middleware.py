"""Project-wide middleware."""

from __future__ import annotations

from django.conf import settings

from convix.tenancy import unscoped


class AdminUnscopedMiddleware:
    """The admin site is staff-only and reads across stores (its own login enforces staff)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = "/" + getattr(settings, "ADMIN_URL", "admin/").lstrip("/")

    def __call__(self, request):
        if request.path.startswith(self.prefix):
            with unscoped("admin"):
                return self.get_response(request)
        return self.get_response(request)
