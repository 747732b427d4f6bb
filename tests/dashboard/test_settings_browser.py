"""The widget customizer in real Chromium against a live Daphne server: a color change shows in
the live preview (the real widget frame) before saving; after saving, the real widget uses it.
Also saves screenshots of the channels, widget and settings pages.
"""

from __future__ import annotations

import pytest

from apps.accounts.models import UserRole
from apps.channels.models import ChannelStatus, ChannelType
from apps.stores.models import PlanTier, StoreSettings
from convix.tenancy import unscoped
from tests.browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, in_thread
from tests.factories import ChannelFactory, MembershipFactory, StoreFactory, UserFactory

PASSWORD = "customizer-Passphrase-2026"

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(committed):
    """A committed store with an owner who can log in, its web widget and a few channels."""
    owner = UserFactory(email="merchant@lumen-goods.example", name="Mara Merchant", password=PASSWORD)
    store = StoreFactory(
        name="Lumen Goods", slug="lumen-goods-browser", owner=owner, plan_tier=PlanTier.GROWTH
    )
    with unscoped("tests"):
        ChannelFactory(store=store, type=ChannelType.WEB_WIDGET, routing_key="", config={})
        whatsapp = ChannelFactory(
            store=store,
            type=ChannelType.WHATSAPP,
            name="Support WhatsApp",
            routing_key="3055501",
            config={
                "phone_number_id": "3055501",
                "access_token": "secret",
                "display_phone_number": "+1 555 0101",
            },
            public_config={"phone_number_id": "3055501", "display_phone_number": "+1 555 0101"},
            status=ChannelStatus.CONNECTED,
        )
        ChannelFactory(
            store=store,
            type=ChannelType.SMS,
            routing_key="+15550102",
            config={"phone_number": "+15550102", "account_sid": "AC9", "auth_token": "t"},
            public_config={"phone_number": "+15550102", "account_sid": "AC9"},
            status=ChannelStatus.ERROR,
            last_error="Twilio answered 401: authenticate failed.",
        )
        for email, name, role in (
            ("sam@lumen-goods.example", "Sam Support", UserRole.AGENT),
            ("ada@lumen-goods.example", "Ada Admin", UserRole.ADMIN),
        ):
            MembershipFactory(store=store, user=UserFactory(email=email, name=name), role=role)
        StoreSettings.objects.filter(store=store).update(
            zendesk_subdomain="lumen", zendesk_api_token="zd-token"
        )
    return store, whatsapp


def test_customizer_preview_and_settings_pages_in_chromium(live_server_url, shop):
    store, whatsapp = shop
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    in_thread(journey, live_server_url, str(store.id), str(whatsapp.id))
    with unscoped("tests"):
        assert StoreSettings.objects.get(store=store).primary_color == "#db2777"


def screenshot(page, name: str) -> None:
    """The whole page, taken with a viewport as tall as the page (a full-page capture would cut
    the shell's 100vh sidebar short)."""
    size = page.viewport_size
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def journey(base: str, store_id: str, whatsapp_id: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("input[name=login]", "merchant@lumen-goods.example")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")

            # The customizer's preview is the real widget frame, opened.
            page.goto(f"{base}/dashboard/widget")
            preview = page.frame_locator("#widget-preview")
            header = preview.locator(".cx-header")
            expect(header).to_be_visible()
            expect(header).to_have_css("background-color", "rgb(37, 99, 235)")

            # An unsaved change shows in the preview at once.
            page.fill("input[name=primary_color]", "#db2777")
            page.fill("input[name=launcher_text]", "Questions? Ask Lumen")
            page.fill("textarea[name=greeting]", "Hi! Looking for the perfect lamp?")
            expect(header).to_have_css("background-color", "rgb(219, 39, 119)")
            expect(preview.locator(".cx-row.cx-ai .cx-bubble").first).to_have_text(
                "Hi! Looking for the perfect lamp?"
            )
            expect(page.locator("#draft-state")).to_contain_text("Unsaved changes")
            page.check("#preview-after-hours")
            expect(preview.locator(".cx-notice")).to_be_visible()
            screenshot(page, "dashboard-widget.png")
            # Not saved yet: a fresh copy of the real widget still has the old color.
            widget = context.new_page()
            widget.goto(f"{base}/widget/frame/{store_id}")
            expect(widget.locator(".cx-launcher")).to_have_css("background-color", "rgb(37, 99, 235)")

            # Save: the real widget uses the new look.
            page.click("text=Save widget")
            expect(page.locator(".flash")).to_contain_text("Widget saved.")
            widget.reload()
            launcher = widget.locator(".cx-launcher")
            expect(launcher).to_have_css("background-color", "rgb(219, 39, 119)")
            expect(launcher).to_have_text("Questions? Ask Lumen")
            widget.close()

            # The customizer at tablet width.
            tablet = browser.new_context(
                viewport={"width": 820, "height": 1180}, storage_state=context.storage_state()
            )
            tablet_page = tablet.new_page()
            tablet_page.goto(f"{base}/dashboard/widget")
            expect(tablet_page.frame_locator("#widget-preview").locator(".cx-header")).to_be_visible()
            screenshot(tablet_page, "dashboard-widget-tablet.png")
            tablet.close()

            # The other pages, for people to look at.
            for path, name, ready in (
                ("/dashboard/channels", "channels", "text=Support WhatsApp"),
                (f"/dashboard/channels/{whatsapp_id}", "channel-setup", "text=Test connection"),
                ("/dashboard/settings", "settings-general", "text=Identity verification"),
                ("/dashboard/settings/escalation", "settings-escalation", "text=Business hours"),
                ("/dashboard/settings/team", "settings-team", "text=Invite a teammate"),
                ("/dashboard/settings/billing", "settings-billing", "text=Usage"),
            ):
                page.goto(f"{base}{path}")
                expect(page.locator(ready).first).to_be_visible()
                screenshot(page, f"dashboard-{name}.png")

            # Test connection through htmx updates the status in place.
            page.goto(f"{base}/dashboard/channels/{whatsapp_id}")
            page.click("text=Test connection")
            expect(page.locator("#channel-status")).to_contain_text("tested")
        finally:
            browser.close()


@pytest.mark.django_db
def test_customizer_page_loads_its_script_and_the_frame(owner_client, store):
    """Also makes pytest-django set up the test database when this module runs alone (it sets
    up only the databases that the collected tests mark)."""
    from apps.channels import services

    with unscoped("tests"):
        services.channel_create(store=store, type=ChannelType.WEB_WIDGET)
    html = owner_client.get("/dashboard/widget").content.decode()
    assert "/static/js/customizer.js" in html
    assert f'id="widget-preview" title="Widget preview" src="/widget/frame/{store.id}#origin=' in html
