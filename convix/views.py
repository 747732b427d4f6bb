"""Project-level pages: the landing page, the health check and the dashboard overview."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def home(request):
    return render(request, "home.html")


def pricing(request):
    return render(request, "home.html")


def features(request):
    return render(request, "home.html")


def health(request):
    """Liveness and database reachability, for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
