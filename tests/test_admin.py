"""The operator admin: every model is reachable, secrets never render, and write-only fields work."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User, UserRole
from apps.channels.models import Channel
from apps.conversations.admin import MESSAGE_INLINE_LIMIT
from apps.conversations.models import (
    Conversation,
    Customer,
    InboundMessage,
    Message,
)
from apps.handoff.models import Handoff
from apps.stores.models import (
    Order,
    Product,
    ProductVariant,
    Store,
    StoreInvitation,
    StoreMembership,
    StoreSettings,
)
from apps.training.models import EMBEDDING_DIMENSIONS, TrainingChunk, TrainingDoc
from convix.tenancy import unscoped
from tests.factories import (
    ChannelFactory,
    ConversationFactory,
    CustomerFactory,
    HandoffFactory,
    MembershipFactory,
    MessageFactory,
    OrderFactory,
    ProductFactory,
    StoreFactory,
    TrainingDocFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"accounts", "stores", "convix_channels", "training", "conversations", "handoff"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in PROJECT_APPS),
    key=lambda model: model._meta.label,
)
STORE_OWNED = [
    model for model in REGISTERED if any(field.name == "store" for field in model._meta.get_fields())
]

SECRETS = {
    "api_key": "sk_live_SECRET123",
    "api_secret": "shpss_SECRET456",
    "platform": "wc-consumer-SECRET789",
    "zendesk": "zd-token-SECRET-abc",
    "gorgias": "gorgias-key-SECRET-def",
    "freshdesk": "fd-key-SECRET-ghi",
    "channel": "EAAG-secret-token-value",
    "channel_app": "app-secret-SECRET-jkl",
}
# Every vector component is this value, so a rendered embedding would show it.
EMBEDDING_VALUE = 0.123456


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def build_world(store: Store) -> dict[type, object]:
    """One object of every registered model for ``store``; call inside an unscoped block."""
    member = UserFactory()
    membership = MembershipFactory(store=store, user=member, role=UserRole.AGENT)
    product = ProductFactory(store=store)
    variant = VariantFactory(product=product)
    order = OrderFactory(store=store)
    channel = ChannelFactory(store=store)
    doc = TrainingDocFactory(store=store, chunk_count=1)
    chunk = TrainingChunk.objects.create(
        store=store,
        doc=doc,
        title=doc.title,
        text="Chunk text about shipping to Canada.",
        content_hash="a" * 64,
        embedding=[EMBEDDING_VALUE] * EMBEDDING_DIMENSIONS,
    )
    conversation = ConversationFactory(store=store, channel=channel, assigned_agent=member)
    message = MessageFactory(conversation=conversation, author=member)
    inbound = InboundMessage.objects.create(
        store=store,
        channel_type=channel.type,
        provider_message_id=f"wamid.{store.slug}",
        conversation=conversation,
        message=message,
    )
    handoff = HandoffFactory(conversation=conversation, assigned_to=member)
    invitation = StoreInvitation.objects.create(
        store=store,
        email=f"invitee@{store.slug}.example",
        key_hash=hashlib.sha256(store.slug.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        User: member,
        Store: store,
        StoreSettings: StoreSettings.objects.get(store=store),
        StoreMembership: membership,
        Product: product,
        ProductVariant: variant,
        Order: order,
        Channel: channel,
        TrainingDoc: doc,
        TrainingChunk: chunk,
        Customer: conversation.customer,
        Conversation: conversation,
        Message: message,
        InboundMessage: inbound,
        Handoff: handoff,
        StoreInvitation: invitation,
    }


@pytest.fixture
def superuser(db):
    return UserFactory(email="staff@convix.example", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def world(store):
    with unscoped("tests"):
        store.api_key = SECRETS["api_key"]
        store.api_secret = SECRETS["api_secret"]
        store.platform_config = {"consumer_secret": SECRETS["platform"]}
        store.save()
        settings = StoreSettings.objects.get(store=store)
        settings.zendesk_api_token = SECRETS["zendesk"]
        settings.gorgias_api_key = SECRETS["gorgias"]
        settings.freshdesk_api_key = SECRETS["freshdesk"]
        settings.save()
        objects = build_world(store)
        channel = objects[Channel]
        channel.config = {"access_token": SECRETS["channel"], "app_secret": SECRETS["channel_app"]}
        channel.save()
    return objects


def post_data(response) -> dict:
    """The POST body that submits an admin change form (and its inlines) as it was rendered."""
    data = {}
    forms_to_submit = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound_field in formset.management_form:
            data[bound_field.html_name] = bound_field.value()
        data[f"{formset.prefix}-TOTAL_FORMS"] = formset.initial_form_count()
        forms_to_submit.extend(formset.initial_forms)
    for form in forms_to_submit:
        for bound_field in form:
            value = bound_field.value()
            widget = bound_field.field.widget
            if isinstance(bound_field.field, forms.BooleanField):
                if value:
                    data[bound_field.html_name] = "on"
            elif isinstance(widget, forms.MultiWidget):
                parts = widget.decompress(value) if value else [None] * len(widget.widgets)
                for suffix, part in zip(widget.widgets_names, parts, strict=True):
                    data[bound_field.html_name + suffix] = "" if part is None else str(part)
            elif isinstance(value, list | tuple):
                data[bound_field.html_name] = [str(item) for item in value]
            else:
                data[bound_field.html_name] = "" if value is None else str(value)
    return data


def form_errors(response) -> dict:
    """The errors of a re-rendered admin form and its inlines (empty when the POST succeeded)."""
    if response.context is None:
        return {}
    errors = dict(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.non_form_errors():
            errors[inline.formset.prefix] = list(inline.formset.non_form_errors())
        for index, inline_errors in enumerate(inline.formset.errors):
            if inline_errors:
                errors[f"{inline.formset.prefix}-{index}"] = dict(inline_errors)
    return errors


def submit_change_form(client, model, pk, **changes):
    url = admin_url(model, "change", pk)
    data = post_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


# --- registration and pages -------------------------------------------------------------------


def test_every_project_model_is_registered():
    assert sorted(model.__name__ for model in REGISTERED) == [
        "Channel",
        "Conversation",
        "Customer",
        "Handoff",
        "InboundMessage",
        "Message",
        "Order",
        "Product",
        "ProductVariant",
        "Store",
        "StoreInvitation",
        "StoreMembership",
        "StoreSettings",
        "TrainingChunk",
        "TrainingDoc",
        "User",
    ]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_changelist_returns_200(staff_client, world, model):
    response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_changelist_search_returns_200(staff_client, world, model):
    for term in ("nothing-matches-this", "00000000-0000-0000-0000-000000000000"):
        response = staff_client.get(admin_url(model, "changelist"), {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0


@pytest.mark.parametrize("model", STORE_OWNED, ids=lambda model: model.__name__)
def test_changelist_filtered_by_store_shows_only_that_store(staff_client, world, other_store, model):
    with unscoped("tests"):
        build_world(other_store)
    model_admin = admin.site._registry[model]
    assert "store" in model_admin.list_display
    assert "store" in model_admin.list_filter
    response = staff_client.get(admin_url(model, "changelist"), {"store__id__exact": str(other_store.pk)})
    assert response.status_code == 200
    assert {obj.store_id for obj in response.context["cl"].result_list} == {other_store.pk}


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_add_page_returns_200_when_adding_is_allowed(staff_client, superuser, rf, model):
    request = rf.get("/admin/")
    request.user = superuser
    can_add = admin.site._registry[model].has_add_permission(request)
    response = staff_client.get(admin_url(model, "add"))
    assert response.status_code == (200 if can_add else 403)


def test_records_written_by_the_system_cannot_be_added_here(superuser, rf):
    request = rf.get("/admin/")
    request.user = superuser
    not_addable = sorted(
        model.__name__ for model in REGISTERED if not admin.site._registry[model].has_add_permission(request)
    )
    assert not_addable == [
        "Conversation",
        "Handoff",
        "InboundMessage",
        "Message",
        "StoreInvitation",
        "TrainingChunk",
    ]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_change_page_returns_200(staff_client, world, model):
    response = staff_client.get(admin_url(model, "change", world[model].pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_history_page_returns_200(staff_client, world, model):
    response = staff_client.get(admin_url(model, "history", world[model].pk))
    assert response.status_code == 200


def test_changelist_query_count_does_not_grow_with_rows(staff_client, world, other_store):
    def count_queries() -> dict[str, int]:
        counts = {}
        for model in REGISTERED:
            with CaptureQueriesContext(connection) as queries:
                response = staff_client.get(admin_url(model, "changelist"))
            assert response.status_code == 200
            counts[model.__name__] = len(queries)
        return counts

    count_queries()  # warm the caches (content types, sessions)
    with_one_store = count_queries()
    with unscoped("tests"):
        build_world(other_store)
        build_world(StoreFactory(name="Store C", slug="store-c"))
    assert count_queries() == with_one_store


AUTOCOMPLETE_FIELDS = [
    (model, field_name)
    for model in REGISTERED
    for field_name in admin.site._registry[model].autocomplete_fields
]


@pytest.mark.parametrize(
    ("model", "field_name"), AUTOCOMPLETE_FIELDS, ids=lambda value: getattr(value, "__name__", value)
)
def test_autocomplete_finds_the_related_object(staff_client, world, model, field_name):
    related_model = model._meta.get_field(field_name).related_model
    target = world[related_model]
    term = target.email if related_model is User else target.name
    response = staff_client.get(
        "/admin/autocomplete/",
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field_name,
            "term": term,
        },
    )
    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(target.pk)]


def test_store_delete_confirmation_shows_no_secrets(staff_client, world, store):
    response = staff_client.get(admin_url(Store, "delete", store.pk))
    assert response.status_code == 200
    assert_no_secret(response.content.decode(), store)


def test_deleting_products_from_the_changelist(staff_client, world):
    product = world[Product]
    response = staff_client.post(
        admin_url(Product, "changelist"),
        {"action": "delete_selected", "_selected_action": [str(product.pk)], "post": "yes"},
    )
    assert response.status_code == 302
    with unscoped("tests"):
        assert Product.objects.filter(pk=product.pk).exists() is False
        assert ProductVariant.objects.filter(product_id=product.pk).count() == 0


# --- access -----------------------------------------------------------------------------------


def test_non_staff_user_is_redirected_to_the_admin_login(client, outsider):
    client.force_login(outsider)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url == "/admin/login/?next=/admin/"
    response = client.get(admin_url(Store, "changelist"))
    assert response.status_code == 302
    assert response.url == "/admin/login/?next=/admin/stores/store/"


def test_store_member_who_is_not_staff_is_redirected_to_the_admin_login(client, owner, store):
    client.force_login(owner)
    response = client.get(admin_url(Store, "change", store.pk))
    assert response.status_code == 302
    assert response.url == f"/admin/login/?next=/admin/stores/store/{store.pk}/change/"


def test_anonymous_visitor_is_redirected_to_the_admin_login(client):
    response = client.get(admin_url(Channel, "changelist"))
    assert response.status_code == 302
    assert response.url == "/admin/login/?next=/admin/convix_channels/channel/"


# --- secrets ----------------------------------------------------------------------------------


def assert_no_secret(html: str, store: Store) -> None:
    for name, secret in SECRETS.items():
        assert secret not in html, name
    assert store.identity_secret not in html


def test_store_pages_do_not_show_secrets(staff_client, world, store):
    for url in (admin_url(Store, "change", store.pk), admin_url(Store, "changelist")):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), store)
    html = staff_client.get(admin_url(Store, "change", store.pk)).content.decode()
    assert "consumer_secret: ••••" in html
    # The API key, API secret and identity secret, and the settings inline's three helpdesk keys.
    assert html.count('<div class="readonly">configured</div>') == 6
    form = staff_client.get(admin_url(Store, "change", store.pk)).context["adminform"].form
    assert {"api_key", "api_secret", "platform_config", "identity_secret"}.isdisjoint(form.fields)


def test_store_settings_pages_do_not_show_secrets(staff_client, world, store):
    settings = world[StoreSettings]
    for url in (admin_url(StoreSettings, "change", settings.pk), admin_url(StoreSettings, "changelist")):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), store)
    response = staff_client.get(admin_url(StoreSettings, "change", settings.pk))
    assert {"zendesk_api_token", "gorgias_api_key", "freshdesk_api_key"}.isdisjoint(
        response.context["adminform"].form.fields
    )


def test_channel_pages_show_credential_keys_with_masked_values(staff_client, world, store):
    channel = world[Channel]
    for url in (admin_url(Channel, "change", channel.pk), admin_url(Channel, "changelist")):
        response = staff_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert_no_secret(html, store)
        assert "access_token: ••••, app_secret: ••••" in html
    response = staff_client.get(admin_url(Channel, "change", channel.pk))
    assert "config" not in response.context["adminform"].form.fields


def test_staff_with_view_permission_only_sees_no_secrets(client, world, store):
    viewer = UserFactory(email="viewer@convix.example", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_store", "view_storesettings", "view_storemembership", "view_channel"]
        )
    )
    client.force_login(viewer)
    for url in (
        admin_url(Store, "change", store.pk),
        admin_url(StoreSettings, "change", world[StoreSettings].pk),
        admin_url(Channel, "change", world[Channel].pk),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), store)
    response = client.post(
        admin_url(Store, "change", store.pk), {"name": "Taken over", "new_api_key": "sk_x"}
    )
    assert response.status_code == 403
    with unscoped("tests"):
        store.refresh_from_db()
    assert (store.name, store.api_key) == ("Store A", SECRETS["api_key"])


def test_a_failed_submission_does_not_echo_the_secret_back(staff_client, world, store):
    response = submit_change_form(
        staff_client,
        Store,
        store.pk,
        name="",
        new_api_key="sk_live_TYPED999",
        platform_config_update="not json",
    )
    assert response.status_code == 200
    assert set(form_errors(response)) == {"name", "platform_config_update"}
    html = response.content.decode()
    assert "sk_live_TYPED999" not in html
    assert_no_secret(html, store)
    with unscoped("tests"):
        store.refresh_from_db()
    assert store.api_key == SECRETS["api_key"]
    assert store.name == "Store A"


# --- write-only fields ------------------------------------------------------------------------


def test_setting_a_new_api_key_stores_it_and_an_empty_field_keeps_it(staff_client, world, store):
    response = submit_change_form(staff_client, Store, store.pk, new_api_key="sk_live_NEW456")
    assert form_errors(response) == {}
    assert response.status_code == 302
    assert response.url == admin_url(Store, "changelist")
    with unscoped("tests"):
        store.refresh_from_db()
    assert store.api_key == "sk_live_NEW456"
    assert store.api_secret == SECRETS["api_secret"]
    assert store.platform_config == {"consumer_secret": SECRETS["platform"]}

    response = submit_change_form(staff_client, Store, store.pk, new_api_key="", domain="renamed.example")
    assert response.status_code == 302
    with unscoped("tests"):
        store.refresh_from_db()
    assert store.api_key == "sk_live_NEW456"
    assert store.api_secret == SECRETS["api_secret"]
    assert store.domain == "renamed.example"

    history = staff_client.get(admin_url(Store, "history", store.pk)).content.decode()
    assert "New API key" in history
    assert "sk_live_NEW456" not in history
    assert "sk_live_NEW456" not in staff_client.get(admin_url(Store, "change", store.pk)).content.decode()


def test_setting_a_new_api_secret_and_platform_config_keys(staff_client, world, store):
    response = submit_change_form(
        staff_client,
        Store,
        store.pk,
        new_api_secret="shpss_NEW000",
        platform_config_update='{"webhook_secret": "whsec_NEW", "consumer_secret": null}',
    )
    assert response.status_code == 302
    with unscoped("tests"):
        store.refresh_from_db()
    assert store.api_key == SECRETS["api_key"]
    assert store.api_secret == "shpss_NEW000"
    assert store.platform_config == {"webhook_secret": "whsec_NEW"}


def test_setting_helpdesk_keys_through_store_settings(staff_client, world):
    settings = world[StoreSettings]
    response = submit_change_form(
        staff_client,
        StoreSettings,
        settings.pk,
        new_zendesk_api_token="zd-NEW-token",
        new_freshdesk_api_key="fd-NEW-key",
    )
    assert form_errors(response) == {}
    assert response.status_code == 302
    with unscoped("tests"):
        settings.refresh_from_db()
    assert settings.zendesk_api_token == "zd-NEW-token"
    assert settings.gorgias_api_key == SECRETS["gorgias"]
    assert settings.freshdesk_api_key == "fd-NEW-key"


def test_setting_a_helpdesk_key_through_the_store_settings_inline(staff_client, world, store):
    response = submit_change_form(
        staff_client, Store, store.pk, **{"settings-0-new_gorgias_api_key": "gg-NEW"}
    )
    assert form_errors(response) == {}
    assert response.status_code == 302
    with unscoped("tests"):
        settings = StoreSettings.objects.get(store=store)
    assert settings.gorgias_api_key == "gg-NEW"
    assert settings.zendesk_api_token == SECRETS["zendesk"]


def test_channel_credentials_update_merges_keys(staff_client, world):
    channel = world[Channel]
    response = submit_change_form(
        staff_client,
        Channel,
        channel.pk,
        config_update='{"access_token": "EAAG-rotated", "app_secret": null}',
    )
    assert form_errors(response) == {}
    assert response.status_code == 302
    with unscoped("tests"):
        channel.refresh_from_db()
    assert channel.config == {"access_token": "EAAG-rotated"}

    response = submit_change_form(staff_client, Channel, channel.pk, config_update="", name="Support line")
    assert response.status_code == 302
    with unscoped("tests"):
        channel.refresh_from_db()
    assert channel.config == {"access_token": "EAAG-rotated"}
    assert channel.name == "Support line"


def test_channel_credentials_update_rejects_a_non_object(staff_client, world):
    channel = world[Channel]
    response = submit_change_form(staff_client, Channel, channel.pk, config_update='["EAAG-list"]')
    assert response.status_code == 200
    assert form_errors(response) == {"config_update": ["Enter a JSON object."]}
    assert "EAAG-list" not in response.content.decode()
    with unscoped("tests"):
        channel.refresh_from_db()
    assert channel.config == {"access_token": SECRETS["channel"], "app_secret": SECRETS["channel_app"]}


# --- stores, users and store consistency ------------------------------------------------------


def test_adding_a_store_creates_its_settings_and_owner_membership(staff_client, owner):
    response = staff_client.get(admin_url(Store, "add"))
    data = post_data(response)
    data.update(
        name="Store New",
        slug="store-new",
        owner=str(owner.pk),
        currency="EUR",
        timezone="Europe/Paris",
        new_api_key="sk_live_ADDED",
        **{"settings-TOTAL_FORMS": "0", "memberships-TOTAL_FORMS": "0"},
    )
    response = staff_client.post(admin_url(Store, "add"), data)
    assert form_errors(response) == {}
    assert response.status_code == 302
    with unscoped("tests"):
        store = Store.objects.get(slug="store-new")
        assert store.api_key == "sk_live_ADDED"
        # Not set: the encrypted field stores an empty value as NULL and reads it back as None.
        assert store.api_secret in ("", None)
        assert StoreSettings.objects.filter(store=store).count() == 1
        assert list(StoreMembership.objects.filter(store=store).values_list("user__email", "role")) == [
            (owner.email, UserRole.OWNER)
        ]


def test_adding_a_user_lowercases_the_email_and_hashes_the_password(staff_client):
    data = {
        "email": "New.Agent@Example.COM",
        "name": "New Agent",
        "role": UserRole.AGENT,
        "usable_password": "true",
        "password1": "a-long-enough-passphrase",
        "password2": "a-long-enough-passphrase",
    }
    response = staff_client.post(admin_url(User, "add"), data)
    user = User.objects.get(email="new.agent@example.com")
    assert response.status_code == 302
    assert response.url == admin_url(User, "change", user.pk)
    assert user.check_password("a-long-enough-passphrase")
    assert user.is_staff is False

    response = staff_client.post(admin_url(User, "add"), {**data, "email": "NEW.AGENT@example.com"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "email": ["A user with this email address already exists."]
    }
    assert User.objects.filter(email__iexact="new.agent@example.com").count() == 1


def test_user_page_links_to_password_change_and_lists_memberships(staff_client, world, store, owner):
    response = staff_client.get(admin_url(User, "change", owner.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="../password/"' in html or "../password/" in html
    memberships = response.context["inline_admin_formsets"][0].formset
    assert [form.instance.store_id for form in memberships.initial_forms] == [store.pk]
    # Django's UserAdmin names this URL after auth.User whatever the user model.
    password_url = reverse("admin:auth_user_password_change", args=[owner.pk])
    assert password_url == f"/admin/accounts/user/{owner.pk}/password/"
    assert staff_client.get(password_url).status_code == 200


def test_conversation_cannot_point_to_another_stores_customer(staff_client, world, other_store):
    conversation = world[Conversation]
    with unscoped("tests"):
        foreign_customer = CustomerFactory(store=other_store)
    response = submit_change_form(
        staff_client, Conversation, conversation.pk, customer=str(foreign_customer.pk)
    )
    assert response.status_code == 200
    assert form_errors(response) == {"customer": ["This belongs to another store."]}
    with unscoped("tests"):
        conversation.refresh_from_db()
    assert conversation.customer_id == world[Customer].pk


def test_store_is_read_only_once_an_object_exists(staff_client, world, other_store):
    product = world[Product]
    response = submit_change_form(
        staff_client, Product, product.pk, store=str(other_store.pk), title="Renamed"
    )
    assert response.status_code == 302
    with unscoped("tests"):
        product.refresh_from_db()
    assert product.store_id == world[Store].pk
    assert product.title == "Renamed"


def test_variant_sku_clash_in_the_same_store_is_a_form_error(staff_client, world):
    variant = world[ProductVariant]
    with unscoped("tests"):
        other = VariantFactory(product=world[Product], sku="TAKEN-SKU")
    response = submit_change_form(staff_client, ProductVariant, variant.pk, sku="TAKEN-SKU")
    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["Product variant with this Store and Sku already exists."]}
    with unscoped("tests"):
        variant.refresh_from_db()
    assert variant.sku != other.sku


def test_variant_added_inline_takes_the_products_store(staff_client, world, store):
    product = world[Product]
    url = admin_url(Product, "change", product.pk)
    data = post_data(staff_client.get(url))
    data.update(
        {
            "variants-TOTAL_FORMS": "2",
            "variants-1-sku": "INLINE-NEW",
            "variants-1-title": "Large",
            "variants-1-options": "{}",
            "variants-1-price": "59.00",
            "variants-1-stock": "3",
            "variants-1-is_active": "on",
            "variants-1-product": str(product.pk),
        }
    )
    response = staff_client.post(url, data)
    assert form_errors(response) == {}
    assert response.status_code == 302
    with unscoped("tests"):
        added = ProductVariant.objects.get(sku="INLINE-NEW")
    assert (added.store_id, added.product_id, added.price) == (store.pk, product.pk, Decimal("59.00"))


# --- big relations ----------------------------------------------------------------------------


def test_conversation_page_shows_only_the_latest_messages_read_only(staff_client, world):
    conversation = world[Conversation]
    with unscoped("tests"):
        Message.objects.filter(conversation=conversation).delete()
        for number in range(MESSAGE_INLINE_LIMIT + 2):
            MessageFactory(conversation=conversation, content=f"message-{number:03d}-end")
    response = staff_client.get(admin_url(Conversation, "change", conversation.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "message-000-end" not in html
    assert "message-001-end" not in html
    assert "message-002-end" in html
    assert f"message-{MESSAGE_INLINE_LIMIT + 1:03d}-end" in html
    formset = response.context["inline_admin_formsets"][0].formset
    assert len(formset.initial_forms) == MESSAGE_INLINE_LIMIT
    assert f"?conversation__id__exact={conversation.pk}" in html


def test_training_doc_page_does_not_inline_chunks(staff_client, world):
    doc = world[TrainingDoc]
    response = staff_client.get(admin_url(TrainingDoc, "change", doc.pk))
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []
    html = response.content.decode()
    assert "Chunk text about shipping to Canada." not in html
    assert f"?doc__id__exact={doc.pk}" in html


def test_chunk_pages_show_the_embedding_size_not_the_embedding(staff_client, world):
    chunk = world[TrainingChunk]
    for url in (admin_url(TrainingChunk, "change", chunk.pk), admin_url(TrainingChunk, "changelist")):
        response = staff_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert str(EMBEDDING_VALUE) not in html
        assert f"{EMBEDDING_DIMENSIONS} dimensions" in html
    response = staff_client.get(admin_url(TrainingChunk, "change", chunk.pk))
    assert "embedding" not in response.context["adminform"].form.fields
