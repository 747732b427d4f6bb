"""A new merchant's journey in real Chromium (Debian's, through Playwright) against a live Daphne
server: the marketing pages → sign up → connect a custom store with a product CSV → add an FAQ and
see it indexed → customize the widget (the preview is the real widget) → turn on web chat → go
live, where the real widget on the page answers the FAQ's question from what was just taught.

Screenshots land in ``tests/artifacts/screenshots/`` (public-*.png, dashboard-onboarding-*.png).
Ingestion and the agent's reply run in the server process (Celery eager without a broker).
"""

from __future__ import annotations

import pytest

from convix.tenancy import unscoped
from tests.browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, in_thread

EMAIL = "juniper.owner@merchant.example"
PASSWORD = "a-Long-enough-passphrase-42"
QUESTION = "How long does shipping to Canada take?"
ANSWER = "Orders to Canada arrive in 5 to 8 business days, and shipping there is a flat $12."
PRODUCTS_CSV = (
    b"sku,title,price,category,description,stock\n"
    b"TENT-2P,Ridgeline 2P tent,249.00,Tents,Two-person backpacking tent,12\n"
    b"BAG-20,Summit 20F sleeping bag,189.50,Sleeping bags,Down bag rated to 20F,4\n"
)

pytestmark = pytest.mark.slow


def test_sign_up_onboard_and_chat_with_the_new_store(live_server_url, committed):
    from apps.stores.models import Product, Store
    from apps.training.models import DocStatus, DocType, TrainingDoc

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    in_thread(journey, live_server_url)
    store = Store.objects.get(owner__email=EMAIL)
    with unscoped("tests"):
        assert sorted(Product.objects.filter(store=store).values_list("sku", flat=True)) == [
            "BAG-20",
            "TENT-2P",
        ]
        faq = TrainingDoc.objects.get(store=store, type=DocType.FAQ)
        assert (faq.title, faq.status) == (QUESTION, DocStatus.READY)
        assert store.settings.greeting == "Hi from Juniper! Ask about gear or shipping."
        assert store.settings.allowed_domains == ["www.juniper.example"]


