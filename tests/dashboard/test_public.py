"""The public side: marketing pages, sign-up / log-in / password reset / email verification
(django-allauth, email through the locmem outbox), and the five onboarding steps."""

from __future__ import annotations

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from apps.accounts.models import User, UserRole
from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.stores.middleware import SESSION_STORE_KEY
from apps.stores.models import PLAN_LIMITS, PlanTier, Product, Store, StoreMembership, StoreSettings
from apps.stores.onboarding import onboarding_progress
from apps.training.models import DocStatus, DocType, TrainingDoc
from convix.tenancy import store_scope, unscoped
from tests.factories import ChannelFactory, TrainingDocFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-enough-passphrase-42"
STEP_URLS = [
    "/onboarding/connect-store",
    "/onboarding/train-ai",
    "/onboarding/customize",
    "/onboarding/channels",
    "/onboarding/go-live",
]
PRODUCTS_CSV = (
    b"sku,title,price,category,description,stock\n"
    b"TENT-2P,Ridgeline 2P tent,249.00,Tents,Two-person backpacking tent,12\n"
    b"BAG-20,Summit 20F sleeping bag,189.50,Sleeping bags,Down bag rated to 20F,4\n"
)


def page(response) -> str:
    return response.content.decode()


def csv_upload(content: bytes = PRODUCTS_CSV, name: str = "products.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "text/csv")


def link_in(body: str) -> str:
    return re.search(r"http://testserver(/\S+)", body).group(1)


# --- marketing ---------------------------------------------------------------------------------


def test_landing_page_has_the_pitch_the_channels_and_the_calls_to_action(client):
    response = client.get("/")
    assert response.status_code == 200
    html = page(response)
    assert "knows when to call a human" in html
    for label in ("Web widget", "WhatsApp", "SMS", "Instagram", "Messenger", "Email", "Slack"):
        assert f"<li>{label}</li>" in html
    assert 'href="/signup"' in html and 'href="/demo"' in html
    assert "How it works" in html


def test_pricing_shows_each_tier_with_the_limits_of_plan_limits(client):
    html = page(client.get("/pricing"))
    for tier in PlanTier:
        limits = PLAN_LIMITS[tier]
        start = html.index(f'data-tier="{tier.value}"')
        section = html[start : html.index("</article>", start)]
        assert f"<h2>{tier.label}</h2>" in section
        for value in (
            limits.monthly_conversations,
            limits.channels,
            limits.training_docs,
            limits.seats,
        ):
            expected = "Unlimited" if value is None else f"{value:,}"
            assert f"<dd>{expected}</dd>" in section
        if limits.monthly_price_usd is None:
            assert "Custom" in section and "Talk to sales" in section
        else:
            assert f"${limits.monthly_price_usd}<span>/month</span>" in section


def test_features_page_compares_with_the_alternatives(client):
    html = page(client.get("/features"))
    for name in ("Chatwoot", "Intercom Fin", "Gorgias", "Zendesk AI"):
        assert f'<th scope="col">{name}</th>' in html
    # Honest: Convix is not a full helpdesk.
    row = html[html.index("A full helpdesk") :]
    assert re.search(r'mk-mark no us">[^<]*<span aria-hidden="true">–</span> No', row[:400])


# --- sign-up, log-in, log-out ------------------------------------------------------------------


def test_signup_creates_the_user_sends_a_verification_email_and_lands_on_onboarding(client, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {"email": "New@Merchant.example", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == "/onboarding/connect-store"
    user = User.objects.get(email="new@merchant.example")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@merchant.example"]
    assert mailoutbox[0].subject.startswith("[Convix]")
    assert client.get("/onboarding/connect-store").status_code == 200
    assert EmailAddress.objects.get(user=user).verified is False


def test_signup_with_bad_input_shows_errors_and_creates_nobody(client):
    response = client.post(
        "/accounts/signup/", {"email": "not-an-email", "password1": "short", "password2": "other"}
    )
    assert response.status_code == 200
    html = page(response)
    assert 'class="errorlist"' in html
    assert "Enter a valid email address." in html
    assert not User.objects.filter(email="not-an-email").exists()


def test_signup_page_and_login_page_render(client):
    signup = page(client.get("/signup", follow=True))
    assert "Create your account" in signup and 'name="csrfmiddlewaretoken"' in signup
    login = page(client.get("/login", follow=True))
    assert "Welcome back" in login and 'href="/forgot-password"' in login


def test_login_sends_a_member_to_the_dashboard(client, owner, store):
    response = client.post("/accounts/login/", {"login": owner.email, "password": "correct-horse-battery"})
    assert response.status_code == 302 and response.url == "/dashboard"


def test_login_sends_a_user_without_a_store_to_onboarding(client, outsider):
    response = client.post("/accounts/login/", {"login": outsider.email, "password": "correct-horse-battery"})
    assert response.status_code == 302 and response.url == "/onboarding/connect-store"


def test_login_with_a_wrong_password_says_so(client, owner):
    response = client.post("/accounts/login/", {"login": owner.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in page(response)
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, owner, store):
    client.force_login(owner)
    assert client.get("/dashboard").status_code == 200
    assert "Log out" in page(client.get("/accounts/logout/"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/dashboard").url == "/login?next=/dashboard"


@pytest.mark.parametrize("path", ["/dashboard", *STEP_URLS])
def test_anonymous_visitor_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"/login?next={path}"


@pytest.mark.parametrize("path", ["/accounts/password/change/", "/accounts/email/"])
def test_allauths_other_account_pages_use_the_convix_layout(client, owner, store, path):
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 200
    html = page(response)
    assert 'class="auth-card"' in html and "css/marketing.css" in html


# --- forgot password and email verification ----------------------------------------------------


def test_forgot_password_goes_to_the_reset_form(client):
    response = client.get("/forgot-password")
    assert response.status_code == 302 and response.url == "/accounts/password/reset/"
    assert "Forgot your password?" in page(client.get(response.url))


def test_password_reset_by_the_emailed_link(client, owner, store, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": owner.email})
    assert response.status_code == 302 and response.url == "/accounts/password/reset/done/"
    assert "Check your email" in page(client.get(response.url))
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [owner.email]
    form = client.get(link_in(mailoutbox[0].body), follow=True)
    assert "Choose a new password" in page(form)
    action = form.redirect_chain[-1][0] if form.redirect_chain else link_in(mailoutbox[0].body)
    new_password = "brand-New-passphrase-77"
    # A mismatch is refused with a clear error, and the old password still works.
    mismatch = client.post(action, {"password1": new_password, "password2": "something-else-99"})
    assert mismatch.status_code == 200 and 'class="errorlist"' in page(mismatch)
    owner.refresh_from_db()
    assert owner.check_password("correct-horse-battery")
    done = client.post(action, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302
    assert "Password changed" in page(client.get(done.url))
    owner.refresh_from_db()
    assert owner.check_password(new_password)
    # The link works once.
    again = client.get(link_in(mailoutbox[0].body), follow=True)
    assert "This link has expired" in page(again)
    fresh = Client()
    login = fresh.post("/accounts/login/", {"login": owner.email, "password": new_password})
    assert login.status_code == 302 and login.url == "/dashboard"


def test_password_reset_for_an_unknown_email_reveals_nothing(client, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "nobody@nowhere.example"})
    assert response.status_code == 302 and response.url == "/accounts/password/reset/done/"
    assert all("reset" not in link_in(mail.body) for mail in mailoutbox if "http" in mail.body)


def test_email_verification_by_the_emailed_link(client, mailoutbox):
    client.post(
        "/accounts/signup/",
        {"email": "verify@merchant.example", "password1": PASSWORD, "password2": PASSWORD},
    )
    address = EmailAddress.objects.get(email="verify@merchant.example")
    assert address.verified is False
    confirm = client.get(link_in(mailoutbox[0].body))
    assert confirm.status_code == 200
    assert "Confirm your email" in page(confirm) and "verify@merchant.example" in page(confirm)
    response = client.post(link_in(mailoutbox[0].body))
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.verified is True


def test_a_bad_verification_link_says_it_expired(client):
    response = client.get("/accounts/confirm-email/not-a-real-key/")
    assert response.status_code == 200
    assert "This link has expired" in page(response)


# --- onboarding: access ----------------------------------------------------------------------


def test_user_without_a_store_may_only_start_with_connect_store(client, outsider):
    client.force_login(outsider)
    assert client.get("/onboarding/connect-store").status_code == 200
    for path in STEP_URLS[1:]:
        response = client.get(path)
        assert response.status_code == 302 and response.url == "/onboarding/connect-store"


@pytest.mark.parametrize("path", STEP_URLS)
def test_an_agent_cannot_run_onboarding_steps(agent_client, store, path):
    assert agent_client.get(path).status_code == 403


def test_an_agent_cannot_edit_the_store_through_connect_store(agent_client, store):
    response = agent_client.post(
        "/onboarding/connect-store", {"platform": "CUSTOM", "name": "Hijacked", "domain": "evil.example"}
    )
    assert response.status_code == 403
    store.refresh_from_db()
    assert (store.name, store.domain) == ("Store A", "store-a.example")


def test_an_agent_cannot_add_training_or_change_the_widget(agent_client, store):
    assert (
        agent_client.post("/onboarding/train-ai", {"kind": "faq", "faq-question": "Q?", "faq-answer": "A."})
    ).status_code == 403
    assert (
        agent_client.post(
            "/onboarding/customize",
            {
                "primary_color": "#000000",
                "position": "left",
                "greeting": "Hacked",
                "launcher_text": "Hacked",
            },
        ).status_code
        == 403
    )
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(store=store).exists()
        assert StoreSettings.objects.get(store=store).greeting != "Hacked"


def test_admin_may_run_onboarding(admin_client_, store):
    for path in STEP_URLS:
        assert admin_client_.get(path).status_code == 200


# --- step 1: connect store ---------------------------------------------------------------------


def test_new_user_creates_a_custom_store_and_imports_a_product_csv(client, outsider):
    client.force_login(outsider)
    response = client.post(
        "/onboarding/connect-store",
        {
            "platform": "CUSTOM",
            "name": "Trail Shop",
            "domain": "https://trail.example/shop",
            "catalog_file": csv_upload(),
        },
    )
    assert response.status_code == 302 and response.url == "/onboarding/train-ai"
    store = Store.objects.get(owner=outsider)
    assert (store.name, store.domain, store.platform) == ("Trail Shop", "trail.example", "CUSTOM")
    assert client.session[SESSION_STORE_KEY] == str(store.id)
    with store_scope(store):
        assert StoreMembership.objects.get(store=store, user=outsider).role == UserRole.OWNER
        products = {p.sku: p for p in Product.objects.filter(store=store)}
        assert set(products) == {"TENT-2P", "BAG-20"}
        assert str(products["BAG-20"].price) == "189.50"
        assert products["TENT-2P"].total_stock == 12
        # The same import service as the REST API: the catalog document is queued for indexing.
        assert TrainingDoc.objects.filter(store=store, type=DocType.PRODUCT_CATALOG).count() == 1
        assert Channel.objects.get(store=store).type == ChannelType.WEB_WIDGET
    follow = client.get("/onboarding/train-ai")
    assert "Imported 2 new and 0 updated products." in page(follow)


def test_a_json_catalog_is_imported_too(client, outsider):
    client.force_login(outsider)
    payload = {"products": [{"sku": "MUG", "title": "Camp mug", "price": "12.00", "stock": 3}]}
    upload = SimpleUploadedFile("catalog.json", json.dumps(payload).encode(), "application/json")
    response = client.post(
        "/onboarding/connect-store", {"platform": "CUSTOM", "name": "Mug Shop", "catalog_file": upload}
    )
    assert response.status_code == 302
    store = Store.objects.get(owner=outsider)
    with store_scope(store):
        assert list(Product.objects.filter(store=store).values_list("sku", flat=True)) == ["MUG"]


def test_an_invalid_catalog_shows_the_rows_and_creates_nothing(client, outsider):
    client.force_login(outsider)
    bad = b"sku,title,price\nOK-1,Fine,10.00\nBAD-1,Broken,not-a-price\n"
    response = client.post(
        "/onboarding/connect-store",
        {"platform": "CUSTOM", "name": "Broken Shop", "catalog_file": csv_upload(bad)},
    )
    assert response.status_code == 400
    assert "Row 2, price: A valid number is required." in page(response)
    assert 'value="Broken Shop"' in page(response)  # nothing the merchant typed is lost
    assert not Store.objects.filter(owner=outsider).exists()


def test_a_catalog_of_the_wrong_type_is_refused(client, outsider):
    client.force_login(outsider)
    upload = SimpleUploadedFile("catalog.xlsx", b"PK\x03\x04", "application/vnd.ms-excel")
    response = client.post(
        "/onboarding/connect-store", {"platform": "CUSTOM", "name": "X", "catalog_file": upload}
    )
    assert response.status_code == 400
    assert "Upload a .csv or .json file." in page(response)
    assert not Store.objects.filter(owner=outsider).exists()


def test_missing_store_name_is_an_error(client, outsider):
    client.force_login(outsider)
    response = client.post("/onboarding/connect-store", {"platform": "CUSTOM", "name": ""})
    assert response.status_code == 400 and "This field is required." in page(response)
    assert not Store.objects.filter(owner=outsider).exists()


def test_shopify_credentials_are_required_and_stored_encrypted(client, outsider):
    client.force_login(outsider)
    missing = client.post("/onboarding/connect-store", {"platform": "SHOPIFY", "name": "Shopi"})
    assert missing.status_code == 400
    assert "Enter the admin api access token." in page(missing)
    assert "This is required for this platform." in page(missing)
    response = client.post(
        "/onboarding/connect-store",
        {
            "platform": "SHOPIFY",
            "name": "Shopi",
            "api_key": "shpat_secret_token_1234",
            "shop_domain": "shopi.myshopify.com",
        },
    )
    assert response.status_code == 302
    store = Store.objects.get(owner=outsider)
    assert store.api_key == "shpat_secret_token_1234"
    assert store.platform_config == {"shop_domain": "shopi.myshopify.com"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM stores_store WHERE id = %s", [store.id])
        assert "shpat_secret_token_1234" not in cursor.fetchone()[0]
    # The token is never shown back.
    assert "shpat_secret_token_1234" not in page(client.get("/onboarding/connect-store"))


def test_owner_edits_the_store_and_a_blank_secret_keeps_the_saved_one(owner_client, store):
    store.platform, store.api_key, store.api_secret = "WOOCOMMERCE", "ck_saved", "cs_saved"
    store.save()
    response = owner_client.post(
        "/onboarding/connect-store",
        {
            "platform": "WOOCOMMERCE",
            "name": "Store A renamed",
            "domain": "a.example",
            "site_url": "https://a.example",
        },
    )
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.name, store.domain, store.api_key, store.api_secret) == (
        "Store A renamed",
        "a.example",
        "ck_saved",
        "cs_saved",
    )
    assert store.platform_config == {"site_url": "https://a.example"}
    assert Store.objects.filter(owner=store.owner).count() == 1  # edited, not a second store


# --- step 2: train AI --------------------------------------------------------------------------


def test_add_an_faq_and_watch_it_become_ready(owner_client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/onboarding/train-ai",
            {"kind": "faq", "faq-question": "Do you ship to Canada?", "faq-answer": "Yes, in 5 to 8 days."},
        )
    assert response.status_code == 302 and response.url == "/onboarding/train-ai?tab=faq"
    with unscoped("tests"):
        doc = TrainingDoc.objects.get(store=store)
    assert (doc.type, doc.title, doc.status) == (DocType.FAQ, "Do you ship to Canada?", DocStatus.READY)
    fragment = page(owner_client.get("/onboarding/train-ai/status"))
    assert "Do you ship to Canada?" in fragment and '<span class="badge ok">Ready</span>' in fragment
    assert "hx-trigger" not in fragment  # nothing pending: polling stops


def test_the_status_fragment_polls_while_a_document_is_indexing(owner_client, store):
    with unscoped("tests"):
        TrainingDocFactory(store=store, title="Returns", status=DocStatus.INDEXING, progress=40)
    html = page(owner_client.get("/onboarding/train-ai"))
    assert 'hx-get="/onboarding/train-ai/status" hx-trigger="every 2s"' in html
    fragment = page(owner_client.get("/onboarding/train-ai/status"))
    assert 'value="40"' in fragment and "Indexing 40%" in fragment


def test_training_validation_errors_add_nothing(owner_client, store):
    response = owner_client.post(
        "/onboarding/train-ai", {"kind": "faq", "faq-question": "Why?", "faq-answer": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in page(response) and 'value="Why?"' in page(response)
    response = owner_client.post("/onboarding/train-ai", {"kind": "url", "url-source_url": "ftp://x"})
    assert response.status_code == 400 and "Enter a valid URL." in page(response)
    response = owner_client.post(
        "/onboarding/train-ai",
        {"kind": "file", "file-file": SimpleUploadedFile("tool.exe", b"MZ", "application/octet-stream")},
    )
    assert response.status_code == 400 and "Upload one of:" in page(response)
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(store=store).exists()


def test_add_a_policy_and_upload_a_file(owner_client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            "/onboarding/train-ai",
            {"kind": "policy", "policy-title": "Returns", "policy-content": "Return within 30 days."},
        )
        owner_client.post(
            "/onboarding/train-ai",
            {
                "kind": "file",
                "file-file": SimpleUploadedFile(
                    "sizing.md", b"# Sizing\n\nOur boots run half a size small.\n"
                ),
            },
        )
    with unscoped("tests"):
        docs = {d.title: d for d in TrainingDoc.objects.filter(store=store)}
    assert docs["Returns"].type == DocType.POLICY and docs["Returns"].status == DocStatus.READY
    assert docs["Sizing"].type == DocType.MANUAL and docs["Sizing"].file_size > 0


def test_add_a_web_page(owner_client, store, settings, django_capture_on_commit_callbacks):
    from tests.fakes.http_pages import PageServer

    settings.ALLOW_PRIVATE_URLS = True
    with PageServer() as server:
        server.add(
            "/faq",
            "<html><head><title>Shipping FAQ</title></head><body><p>We ship worldwide.</p></body></html>",
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                "/onboarding/train-ai", {"kind": "url", "url-source_url": server.url("/faq"), "url-title": ""}
            )
    assert response.status_code == 302
    with unscoped("tests"):
        doc = TrainingDoc.objects.get(store=store)
    assert (doc.type, doc.status, doc.title) == (DocType.URL, DocStatus.READY, "Shipping FAQ")


def test_another_stores_documents_are_never_shown(owner_client, store, other_store):
    with unscoped("tests"):
        TrainingDocFactory(store=other_store, title="Store B wholesale secret", status=DocStatus.READY)
        TrainingDocFactory(store=store, title="Store A shipping", status=DocStatus.READY)
    for path in ("/onboarding/train-ai", "/onboarding/train-ai/status"):
        html = page(owner_client.get(path))
        assert "Store A shipping" in html and "Store B wholesale secret" not in html


# --- step 3: customize -------------------------------------------------------------------------


WIDGET = {
    "primary_color": "#0f766e",
    "position": "left",
    "greeting": "Welcome to Store A! Ask me anything.",
    "launcher_text": "Ask Store A",
    "avatar_url": "https://cdn.example/avatar.png",
}


def test_customize_saves_the_widget_the_real_widget_then_shows(owner_client, client, store):
    response = owner_client.post("/onboarding/customize", WIDGET)
    assert response.status_code == 302
    with unscoped("tests"):
        saved = StoreSettings.objects.get(store=store)
        assert Channel.objects.get(store=store).type == ChannelType.WEB_WIDGET
    assert {name: getattr(saved, name) for name in WIDGET} == WIDGET
    html = page(owner_client.get("/onboarding/customize"))
    assert f'src="/widget/frame/{store.id}?v=' in html
    # The preview runs the widget, which reads the same config the shoppers' widget reads.
    config = client.get(f"/v1/widget/{store.id}/config").json()
    assert (config["primary_color"], config["position"], config["greeting"], config["launcher_text"]) == (
        "#0f766e",
        "left",
        "Welcome to Store A! Ask me anything.",
        "Ask Store A",
    )


def test_customize_with_htmx_returns_the_panel(owner_client, store):
    response = owner_client.post("/onboarding/customize", WIDGET, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = page(response)
    assert html.startswith('<div id="ob-customize"') and "Widget saved." in html


def test_customize_validation_errors_change_nothing(owner_client, store):
    response = owner_client.post(
        "/onboarding/customize",
        {**WIDGET, "primary_color": "red", "avatar_url": "http://insecure.example/a.png", "greeting": ""},
    )
    assert response.status_code == 400
    html = page(response)
    assert "Enter a color like #2563eb." in html
    assert "Use an https:// address" in html
    assert "This field is required." in html
    with unscoped("tests"):
        assert StoreSettings.objects.get(store=store).primary_color == "#2563eb"


def test_user_text_is_escaped(owner_client, store):
    owner_client.post("/onboarding/customize", {**WIDGET, "greeting": "<script>alert(1)</script>"})
    html = page(owner_client.get("/onboarding/customize"))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- step 4: channels --------------------------------------------------------------------------


def test_web_chat_is_turned_on_and_connected(owner_client, store):
    response = owner_client.post("/onboarding/channels", {"action": "web-on"})
    assert response.status_code == 302
    with unscoped("tests"):
        web = Channel.objects.get(store=store, type=ChannelType.WEB_WIDGET)
    assert web.is_active and web.status == ChannelStatus.CONNECTED
    with store_scope(store):
        assert onboarding_progress(store)["channels"] is True
    owner_client.post("/onboarding/channels", {"action": "web-off"})
    web.refresh_from_db()
    assert web.is_active is False


def test_adding_a_channel_without_its_settings_shows_clear_errors(owner_client, store):
    response = owner_client.post(
        "/onboarding/channels",
        {"action": "add", "type": "WHATSAPP", "WHATSAPP-phone_number_id": "1555000111"},
    )
    assert response.status_code == 400
    html = page(response)
    assert "This setting is required." in html
    assert 'value="1555000111"' in html
    with unscoped("tests"):
        assert not Channel.objects.filter(store=store).exists()


def test_adding_no_channel_type_is_an_error(owner_client, store):
    response = owner_client.post("/onboarding/channels", {"action": "add", "type": ""})
    assert response.status_code == 400 and "Pick a channel to add." in page(response)


def test_add_an_sms_channel_through_the_channel_service(owner_client, store):
    response = owner_client.post(
        "/onboarding/channels",
        {
            "action": "add",
            "type": "SMS",
            "SMS-phone_number": "+15551234567",
            "SMS-account_sid": "AC123",
            "SMS-auth_token": "twilio-secret-token",
            "WHATSAPP-access_token": "ignored",
        },
    )
    assert response.status_code == 302
    with unscoped("tests"):
        channel = Channel.objects.get(store=store)
    assert channel.type == ChannelType.SMS
    assert channel.config == {
        "phone_number": "+15551234567",
        "account_sid": "AC123",
        "auth_token": "twilio-secret-token",
    }
    assert channel.routing_key == "+15551234567"
    html = page(owner_client.get("/onboarding/channels"))
    assert "SMS" in html and "twilio-secret-token" not in html
    tested = owner_client.post("/onboarding/channels", {"action": "test", "channel": str(channel.id)})
    assert tested.status_code == 302
    channel.refresh_from_db()
    assert channel.last_tested_at is not None


def test_testing_another_stores_channel_is_a_404(owner_client, store, other_store):
    with unscoped("tests"):
        foreign = ChannelFactory(store=other_store)
    response = owner_client.post("/onboarding/channels", {"action": "test", "channel": str(foreign.id)})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.last_tested_at is None
    assert owner_client.post("/onboarding/channels", {"action": "test", "channel": "nope"}).status_code == 404
    assert str(foreign.id) not in page(owner_client.get("/onboarding/channels"))


# --- step 5: go live ---------------------------------------------------------------------------


def test_go_live_shows_the_snippet_and_the_real_widget(owner_client, store):
    owner_client.post("/onboarding/channels", {"action": "web-on"})
    html = page(owner_client.get("/onboarding/go-live"))
    assert (
        f"&lt;script src=&quot;http://testserver/widget.js&quot; data-store=&quot;{store.id}&quot; async&gt;"
        in html
    )
    assert f'<script src="/widget.js" data-store="{store.id}" async></script>' in html
    assert "Copy snippet" in html


def test_go_live_saves_the_allowed_domains(owner_client, store):
    owner_client.post("/onboarding/channels", {"action": "web-on"})
    bad = owner_client.post("/onboarding/go-live", {"domains": "shop.example.com\nnot a domain"})
    assert bad.status_code == 400 and "is not a domain like shop.example.com" in page(bad)
    response = owner_client.post(
        "/onboarding/go-live", {"domains": "https://Shop.Example.com/\n*.example.net"}
    )
    assert response.status_code == 302 and response.url == "/dashboard"
    with unscoped("tests"):
        assert StoreSettings.objects.get(store=store).allowed_domains == ["shop.example.com", "*.example.net"]


def test_go_live_without_any_domain_asks_for_one(owner_client, store):
    assert "store-a.example</textarea>" in page(owner_client.get("/onboarding/go-live"))  # suggested
    response = owner_client.post("/onboarding/go-live", {"domains": ""})
    assert response.status_code == 400 and "Add the domain of your site" in page(response)


# --- progress and resuming ---------------------------------------------------------------------


def test_progress_is_derived_from_the_store_and_onboarding_resumes(
    client, outsider, django_capture_on_commit_callbacks
):
    client.force_login(outsider)
    assert client.get("/onboarding").url == "/onboarding/connect-store"
    client.post("/onboarding/connect-store", {"platform": "CUSTOM", "name": "Resume Shop"})
    store = Store.objects.get(owner=outsider)
    with store_scope(store):
        assert onboarding_progress(store) == {
            "connect-store": True,
            "train-ai": False,
            "customize": False,
            "channels": False,
            "go-live": False,
        }
    assert client.get("/onboarding").url == "/onboarding/train-ai"
    # Skipping training and coming back later: customize first, then resume lands on training.
    client.post("/onboarding/customize", WIDGET)
    assert client.get("/onboarding").url == "/onboarding/train-ai"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/onboarding/train-ai", {"kind": "faq", "faq-question": "Q?", "faq-answer": "A."})
    assert client.get("/onboarding").url == "/onboarding/channels"
    client.post("/onboarding/channels", {"action": "web-on"})
    assert client.get("/onboarding").url == "/onboarding/go-live"
    client.post("/onboarding/go-live", {"domains": "resume.example"})
    with store_scope(store):
        assert all(onboarding_progress(store).values())
    html = page(client.get("/onboarding/go-live"))
    assert "5 of 5 steps done" in html


def test_the_step_indicator_marks_done_steps(owner_client, store):
    with unscoped("tests"):
        TrainingDocFactory(store=store, status=DocStatus.READY)
    html = page(owner_client.get("/onboarding/customize"))
    assert html.count('class="ob-step done') == 2  # connect-store and train-ai
    assert 'aria-current="step"' in html
