"""``manage.py load_demo``: a realistic store, loaded idempotently, with working logins."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.accounts.models import User, UserRole
from apps.channels.models import Channel, ChannelType
from apps.conversations.models import ConvStatus, Customer, Message, MessageRole
from apps.conversations.services import conversation_start, message_receive
from apps.stores.models import (
    Order,
    OrderStatus,
    Product,
    ProductVariant,
    Store,
    StoreMembership,
    StoreSettings,
)
from apps.training.models import DocStatus, DocType, TrainingChunk, TrainingDoc
from convix.tenancy import store_scope

pytestmark = pytest.mark.django_db


def snapshot(store: Store) -> dict:
    with store_scope(store):
        return {
            "products": Product.objects.count(),
            "variants": ProductVariant.objects.count(),
            "orders": Order.objects.count(),
            "customers": Customer.objects.count(),
            "docs": TrainingDoc.objects.count(),
            "members": StoreMembership.objects.count(),
            "channels": Channel.objects.count(),
            "users": User.objects.count(),
            "stores": Store.objects.count(),
        }


def test_demo_store_is_realistic_and_loads_idempotently():
    call_command("load_demo", "--no-index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    store = Store.objects.get(slug="alder-and-pine")
    first = snapshot(store)
    call_command("load_demo", "--no-index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert snapshot(store) == first

    assert first["products"] >= 100
    with store_scope(store):
        assert Product.objects.filter(variants__isnull=False).distinct().count() == first["products"]
        assert ProductVariant.objects.filter(stock=0).exists()
        assert Product.objects.exclude(b2b_price_tiers=[]).exists()
        assert TrainingDoc.objects.filter(type=DocType.FAQ).count() >= 40
        policy_titles = " ".join(
            TrainingDoc.objects.filter(type=DocType.POLICY).values_list("title", flat=True)
        )
        for topic in ("Shipping", "Return", "Refund", "Warranty", "Privacy", "Subscription"):
            assert topic.lower() in policy_titles.lower(), topic
        assert first["orders"] >= 60
        statuses = Counter(Order.objects.values_list("status", flat=True))
        assert set(statuses) == set(OrderStatus.values)
        shipped = Order.objects.filter(status__in=[OrderStatus.SHIPPED, OrderStatus.DELIVERED])
        assert not shipped.filter(tracking_number="").exists()
        assert set(shipped.values_list("carrier", flat=True)) >= {"UPS", "USPS", "FedEx"}
        for order in Order.objects.all():
            assert order.subtotal + order.shipping + order.tax == order.total, order.number
            assert Customer.objects.filter(email=order.email).exists(), order.number
        b2b = Customer.objects.get(is_b2b=True, company="Ridgeline Guiding Co.")
        assert b2b.account_rep is not None
        assert StoreMembership.objects.get(user=b2b.account_rep).role == UserRole.AGENT
        settings = StoreSettings.objects.get(store=store)
        assert settings.high_value_cart_threshold == Decimal("750")
        assert Channel.objects.get(type=ChannelType.WEB_WIDGET).is_active


def test_demo_logins_work():
    call_command("load_demo", "--no-index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    owner = authenticate(email="owner@alderandpine.example", password="demo-owner-2026")
    agent = authenticate(email="agent@alderandpine.example", password="demo-agent-2026")
    admin = authenticate(email="admin@convix.local", password="demo-admin-2026")
    assert owner is not None and agent is not None and admin is not None
    assert admin.is_staff and admin.is_superuser
    store = Store.objects.get(slug="alder-and-pine")
    assert store.owner == owner
    with store_scope(store):
        assert StoreMembership.objects.get(user=agent).role == UserRole.AGENT


def test_owner_sees_the_demo_store_in_the_dashboard(client):
    call_command("load_demo", "--no-index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert client.login(email="owner@alderandpine.example", password="demo-owner-2026")
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert b"Alder &amp; Pine Outfitters" in response.content
    assert response.context["counts"]["products"] >= 100


@pytest.mark.slow  # embeds the whole demo knowledge once
def test_load_demo_indexes_the_knowledge_so_a_demo_question_is_answered(django_capture_on_commit_callbacks):
    # Start from a demo store without an index, whether or not another test indexed it already.
    call_command("load_demo", "--no-index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    store = Store.objects.get(slug="alder-and-pine")
    with store_scope(store):
        TrainingChunk.objects.filter(store=store).delete()

    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with store_scope(store):
        docs = TrainingDoc.objects.filter(store=store)
        assert set(docs.values_list("status", flat=True)) == {DocStatus.READY}
        chunks = TrainingChunk.objects.filter(store=store).count()
        assert chunks >= docs.count()

    again = io.StringIO()
    call_command("load_demo", stdout=again)
    with store_scope(store):
        assert TrainingChunk.objects.filter(store=store).count() == chunks
    assert (
        f"Indexed {docs.count()} documents into {chunks} chunks ({docs.count()} unchanged, 0 texts embedded"
        in (again.getvalue())
    )

    with store_scope(store):
        conversation = conversation_start(store=store)
        with django_capture_on_commit_callbacks(execute=True):
            message_receive(store=store, conversation=conversation, text="How much does shipping cost?")
        conversation.refresh_from_db()
        reply = Message.objects.get(store=store, conversation=conversation, role=MessageRole.AI)
    assert conversation.status == ConvStatus.ACTIVE
    assert "$7.95" in reply.content