def shot(page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def journey(base: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 820})
            page = context.new_page()

            # The public pages.
            page.goto(f"{base}/")
            expect(page.locator("h1")).to_contain_text("knows when to call a human")
            shot(page, "public-landing")
            page.set_viewport_size({"width": 820, "height": 1100})
            shot(page, "public-landing-tablet")
            page.set_viewport_size({"width": 1280, "height": 820})
            page.goto(f"{base}/pricing")
            expect(page.locator(".mk-plan")).to_have_count(4)
            shot(page, "public-pricing")
            page.goto(f"{base}/features")
            expect(page.locator(".mk-compare")).to_be_visible()
            shot(page, "public-features")
            page.goto(f"{base}/login")
            expect(page.locator("h1")).to_have_text("Welcome back")
            shot(page, "public-login", full_page=False)
            page.goto(f"{base}/forgot-password")
            expect(page.locator("h1")).to_have_text("Forgot your password?")
            shot(page, "public-forgot-password", full_page=False)

            # Sign up: a mismatch is refused, then the account is made and onboarding starts.
            page.goto(f"{base}/signup")
            expect(page.locator("h1")).to_have_text("Create your account")
            shot(page, "public-signup", full_page=False)
            page.fill("input[name=email]", EMAIL)
            page.fill("input[name=password1]", PASSWORD)
            page.fill("input[name=password2]", PASSWORD + "x")
            page.click("button[type=submit]")
            expect(page.locator(".errorlist").first).to_be_visible()
            page.fill("input[name=password1]", PASSWORD)
            page.fill("input[name=password2]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/onboarding/connect-store")

            # 1. Connect store: the custom platform with a product CSV.
            expect(page.locator("input[name=platform][value=CUSTOM]")).to_be_checked()
            page.check("input[name=platform][value=SHOPIFY]")
            expect(page.locator("[data-platform-panel=SHOPIFY]")).to_be_visible()
            page.check("input[name=platform][value=CUSTOM]")
            page.fill("input[name=name]", "Juniper Outfitters")
            page.fill("input[name=domain]", "juniper.example")
            page.set_input_files(
                "input[name=catalog_file]",
                files=[{"name": "products.csv", "mimeType": "text/csv", "buffer": PRODUCTS_CSV}],
            )
            shot(page, "dashboard-onboarding-connect-store")
            page.click("text=Create store and continue")
            page.wait_for_url(f"{base}/onboarding/train-ai")
            expect(page.locator(".flash")).to_contain_text("Imported 2 new and 0 updated products.")

            # 2. Train AI: an FAQ, indexed while we watch.
            page.fill("input[name=faq-question]", QUESTION)
            page.fill("textarea[name=faq-answer]", ANSWER)
            page.click("text=Add FAQ")
            page.wait_for_url(f"{base}/onboarding/train-ai?tab=faq")
            faq_row = page.locator(".ob-doc", has_text=QUESTION)
            expect(faq_row.locator(".badge")).to_have_text("Ready")
            expect(page.locator(".ob-step.done")).to_have_count(2)
            shot(page, "dashboard-onboarding-train-ai")

            # 3. Customize: the preview is the real widget, reloaded with what was saved.
            page.click("text=Continue")
            page.wait_for_url(f"{base}/onboarding/customize")
            page.fill("input[name=greeting]", "Hi from Juniper! Ask about gear or shipping.")
            page.fill("input[name=launcher_text]", "Ask Juniper")
            page.fill("input[name=primary_color]", "#0f766e")
            # The preview opens without taking the focus: what was typed stays in the form.
            expect(page.locator("input[name=launcher_text]")).to_have_value("Ask Juniper")
            page.click("text=Save and preview")
            expect(page.locator("#ob-customize .ob-alert.ok")).to_contain_text("Widget saved.")
            expect(page.locator(".ob-step.done")).to_have_count(3)  # the step indicator follows
            preview = page.frame_locator("[data-preview-frame]")
            expect(preview.locator(".cx-row.cx-ai .cx-bubble").first).to_have_text(
                "Hi from Juniper! Ask about gear or shipping."
            )
            expect(preview.locator(".cx-title")).to_have_text("Juniper Outfitters")
            header_color = preview.locator(".cx-header").evaluate(
                "(el) => getComputedStyle(el).backgroundColor"
            )
            assert header_color == "rgb(15, 118, 110)", header_color
            shot(page, "dashboard-onboarding-customize")
            page.set_viewport_size({"width": 820, "height": 1100})
            shot(page, "dashboard-onboarding-customize-tablet")
            page.set_viewport_size({"width": 1280, "height": 820})

            # 4. Channels: web chat on; a channel with missing settings is refused clearly.
            page.goto(f"{base}/onboarding/channels")
            page.click("button[value=web-on]")
            expect(page.locator(".ob-channel").first.locator(".badge")).to_have_text("Active")
            page.check("input[name=type][value=WHATSAPP]")
            page.fill("input[name=WHATSAPP-phone_number_id]", "1555000111")
            page.click("text=Add channel")
            expect(page.locator("#add-channel .errorlist").first).to_have_text("This setting is required.")
            shot(page, "dashboard-onboarding-channels")

            # 5. Go live: the snippet, and the real widget on the page answers the FAQ.
            page.goto(f"{base}/onboarding/go-live")
            expect(page.locator("#embed-snippet")).to_contain_text('/widget.js" data-store="')
            widget = page.frame_locator("#convix-widget-frame")
            expect(widget.locator(".cx-launcher")).to_contain_text("Ask Juniper")
            shot(page, "dashboard-onboarding-go-live")
            page.click("[data-open-widget]")
            expect(widget.locator(".cx-panel")).to_be_visible()
            widget.locator(".cx-input").fill(QUESTION)
            widget.locator(".cx-input").press("Enter")
            expect(widget.locator(".cx-row.cx-user .cx-bubble").last).to_have_text(QUESTION)
            # The reply is generated in the server (retrieval, then the agent): on a busy machine that
            # can take a while, so this one wait is longer. It is a ceiling, not a timing assertion.
            expect(widget.locator(".cx-row.cx-ai .cx-bubble").nth(1)).to_contain_text(
                "5 to 8 business days", timeout=180_000
            )
            shot(page, "dashboard-onboarding-test-chat", full_page=False)
            page.fill("textarea[name=domains]", "www.juniper.example")
            page.click("text=Finish and go live")
            page.wait_for_url(f"{base}/dashboard")
        finally:
            browser.close()


@pytest.mark.django_db
def test_go_live_page_embeds_the_widget_with_one_loader_script(client, owner, store):
    """(Also makes pytest-django create the test database when this module runs alone.)"""
    from tests.factories import ChannelFactory

    with unscoped("tests"):
        ChannelFactory(store=store, type="WEB_WIDGET", routing_key="", config={})
    client.force_login(owner)
    html = client.get("/onboarding/go-live").content.decode()
    assert html.count('src="/widget.js"') == 1
