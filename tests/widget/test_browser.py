"""The shopper's journey in real Chromium (Debian's, through Playwright) against a live Daphne
server: demo storefront → widget → grounded FAQ answer → product cards → handoff → a human
agent's reply sent through the dashboard socket appears live → reload resumes the conversation.

Screenshots land in ``tests/artifacts/screenshots/`` (closed, open, conversation, handoff, mobile).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, in_thread
from tests.widget.conftest import demo_conversation_cleanup

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_live(demo_store, committed):
    since = timezone.now()
    yield demo_store
    demo_conversation_cleanup(demo_store, since)


def test_shopper_journey_in_chromium(live_server_url, demo_live):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    in_thread(journey, live_server_url, str(demo_live.id))


def journey(base: str, store_id: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            shopper = browser.new_context(viewport={"width": 1280, "height": 820})
            page = shopper.new_page()
            page.goto(f"{base}/demo")
            widget = page.frame_locator("#convix-widget-frame")
            launcher = widget.locator(".cx-launcher")
            expect(launcher).to_have_text("Ask our gear crew")
            page.screenshot(path=str(SCREENSHOTS / "widget-closed.png"))

            # The team's agent logs in and listens on the dashboard socket.
            team = browser.new_context()
            agent_page = team.new_page()
            agent_page.goto(f"{base}/accounts/login/")
            agent_page.fill("input[name=login]", "agent@alderandpine.example")
            agent_page.fill("input[name=password]", "demo-agent-2026")
            agent_page.click("button[type=submit]")
            agent_page.wait_for_url(f"{base}/dashboard")
            agent_page.evaluate(
                """(storeId) => new Promise((resolve, reject) => {
                    window.events = [];
                    const socket = new WebSocket(`ws://${location.host}/ws/dashboard/${storeId}/`);
                    window.agentSocket = socket;
                    socket.onmessage = (e) => window.events.push(JSON.parse(e.data));
                    socket.onopen = () => resolve(true);
                    socket.onclose = (e) => reject(new Error('dashboard socket closed ' + e.code));
                })""",
                store_id,
            )

            launcher.click()
            panel = widget.locator(".cx-panel")
            expect(panel).to_be_visible()
            expect(widget.locator(".cx-input")).to_be_focused()
            expect(widget.locator(".cx-row.cx-ai .cx-bubble").first).to_contain_text(
                "welcome to Alder & Pine"
            )
            page.screenshot(path=str(SCREENSHOTS / "widget-open.png"))

            # A question from the store's FAQs gets the grounded answer.
            widget.locator(".cx-input").fill("How much does shipping cost?")
            widget.locator(".cx-input").press("Enter")
            expect(widget.locator(".cx-row.cx-user .cx-bubble").last).to_have_text(
                "How much does shipping cost?"
            )
            answer = widget.locator(".cx-row.cx-ai .cx-bubble").nth(1)
            expect(answer).to_contain_text("$7.95")

            # Asking for a product shows product cards.
            widget.locator(".cx-input").fill("Can you recommend a 2 person backpacking tent?")
            widget.locator(".cx-send").click()
            cards = widget.locator(".cx-product")
            expect(cards.first).to_be_visible()
            expect(cards.first.locator(".cx-card-title")).to_contain_text("Tent")
            expect(cards.first.locator(".cx-card-price")).to_contain_text("$")
            page.screenshot(path=str(SCREENSHOTS / "widget-conversation.png"))

            # Asking for a person hands off; the widget says so.
            widget.locator(".cx-input").fill("I'd like to talk to a human, please.")
            widget.locator(".cx-input").press("Enter")
            expect(widget.locator(".cx-subtitle")).to_have_text("Connecting you with our team\u2026")
            expect(widget.locator(".cx-note").last).to_have_text("Connecting you with our team\u2026")

            # The agent sees handoff:triggered, takes the conversation and replies over the socket.
            agent_page.wait_for_function("() => window.events.some((e) => e.type === 'handoff:triggered')")
            conversation_id = agent_page.evaluate(
                "() => window.events.find((e) => e.type === 'handoff:triggered').handoff.conversation_id"
            )
            agent_page.evaluate(
                """(id) => {
                    window.agentSocket.send(JSON.stringify({type: 'agent:join-conversation', conversation_id: id}));
                    window.agentSocket.send(JSON.stringify({
                        type: 'agent:message', conversation_id: id,
                        text: 'Hi, Theo here from the gear crew. Happy to help with that tent!'}));
                }""",
                conversation_id,
            )
            agent_page.wait_for_function("() => window.events.filter((e) => e.type === 'ack').length === 2")
            human = widget.locator(".cx-row.cx-agent")
            expect(human.locator(".cx-bubble")).to_have_text(
                "Hi, Theo here from the gear crew. Happy to help with that tent!"
            )
            expect(human.locator(".cx-author")).to_have_text("Theo")
            expect(widget.locator(".cx-subtitle")).to_have_text("Theo from our team")

            # HTML in a message is shown as text, never run.
            hostile = '<img src=x onerror="document.body.dataset.pwned=1"><b>bold?</b>'
            widget.locator(".cx-input").fill(hostile)
            widget.locator(".cx-input").press("Enter")
            expect(widget.locator(".cx-row.cx-user .cx-bubble").last).to_have_text(hostile)
            expect(widget.locator(".cx-row.cx-user:not(.cx-pending) .cx-bubble").last).to_have_text(hostile)
            assert widget.locator(".cx-bubble b, .cx-bubble img").count() == 0
            assert page.frames[1].evaluate("() => document.body.dataset.pwned") is None
            page.screenshot(path=str(SCREENSHOTS / "widget-handoff.png"))

            # The dashboard got the shopper's messages live, with the team's view of them.
            agent_page.wait_for_function(
                "(t) => window.events.some((e) => e.type === 'message:new' && e.message.text === t)",
                arg=hostile,
            )

            # Closing and reopening by keyboard; an agent message while closed shows an unread badge.
            widget.locator(".cx-panel").press("Escape")
            expect(launcher).to_be_focused()
            agent_page.evaluate(
                """(id) => window.agentSocket.send(JSON.stringify({
                    type: 'agent:message', conversation_id: id, text: 'Are you still there?'}))""",
                conversation_id,
            )
            expect(widget.locator(".cx-badge")).to_have_text("1")
            expect(launcher).to_have_attribute("aria-label", "Ask our gear crew, 1 unread message")

            # After a reload, the same conversation comes back.
            page.reload()
            widget = page.frame_locator("#convix-widget-frame")
            widget.locator(".cx-launcher").click()
            expect(widget.locator(".cx-row.cx-ai .cx-bubble").nth(1)).to_contain_text("$7.95")
            expect(widget.locator(".cx-row.cx-agent .cx-bubble").last).to_have_text("Are you still there?")
            expect(widget.locator(".cx-subtitle")).to_have_text("Theo from our team")

            # Mobile width: the open widget fills the screen.
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            mobile = phone.new_page()
            mobile.goto(f"{base}/demo")
            mobile_widget = mobile.frame_locator("#convix-widget-frame")
            mobile_widget.locator(".cx-launcher").click()
            expect(mobile_widget.locator(".cx-panel")).to_be_visible()
            mobile.wait_for_function(
                "() => document.getElementById('convix-widget-frame').getBoundingClientRect().width === 390"
            )
            mobile.screenshot(path=str(SCREENSHOTS / "widget-mobile.png"))
        finally:
            browser.close()


@pytest.mark.django_db
def test_demo_page_embeds_the_widget_with_one_script_tag(client, demo_store):
    """(Also makes pytest-django create the test database when this module runs alone.)"""
    page = client.get("/demo").content.decode()
    assert page.count("<script") == 1
    assert f'<script src="/widget.js" data-store="{demo_store.id}" async></script>' in page
