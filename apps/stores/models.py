"""The tenant (Store), its settings and members, and the store platform's synced catalog and orders."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from encrypted_fields.fields import EncryptedCharField, EncryptedJSONField

from apps.accounts.models import UserRole
from convix.tenancy import StoreScopedManager


class Platform(models.TextChoices):
    SHOPIFY = "SHOPIFY", "Shopify"
    WOOCOMMERCE = "WOOCOMMERCE", "WooCommerce"
    BIGCOMMERCE = "BIGCOMMERCE", "BigCommerce"
    SQUARESPACE = "SQUARESPACE", "Squarespace"
    WIX = "WIX", "Wix"
    CUSTOM = "CUSTOM", "Custom"
    SAAS = "SAAS", "SaaS"


class PlanTier(models.TextChoices):
    STARTER = "STARTER", "Starter"
    GROWTH = "GROWTH", "Growth"
    PRO = "PRO", "Pro"
    ENTERPRISE = "ENTERPRISE", "Enterprise"


@dataclass(frozen=True)
class PlanLimits:
    """What a plan allows each month. ``None`` means unlimited."""

    monthly_price_usd: int | None
    monthly_conversations: int | None
    channels: int | None
    training_docs: int | None
    seats: int | None


PLAN_LIMITS: dict[str, PlanLimits] = {
    PlanTier.STARTER: PlanLimits(49, 500, 2, 50, 2),
    PlanTier.GROWTH: PlanLimits(149, 2_500, 5, 500, 5),
    PlanTier.PRO: PlanLimits(399, 10_000, 7, 5_000, 20),
    PlanTier.ENTERPRISE: PlanLimits(None, None, None, None, None),
}


class HandoffDestination(models.TextChoices):
    LIVE_AGENT = "LIVE_AGENT", "Live agent in the dashboard"
    ZENDESK = "ZENDESK", "Zendesk ticket"
    GORGIAS = "GORGIAS", "Gorgias ticket"
    FRESHDESK = "FRESHDESK", "Freshdesk ticket"
    EMAIL = "EMAIL", "Email to the support inbox"


def new_identity_secret() -> str:
    return secrets.token_hex(32)


class Store(models.Model):
    """The tenant: one merchant's store. Everything store-owned points here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    domain = models.CharField(max_length=253, blank=True)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.CUSTOM)
    plan_tier = models.CharField(max_length=20, choices=PlanTier.choices, default=PlanTier.STARTER)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_stores")
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="UTC")
    support_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    # Store platform credentials (Shopify access token, WooCommerce key and secret, ...).
    api_key = EncryptedCharField(max_length=500, null=True, blank=True, default="")
    api_secret = EncryptedCharField(max_length=500, null=True, blank=True, default="")
    platform_config = EncryptedJSONField(default=dict, null=True, blank=True)
    # Signs logged-in shoppers' identities in the widget (HMAC-SHA256 of the email).
    identity_secret = EncryptedCharField(max_length=128, default=new_identity_secret)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def limits(self) -> PlanLimits:
        return PLAN_LIMITS[self.plan_tier]


def default_business_hours() -> dict:
    weekday = [["09:00", "17:00"]]
    return {
        "mon": weekday,
        "tue": weekday,
        "wed": weekday,
        "thu": weekday,
        "fri": weekday,
        "sat": [],
        "sun": [],
    }


