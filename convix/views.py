"""Project-level pages: the landing page, the health check and the dashboard overview."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from apps.conversations.models import Conversation
from apps.stores.models import Order, Product
from apps.training.models import TrainingDoc


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


def dashboard(request):
    store = request.store
    if store is None:
        return render(request, "dashboard/no_store.html", status=200)
    context = {
        "store": store,
        "membership": request.membership,
        "counts": {
            "products": Product.objects.filter(store=store).count(),
            "orders": Order.objects.filter(store=store).count(),
            "conversations": Conversation.objects.filter(store=store).count(),
            "training_docs": TrainingDoc.objects.filter(store=store).count(),
        },
    }
    return render(request, "dashboard/overview.html", context)
