"""factory_boy factories. Store-owned factories take their store from a parent and never
create a second store silently: pass ``store=`` (or a parent that has one)."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from apps.accounts.models import User, UserRole
from apps.channels.models import Channel, ChannelType
from apps.conversations.models import Conversation, Customer, Message, MessageRole
from apps.handoff.models import Handoff, HandoffTrigger
from apps.stores.models import Order, Product, ProductVariant, Store, StoreMembership, StoreSettings
from apps.training.models import DocType, TrainingDoc


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    domain = factory.LazyAttribute(lambda o: f"{o.slug}.example")
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def with_settings(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            StoreSettings.objects.with_scopes_disabled().get_or_create(store=obj)
            StoreMembership.objects.with_scopes_disabled().get_or_create(
                store=obj, user=obj.owner, defaults={"role": UserRole.OWNER}
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreMembership

    user = factory.SubFactory(UserFactory)
    role = UserRole.AGENT


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("49.00")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    store = factory.LazyAttribute(lambda o: o.product.store)
    sku = factory.Sequence(lambda n: f"VAR-{n:05d}")
    price = Decimal("49.00")
    stock = 10


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"#{1000 + n}")
    email = "buyer@example.com"
    total = Decimal("99.00")
    placed_at = factory.LazyFunction(timezone.now)


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    type = ChannelType.WHATSAPP
    routing_key = factory.Sequence(lambda n: f"10{n:08d}")
    config = factory.LazyFunction(lambda: {"access_token": "EAAG-secret-token-value"})


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    name = factory.Faker("name")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.LazyAttribute(lambda o: CustomerFactory(store=o.store))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    store = factory.LazyAttribute(lambda o: o.conversation.store)
    role = MessageRole.USER
    content = "Hello"


class HandoffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handoff

    store = factory.LazyAttribute(lambda o: o.conversation.store)
    trigger = HandoffTrigger.EXPLICIT_REQUEST
    summary = "Shopper asked for a person."


class TrainingDocFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingDoc

    type = DocType.FAQ
    title = "Do you ship to Canada?"
    content = "Yes, we ship to Canada in 5-8 business days."