class StoreSettings(models.Model):
    """How the agent behaves and looks for one store."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="settings")
    brand_voice = models.TextField(blank=True, default="Friendly, helpful and concise.")
    language = models.CharField(max_length=10, default="en")
    forbidden_topics = models.JSONField(default=list, blank=True)
    confidence_threshold = models.FloatField(
        default=0.65, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    high_value_cart_threshold = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("500.00")
    )
    handoff_destination = models.CharField(
        max_length=20, choices=HandoffDestination.choices, default=HandoffDestination.LIVE_AGENT
    )
    business_hours = models.JSONField(default=default_business_hours, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    after_hours_message = models.TextField(
        blank=True, default="Our team is offline right now. We've opened a ticket and will reply by email."
    )
    # Widget appearance.
    greeting = models.CharField(max_length=300, default="Hi! How can we help you today?")
    launcher_text = models.CharField(max_length=60, default="Chat with us")
    primary_color = models.CharField(max_length=7, default="#2563eb")
    position = models.CharField(max_length=5, choices=[("right", "Right"), ("left", "Left")], default="right")
    avatar_url = models.URLField(blank=True)
    allowed_domains = models.JSONField(default=list, blank=True)
    # Helpdesks (keys encrypted at rest).
    zendesk_subdomain = models.CharField(max_length=100, blank=True)
    zendesk_email = models.EmailField(blank=True)
    zendesk_api_token = EncryptedCharField(max_length=500, null=True, blank=True, default="")
    gorgias_domain = models.CharField(max_length=200, blank=True)
    gorgias_email = models.EmailField(blank=True)
    gorgias_api_key = EncryptedCharField(max_length=500, null=True, blank=True, default="")
    freshdesk_domain = models.CharField(max_length=200, blank=True)
    freshdesk_api_key = EncryptedCharField(max_length=500, null=True, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        verbose_name_plural = "store settings"

    def __str__(self) -> str:
        return f"Settings of {self.store}"


class StoreMembership(models.Model):
    """A user's role in one store. A user may belong to several stores."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=UserRole.choices, default=UserRole.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "user"], name="membership_unique_store_user")]
        ordering = ["store", "user"]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.store}"


class Product(models.Model):
    """The store platform's product, synced (or imported for the custom platform)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    handle = models.SlugField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=120, blank=True)
    vendor = models.CharField(max_length=120, blank=True)
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    # [{"min_quantity": 10, "price": "199.00"}, ...], for B2B customers.
    b2b_price_tiers = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "sku"], name="product_unique_store_sku")]
        indexes = [models.Index(fields=["store", "category"]), models.Index(fields=["store", "price"])]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def total_stock(self) -> int:
        return sum(variant.stock for variant in self.variants.all())


class ProductVariant(models.Model):
    """One buyable option of a product (size, color), with its own price and stock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="product_variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    external_id = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=200, default="Default")
    options = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "sku"], name="variant_unique_store_sku")]
        ordering = ["product", "sku"]

    def __str__(self) -> str:
        return f"{self.product.title} – {self.title}" if self.product_id else self.sku


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    SHIPPED = "SHIPPED", "Shipped"
    DELIVERED = "DELIVERED", "Delivered"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUNDED = "REFUNDED", "Refunded"
    RETURNED = "RETURNED", "Returned"


class Order(models.Model):
    """The store platform's order, synced. Looked up by number plus the buyer's email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100, blank=True)
    number = models.CharField(max_length=50)
    email = models.EmailField()
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    # [{"sku", "title", "quantity", "unit_price"}, ...]
    items = models.JSONField(default=list, blank=True)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    placed_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="order_unique_store_number")]
        indexes = [models.Index(fields=["store", "email"]), models.Index(fields=["store", "-placed_at"])]
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return self.number


class ApiKey(models.Model):
    """A store-scoped key for integrators, an alternative to JWT (``Authorization: Api-Key <key>``).

    The key is shown once when created; only its SHA-256 is kept. ``prefix`` (the first
    characters) identifies it in lists. A key acts in its own store only, with ``role``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=10, choices=UserRole.choices, default=UserRole.ADMIN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StoreInvitation(models.Model):
    """An invitation, sent by email, to join a store with a role.

    The emailed link carries a random key; only its SHA-256 is kept. An invitation is pending
    until it is accepted (by a user signed in with the invited email), revoked (by an owner, or
    replaced by a newer invitation to the same email) or past ``expires_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=UserRole.choices, default=UserRole.AGENT)
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_store_email",
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} · {self.role} · {self.store}"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()
