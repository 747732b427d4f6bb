"""Live human takeover in real Chromium against a live Daphne server (HTTP and WebSockets):

a shopper chats from the widget on /demo and asks for a human → the conversation appears in the
agent's open conversation list without a reload → the agent opens it, takes over and replies
→ the shopper sees the reply live in the widget → the agent resolves with a learning note.

Screenshots: ``tests/artifacts/screenshots/dashboard-{overview,conversations,conversations-tablet,
thread}.png``. The live server and the Playwright-in-a-thread pattern come from the widget's
browser test.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation, ConvStatus, Customer, Message, MessageRole
from apps.handoff.models import Handoff, HandoffStatus, HandoffTrigger
from convix.tenancy import store_scope, unscoped
from tests.browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, in_thread
from tests.widget.conftest import demo_conversation_cleanup

pytestmark = pytest.mark.slow

AGENT_EMAIL = "agent@alderandpine.example"
AGENT_PASSWORD = "demo-agent-2026"  # the demo store's published demo login (fixtures/demo/store.json)
SEED_EMAIL_DOMAIN = "dash-journey.example"
REPLY = "Hi, Theo here from the gear crew. I can help you pick a tent!"
LEARNING_NOTE = "Shoppers asking for a person about tents usually want sizing help: offer the size chart."

# (name, channel, status, sentiment, subject, shopper's message, handoff trigger)
SEED = [
    ("Maya Chen", "WEB_WIDGET", "ACTIVE", 0.6, "", "Is the Ridge 2P freestanding?", None),
    ("Jonas Weber", "WHATSAPP", "RESOLVED", 0.4, "", "Where is my order AP-10431?", None),
    (
        "Priya Nair",
        "EMAIL",
        "HANDED_OFF",
        -0.7,
        "Damaged stove",
        "My stove arrived dented.",
        "ANGER_DETECTED",
    ),
    ("Leo Martin", "SMS", "RESOLVED", 0.1, "", "Do you ship to Canada?", None),
    ("Trailhead Outfitters", "EMAIL", "ACTIVE", 0.2, "Bulk quote", "Quote for 30 sleeping bags?", None),
    ("Ana Souza", "INSTAGRAM", "ABANDONED", -0.1, "", "Any discount codes?", None),
]


@pytest.fixture
def demo_journey(demo_store, committed):
    """The demo store with a few earlier conversations (so the pages look lived in); everything
    created here or by the journey is deleted afterwards."""
    since = timezone.now()
    now = timezone.now()
    with store_scope(demo_store):
        for index, (name, channel, status, sentiment, subject, text, trigger) in enumerate(SEED):
            customer = Customer.objects.create(
                store=demo_store,
                name=name,
                email=f"{name.split()[0].lower()}@{SEED_EMAIL_DOMAIN}",
                is_b2b=name == "Trailhead Outfitters",
                company="Trailhead Outfitters" if name == "Trailhead Outfitters" else "",
            )
            conversation = Conversation.objects.create(
                store=demo_store,
                customer=customer,
                channel_type=channel,
                status=status,
                sentiment=sentiment,
                subject=subject,
                revenue_attributed=Decimal("189.00") if status == "RESOLVED" else Decimal("0"),
            )
            Message.objects.create(
                store=demo_store, conversation=conversation, role=MessageRole.USER, content=text
            )
            if trigger:
                Handoff.objects.create(
                    store=demo_store, conversation=conversation, trigger=trigger, summary="Shopper is upset."
                )
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now - timedelta(minutes=20 * (index + 1))
            )
    yield demo_store
    demo_conversation_cleanup(demo_store, since)
    with unscoped("tests"):
        Customer.objects.filter(store=demo_store, email__endswith=f"@{SEED_EMAIL_DOMAIN}").delete()


def test_live_takeover_from_the_dashboard_in_chromium(live_server_url, demo_journey):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    since = timezone.now()
    conversation_id = in_thread(journey, live_server_url)
    with unscoped("tests"):
        conversation = Conversation.objects.select_related("assigned_agent").get(pk=conversation_id)
        handoff = Handoff.objects.get(conversation=conversation)
        reply = Message.objects.get(conversation=conversation, role=MessageRole.AGENT)
    assert conversation.created_at >= since
    assert conversation.status == ConvStatus.RESOLVED
    assert conversation.assigned_agent.email == AGENT_EMAIL
    assert handoff.trigger == HandoffTrigger.EXPLICIT_REQUEST
    assert handoff.status == HandoffStatus.RESOLVED
    assert handoff.learning_note == LEARNING_NOTE
    assert reply.content == REPLY and reply.author.email == AGENT_EMAIL


def journey(base: str) -> str:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            # The agent logs in and keeps the conversation list open.
            team = browser.new_context(viewport={"width": 1280, "height": 860})
            agent = team.new_page()
            agent.goto(f"{base}/accounts/login/")
            agent.fill("input[name=login]", AGENT_EMAIL)
            agent.fill("input[name=password]", AGENT_PASSWORD)
            agent.click("button[type=submit]")
            agent.wait_for_url(f"{base}/dashboard")
            agent.goto(f"{base}/dashboard/conversations")
            expect(agent.locator("#convo-live")).to_have_attribute("data-connection", "live")
            expect(agent.locator("[data-live-state]")).to_have_text("Live")
            before = agent.eval_on_selector_all(
                "tr[data-conversation]", "rows => rows.map(r => r.dataset.conversation)"
            )
            agent.evaluate("() => { window.notReloaded = true; }")

            # The shopper asks a question, then for a person.
            shopper = browser.new_context(viewport={"width": 1280, "height": 820})
            page = shopper.new_page()
            page.goto(f"{base}/demo")
            widget = page.frame_locator("#convix-widget-frame")
            widget.locator(".cx-launcher").click()
            expect(widget.locator(".cx-input")).to_be_focused()
            expect(widget.locator(".cx-row.cx-ai .cx-bubble").first).to_contain_text(
                "welcome to Alder & Pine"
            )
            widget.locator(".cx-input").fill("How much does shipping cost?")
            widget.locator(".cx-input").press("Enter")
            # The first reply loads the embedding model in the server: on a busy machine that takes a while.
            expect(widget.locator(".cx-row.cx-ai .cx-bubble").nth(1)).to_contain_text(
                "$7.95", timeout=120_000
            )
            widget.locator(".cx-input").fill("I'd like to talk to a human, please.")
            widget.locator(".cx-input").press("Enter")
            expect(widget.locator(".cx-subtitle")).to_have_text("Connecting you with our team\u2026")

            # The conversation shows up in the agent's list, live, waiting for an agent.
            agent.wait_for_function(
                """(before) => Array.from(document.querySelectorAll('tr[data-conversation]')).some(
                    (row) => !before.includes(row.dataset.conversation)
                        && row.textContent.includes('Waiting for agent'))""",
                arg=before,
            )
            assert agent.evaluate("() => window.notReloaded") is True
            conversation_id = agent.evaluate(
                """(before) => Array.from(document.querySelectorAll('tr[data-conversation]'))
                    .map((row) => row.dataset.conversation).find((id) => !before.includes(id))""",
                before,
            )
            row = agent.locator(f'tr[data-conversation="{conversation_id}"]')
            expect(row.locator(".badge")).to_have_text("Waiting for agent")
            agent.wait_for_timeout(2100)  # let the "new row" highlight fade before the screenshot
            agent.screenshot(path=str(SCREENSHOTS / "dashboard-conversations.png"), full_page=True)
            agent.set_viewport_size({"width": 820, "height": 1180})
            agent.screenshot(path=str(SCREENSHOTS / "dashboard-conversations-tablet.png"), full_page=True)
            agent.set_viewport_size({"width": 1280, "height": 860})

            # The overview's live queue has it too.
            overview = team.new_page()
            overview.goto(f"{base}/dashboard")
            expect(
                overview.locator(f'#convo-queue a[href="/dashboard/conversations/{conversation_id}"]')
            ).to_contain_text("Asked for a human")
            overview.screenshot(path=str(SCREENSHOTS / "dashboard-overview.png"), full_page=True)
            overview.close()

            # The agent opens it: the thread, the AI's confidence and sources, the handoff panel.
            row.locator("a.row-link").click()
            agent.wait_for_url(f"{base}/dashboard/conversations/{conversation_id}")
            expect(agent.locator("#convo-live")).to_have_attribute("data-connection", "live")
            panel = agent.locator("#convo-panel")
            expect(panel).to_contain_text("Asked for a human")
            expect(panel).to_contain_text("Handed off because the shopper asked for a person.")
            answer = agent.locator(".msg.role-ai", has_text="$7.95")
            expect(answer.locator(".confidence dt")).to_have_text(
                ["Factual", "Intent", "Emotional", "Composite"]
            )
            agent.evaluate("() => { window.threadNotReloaded = true; }")

            # Take over (over the socket): the panel and the shopper's widget both follow.
            panel.get_by_role("button", name="Take over").click()
            expect(panel.locator(".card-head .badge")).to_have_text("With Theo Lindgren")
            expect(agent.locator("#convo-flash")).to_have_text(
                "You have taken over this conversation; the AI has stopped answering."
            )
            expect(widget.locator(".cx-subtitle")).to_have_text("Theo from our team")
            expect(agent.locator('#convo-composer [data-part="composer"]')).to_have_attribute(
                "data-state", "mine"
            )

            # Reply: it lands in the thread and, live, in the shopper's widget.
            agent.locator("#reply-text").fill(REPLY)
            agent.locator("#reply-text").press("Enter")
            expect(agent.locator(".msg.role-agent .msg-body").last).to_have_text(REPLY)
            expect(agent.locator("#reply-text")).to_have_value("")
            human = widget.locator(".cx-row.cx-agent")
            expect(human.locator(".cx-bubble").last).to_have_text(REPLY)

            # The shopper answers; the agent sees it without reloading.
            widget.locator(".cx-input").fill("Thanks! Which one fits two people and a dog?")
            widget.locator(".cx-input").press("Enter")
            expect(agent.locator(".msg.role-user .msg-body").last).to_have_text(
                "Thanks! Which one fits two people and a dog?"
            )
            answer.locator("details").evaluate("(node) => { node.open = true; }")
            agent.set_viewport_size({"width": 1280, "height": 1200})
            agent.evaluate(
                "() => { const l = document.getElementById('convo-messages'); l.scrollTop = l.scrollHeight; }"
            )
            agent.screenshot(path=str(SCREENSHOTS / "dashboard-thread.png"), full_page=True)

            # Resolve with a learning note.
            panel.locator("textarea[name=learning_note]").fill(LEARNING_NOTE)
            panel.get_by_role("button", name="Resolve").click()
            expect(agent.locator("#convo-flash")).to_have_text("Conversation resolved.")
            expect(panel.locator(".card-head .badge")).to_have_text("Resolved")
            expect(panel).to_contain_text(LEARNING_NOTE)
            expect(agent.locator("#convo-composer")).to_contain_text("This conversation is resolved.")
            assert agent.evaluate("() => window.threadNotReloaded") is True
            return conversation_id
        finally:
            browser.close()


@pytest.mark.django_db
def test_the_live_pages_load_the_live_script(agent_client, store):
    """(Also makes pytest-django create the test database when this module runs alone.)"""
    for path in ("/dashboard", "/dashboard/conversations"):
        assert b"/static/js/dashboard-live.js" in agent_client.get(path).content
