"""Project-level pages: the marketing pages and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from apps.channels.models import ChannelType
from apps.stores.models import PLAN_LIMITS, PlanTier

CHANNELS = [label for _, label in ChannelType.choices]

# What each tier is for. Prices and limits are not here: they come from PLAN_LIMITS.
PLAN_COPY = {
    PlanTier.STARTER: {"pitch": "For a new store answering its first shoppers.", "is_featured": False},
    PlanTier.GROWTH: {"pitch": "For a growing store on several channels.", "is_featured": True},
    PlanTier.PRO: {"pitch": "For busy teams with many agents and a large catalog.", "is_featured": False},
    PlanTier.ENTERPRISE: {
        "pitch": "For brands with custom volume, security reviews and contracts.",
        "is_featured": False,
    },
}

# The comparison on /features. Kept to what each product's public pages say, and to what
# Convix does not do (a full helpdesk), so a merchant can choose honestly.
COMPARISON = {
    "products": ["Convix", "Chatwoot", "Intercom Fin", "Gorgias", "Zendesk AI"],
    "rows": [
        (
            "Built for online stores (catalog, order lookup, B2B price tiers)",
            ["yes", "partial", "partial", "yes", "partial"],
        ),
        ("Answers grounded in your catalog, policies and FAQs", ["yes", "yes", "yes", "yes", "yes"]),
        (
            "Confidence breakdown and cited sources for every AI answer",
            ["yes", "partial", "partial", "partial", "partial"],
        ),
        (
            "Web chat, WhatsApp, SMS, Instagram, Messenger, email, Slack",
            ["yes", "yes", "partial", "partial", "yes"],
        ),
        ("Live takeover by your team in the same conversation", ["yes", "yes", "yes", "yes", "yes"]),
        ("Works alongside the helpdesk you already use", ["yes", "no", "yes", "no", "no"]),
        ("Self-hosting with Docker", ["yes", "yes", "no", "no", "no"]),
        (
            "A full helpdesk: ticketing, SLAs, macros, workforce tools",
            ["no", "yes", "yes", "yes", "yes"],
        ),
        ("Large marketplace of third-party apps", ["no", "partial", "yes", "yes", "yes"]),
    ],
    "pricing": [
        "Flat monthly plan",
        "Free self-hosted; per-agent cloud plans",
        "Per resolution, on top of Intercom seats",
        "By monthly ticket volume",
        "Per agent, with AI add-ons",
    ],
}


def _amount(value: int | None) -> str:
    return "Unlimited" if value is None else f"{value:,}"


def plan_tiers() -> list[dict]:
    """Each plan tier with its limits, read from ``PLAN_LIMITS`` (the one place they are set)."""
    plans = []
    for tier in PlanTier:
        limits = PLAN_LIMITS[tier]
        plans.append(
            {
                "tier": tier.value,
                "name": tier.label,
                "price": limits.monthly_price_usd,
                "limits": [
                    ("Conversations a month", _amount(limits.monthly_conversations)),
                    ("Channels", _amount(limits.channels)),
                    ("Training documents", _amount(limits.training_docs)),
                    ("Team seats", _amount(limits.seats)),
                ],
                **PLAN_COPY[tier],
            }
        )
    return plans


def home(request):
    """The landing page."""
    return render(request, "marketing/home.html", {"channels": CHANNELS, "plans": plan_tiers()})


def pricing(request):
    """The four plan tiers, with the limits the product enforces (``PLAN_LIMITS``)."""
    return render(request, "marketing/pricing.html", {"plans": plan_tiers()})


def features(request):
    """What Convix does, and an honest comparison with the usual alternatives."""
    return render(request, "marketing/features.html", {"channels": CHANNELS, "comparison": COMPARISON})


def health(request):
    """Liveness and database reachability, for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
