"""Per-store row scoping fails closed."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.http import Http404

from apps.accounts.models import UserRole
from apps.conversations.models import Conversation, Message
from apps.stores.models import Product, Store
from apps.stores.selectors import membership_get, memberships_for_user
from convix.tenancy import ScopeError, is_store_scoped, store_scope, unscoped
from tests.factories import ConversationFactory, MessageFactory, ProductFactory

PROJECT_APPS = {"accounts", "stores", "convix_channels", "training", "conversations", "handoff", "analytics"}


def store_owned_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and any(f.name == "store" for f in model._meta.get_fields())
    ]


def test_every_model_with_a_store_uses_the_scoped_manager():
    models = store_owned_models()
    assert sorted(m.__name__ for m in models) == [
        "ApiKey",
        "Channel",
        "Conversation",
        "Customer",
        "Handoff",
        "InboundMessage",
        "Message",
        "Order",
        "Product",
        "ProductVariant",
        "StoreInvitation",
        "StoreMembership",
        "StoreSettings",
        "TrainingChunk",
        "TrainingDoc",
        "TrainingJob",
    ]
    unscoped_models = [m.__name__ for m in models if not is_store_scoped(m._default_manager)]
    assert unscoped_models == []


def test_every_store_foreign_key_is_required_and_indexed():
    for model in store_owned_models():
        field = model._meta.get_field("store")
        assert field.related_model is Store, model.__name__
        assert field.null is False, model.__name__
        assert field.db_index or field.unique, model.__name__


@pytest.mark.django_db
@pytest.mark.parametrize("model", store_owned_models(), ids=lambda m: m.__name__)
def test_query_outside_a_store_scope_raises(model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk__isnull=False).count()
    with pytest.raises(ScopeError):
        model.objects.get(pk="00000000-0000-0000-0000-000000000000")


@pytest.mark.django_db
def test_scope_shows_only_its_own_store_rows(store, other_store):
    mine = ProductFactory(store=store, sku="MINE")
    ProductFactory(store=other_store, sku="THEIRS")
    with store_scope(store):
        assert list(Product.objects.values_list("sku", flat=True)) == ["MINE"]
        assert Product.objects.filter(pk=mine.pk).exists()
    with store_scope(other_store):
        assert not Product.objects.filter(pk=mine.pk).exists()
        with pytest.raises(Product.DoesNotExist):
            Product.objects.get(sku="MINE")


@pytest.mark.django_db
def test_related_managers_are_scoped_too(store, other_store):
    conversation = ConversationFactory(store=store)
    MessageFactory(conversation=conversation, content="hi")
    with pytest.raises(ScopeError):
        list(conversation.messages.all())
    with store_scope(store):
        assert [m.content for m in conversation.messages.all()] == ["hi"]
    with store_scope(other_store):
        assert list(conversation.messages.all()) == []
        assert Message.objects.count() == 0
        assert Conversation.objects.count() == 0


def test_unscoped_needs_a_listed_reason():
    with pytest.raises(ValueError, match="Unlisted reason"):
        with unscoped("because"):
            pass


@pytest.mark.django_db
def test_member_of_store_a_cannot_reach_store_b(store, other_store, agent):
    assert membership_get(user=agent, store_id=store.id).role == UserRole.AGENT
    with pytest.raises(Http404):
        membership_get(user=agent, store_id=other_store.id)
    with pytest.raises(Http404):
        membership_get(user=agent, store_id="not-a-uuid")
    assert [m.store for m in memberships_for_user(user=agent)] == [store]


@pytest.mark.django_db
def test_role_below_the_minimum_is_refused(store, agent, owner):
    with pytest.raises(PermissionError):
        membership_get(user=agent, store_id=store.id, minimum_role=UserRole.OWNER)
    assert membership_get(user=owner, store_id=store.id, minimum_role=UserRole.OWNER).role == UserRole.OWNER


@pytest.mark.django_db
def test_inactive_store_is_not_found(store, owner):
    Store.objects.filter(pk=store.pk).update(is_active=False)
    with pytest.raises(Http404):
        membership_get(user=owner, store_id=store.id)
