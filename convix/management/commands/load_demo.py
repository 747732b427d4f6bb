"""Load the demo store from ``fixtures/demo/`` and index its knowledge (idempotent: loading
twice changes nothing, and an unchanged document is not embedded again)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import User, UserRole
from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.conversations.models import Customer
from apps.stores.models import Order, Product, ProductVariant, Store, StoreMembership, StoreSettings
from apps.training.models import DocType, TrainingDoc
from apps.training.services import store_retrain
from convix.tenancy import store_scope

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures" / "demo"
ADMIN_EMAIL = "admin@convix.local"
ADMIN_PASSWORD = "demo-admin-2026"  # noqa: S105 - a published demo login


def _read(name: str):
    path = FIXTURE_DIR / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandError(f"Demo fixture missing: {path}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"Demo fixture {path} is not valid JSON: {error}") from None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _user(email: str, name: str, password: str, role: str, **extra) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"name": name, "role": role, **extra})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = (
        "Load the Alder & Pine demo store (products, orders, customers, policies, FAQs, logins) "
        "and index its knowledge so the agent can answer."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-index", action="store_true", help="load the data only; do not index the knowledge"
        )

    def handle(self, *args, no_index: bool = False, **options):
        data = _read("store.json")
        with transaction.atomic():
            store = self._load(data)
        if not no_index:
            self._index(store)
        self.stdout.write(self.style.SUCCESS(f"Demo store ready: {store.name} ({store.id})"))
        for user in data["users"]:
            self.stdout.write(f"  {user['role']:<6} {user['email']} / {user['password']}")
        self.stdout.write(f"  ADMIN  {ADMIN_EMAIL} / {ADMIN_PASSWORD} (operator admin at /admin/)")

    def _index(self, store: Store) -> None:
        """Index the demo knowledge now, through the same service as the dashboard's Retrain
        (outside the loading transaction, like the background job)."""
        with store_scope(store):
            totals = store_retrain(store=store)
        self.stdout.write(
            f"Indexed {totals['docs']} documents into {totals['chunks']} chunks "
            f"({totals['unchanged']} unchanged, {totals['embedded']} texts embedded, {totals['failed']} failed)"
        )
        if totals["failed"]:
            # The data is loaded and the rest is indexed: say so, and let the server start.
            self.stderr.write(
                self.style.WARNING(
                    f"{totals['failed']} demo documents could not be indexed; see their status in "
                    "Training and retrain from there."
                )
            )

    def _load(self, data: dict) -> Store:
        _user(
            ADMIN_EMAIL, "Convix Operator", ADMIN_PASSWORD, UserRole.OWNER, is_staff=True, is_superuser=True
        )
        users = {u["email"]: _user(u["email"], u["name"], u["password"], u["role"]) for u in data["users"]}
        owner = next(users[u["email"]] for u in data["users"] if u["role"] == UserRole.OWNER)

        info = data["store"]
        store, _ = Store.objects.update_or_create(
            slug=info["slug"],
            defaults={
                "name": info["name"],
                "domain": info.get("domain", ""),
                "platform": info.get("platform", "CUSTOM"),
                "plan_tier": info.get("plan_tier", "GROWTH"),
                "currency": info.get("currency", "USD"),
                "timezone": info.get("timezone", "UTC"),
                "support_email": info.get("support_email", ""),
                "phone": info.get("phone", ""),
                "address": info.get("address") or {},
                "owner": owner,
                "is_active": True,
            },
        )
        with store_scope(store):
            self._load_settings(store, info, data.get("settings", {}))
            for u in data["users"]:
                StoreMembership.objects.update_or_create(
                    store=store, user=users[u["email"]], defaults={"role": u["role"]}
                )
            Channel.objects.get_or_create(
                store=store,
                type=ChannelType.WEB_WIDGET,
                defaults={"name": "Website chat", "status": ChannelStatus.CONNECTED},
            )
            self._load_products(store, _read("products.json"))
            self._load_customers(store, _read("customers.json"))
            self._load_orders(store, _read("orders.json"))
            self._load_knowledge(store, _read("policies.json"), _read("faqs.json"))
        return store

    def _load_settings(self, store: Store, info: dict, values: dict) -> None:
        fields = {f.name for f in StoreSettings._meta.get_fields()}
        defaults = {key: value for key, value in values.items() if key in fields}
        if "high_value_cart_threshold" in defaults:
            defaults["high_value_cart_threshold"] = Decimal(str(defaults["high_value_cart_threshold"]))
        defaults.setdefault("timezone", info.get("timezone", "UTC"))
        StoreSettings.objects.update_or_create(store=store, defaults=defaults)

    def _load_products(self, store: Store, products: list[dict]) -> None:
        for item in products:
            product, _ = Product.objects.update_or_create(
                store=store,
                sku=item["sku"],
                defaults={
                    "title": item["title"],
                    "handle": item.get("handle", ""),
                    "description": item.get("description", ""),
                    "category": item.get("category", ""),
                    "vendor": item.get("vendor", ""),
                    "tags": item.get("tags", []),
                    "attributes": item.get("attributes", {}),
                    "url": item.get("url", ""),
                    "image_url": item.get("image_url", ""),
                    "price": Decimal(item["price"]),
                    "compare_at_price": Decimal(item["compare_at_price"])
                    if item.get("compare_at_price")
                    else None,
                    "currency": store.currency,
                    "b2b_price_tiers": item.get("b2b_price_tiers", []),
                    "is_active": item.get("is_active", True),
                },
            )
            for variant in item.get("variants", []):
                ProductVariant.objects.update_or_create(
                    store=store,
                    sku=variant["sku"],
                    defaults={
                        "product": product,
                        "title": variant.get("title", "Default"),
                        "options": variant.get("options", {}),
                        "price": Decimal(variant["price"]),
                        "stock": int(variant.get("stock", 0)),
                    },
                )

    def _load_customers(self, store: Store, customers: list[dict]) -> None:
        for item in customers:
            rep = (
                User.objects.filter(email=item["account_rep_email"]).first()
                if item.get("account_rep_email")
                else None
            )
            Customer.objects.update_or_create(
                store=store,
                email=item["email"],
                defaults={
                    "name": item.get("name", ""),
                    "phone": item.get("phone") or "",
                    "channel_ids": item.get("channel_ids") or {},
                    "is_b2b": item.get("is_b2b", False),
                    "company": item.get("company") or "",
                    "account_rep": rep,
                    "accepts_marketing": item.get("accepts_marketing", False),
                    "is_opted_out": item.get("is_opted_out", False),
                },
            )

    def _load_orders(self, store: Store, orders: list[dict]) -> None:
        for item in orders:
            Order.objects.update_or_create(
                store=store,
                number=item["number"],
                defaults={
                    "email": item["email"],
                    "status": item["status"],
                    "items": item.get("items", []),
                    "subtotal": Decimal(item["subtotal"]),
                    "shipping": Decimal(item["shipping"]),
                    "tax": Decimal(item["tax"]),
                    "total": Decimal(item["total"]),
                    "currency": item.get("currency", store.currency),
                    "carrier": item.get("carrier") or "",
                    "tracking_number": item.get("tracking_number") or "",
                    "tracking_url": item.get("tracking_url") or "",
                    "shipping_address": item.get("shipping_address") or {},
                    "placed_at": _when(item["placed_at"]),
                    "shipped_at": _when(item.get("shipped_at")),
                    "delivered_at": _when(item.get("delivered_at")),
                },
            )

    def _load_knowledge(self, store: Store, policies: list[dict], faqs: list[dict]) -> None:
        for policy in policies:
            TrainingDoc.objects.update_or_create(
                store=store,
                type=DocType.POLICY,
                title=policy["title"],
                defaults={"content": policy["content"], "metadata": {"slug": policy.get("slug", "")}},
            )
        for faq in faqs:
            TrainingDoc.objects.update_or_create(
                store=store,
                type=DocType.FAQ,
                title=faq["question"],
                defaults={"content": faq["answer"], "metadata": {"category": faq.get("category", "")}},
            )
        TrainingDoc.objects.get_or_create(
            store=store,
            type=DocType.PRODUCT_CATALOG,
            title=f"{store.name} product catalog",
            defaults={"metadata": {"source": "store products"}},
        )
