"""The training manager and the analytics page in real Chromium (Debian's, through Playwright)
against a live Daphne server.

- The owner logs in, adds an FAQ in the training manager and, without reloading, sees its status
  go from Queued to Ready: the live server queues ``ingest.index_doc`` on a broker nobody reads,
  and the test then plays the worker, running the real task; the page learns of it by polling.
- The analytics page draws its charts (each canvas has a Chart.js chart with drawn pixels) from a
  store with seeded conversations.

Screenshots: tests/artifacts/screenshots/dashboard-analytics.png, dashboard-training.png and
dashboard-training-tablet.png (820 px wide).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import connections
from django.utils import timezone

from convix.celery import app as celery_app
from convix.tenancy import store_scope, unscoped
from tests.browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS, TIMEOUT_MS, in_thread

PASSWORD = "correct-horse-battery"
OWNER_EMAIL = "owner@trailhead-training.example"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_server_url(django_db_setup, django_db_blocker):
    """Daphne serving Convix in a child process whose Celery publishes tasks instead of running
    them in the request (to an in-memory broker of its own that no worker reads), so a new
    document stays Queued until the test runs its indexing."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess

    conf = celery_app.conf
    saved_conf = {key: conf[key] for key in ("broker_url", "task_always_eager")}
    saved_env = os.environ.get("CELERY_TASK_ALWAYS_EAGER")
    with django_db_blocker.unblock():
        connections.close_all()  # the child must not share the parent's database sockets
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        conf.update(broker_url="memory://", task_always_eager=False)
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"  # for a child that imports settings anew
        try:
            server = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=None))
            server.start()
            started = server.ready.wait(timeout=60)
        finally:
            conf.update(saved_conf)
            celery_app._pool = None
            celery_app.amqp._producer_pool = None
            if saved_env is None:
                os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
            else:
                os.environ["CELERY_TASK_ALWAYS_EAGER"] = saved_env
        if not started:
            server.terminate()
            raise RuntimeError("The live server did not start.")
        yield f"http://127.0.0.1:{server.port.value}"
        server.terminate()
        server.join(timeout=10)


@pytest.fixture
def shop(committed):
    """A store with a few indexed documents (one that failed) and a month of conversations."""
    from apps.conversations.models import Conversation, ConvStatus, Message, MessageRole
    from apps.handoff.models import Handoff, HandoffTrigger
    from apps.training import services
    from tests.factories import (
        ConversationFactory,
        HandoffFactory,
        MessageFactory,
        StoreFactory,
        UserFactory,
    )

    owner = UserFactory(email=OWNER_EMAIL, name="Tess Trailhead", password=PASSWORD)
    store = StoreFactory(name="Trailhead Outfitters", slug="trailhead-training", owner=owner)
    with store_scope(store):
        for question, answer in [
            ("How much does shipping cost?", "Standard shipping is $7.95, free on orders over $75."),
            ("Can I return a used tent?", "Yes, within 30 days, if it is clean and dry."),
        ]:
            doc = services.doc_create(store=store, type="FAQ", title=question, content=answer)
            services.doc_index(store=store, doc_id=doc.id)
        policy = services.doc_create(
            store=store,
            type="POLICY",
            title="Warranty",
            content="# Warranty\n\nEvery tent and pack has a two-year warranty on seams, zips and poles.",
        )
        services.doc_index(store=store, doc_id=policy.id)
        page = services.doc_create(
            store=store, type="URL", title="", source_url="https://help.trailhead.invalid/care"
        )
        services.doc_index(store=store, doc_id=page.id)  # the host does not resolve: FAILED, with why

    now = timezone.now()
    channels = ["WEB_WIDGET", "WEB_WIDGET", "WHATSAPP", "WEB_WIDGET", "INSTAGRAM", "SMS"]
    questions = [
        "Do you ship to Canada?",
        "How long does shipping to Canada take?",
        "Is the Ridge 2 tent waterproof?",
        "Where is my order?",
        "Which sleeping bag is warmest?",
        "Can I return a used tent?",
        "What size backpack for a weekend trip?",
    ]
    triggers = [HandoffTrigger.EXPLICIT_REQUEST, HandoffTrigger.LOW_CONFIDENCE, HandoffTrigger.ANGER_DETECTED]
    with unscoped("tests"):
        for index in range(60):
            created = now - timedelta(days=index % 28, hours=index % 7)
            conversation = ConversationFactory(
                store=store,
                channel_type=channels[index % len(channels)],
                status=ConvStatus.RESOLVED if index % 3 else ConvStatus.ACTIVE,
                revenue_attributed=Decimal(str(25 + (index * 17) % 140)) if index % 4 == 0 else Decimal("0"),
                last_intent="SHIPPING" if "ship" in questions[index % len(questions)].lower() else "PRODUCT",
            )
            Conversation.objects.filter(pk=conversation.pk).update(created_at=created)
            asked = MessageFactory(conversation=conversation, content=questions[index % len(questions)])
            answered = MessageFactory(
                conversation=conversation, role=MessageRole.AI, content="…", confidence=0.85
            )
            Message.objects.filter(pk__in=[asked.pk, answered.pk]).update(created_at=created)
            if index % 5 == 0:
                handoff = HandoffFactory(conversation=conversation, trigger=triggers[index % len(triggers)])
                Handoff.objects.filter(pk=handoff.pk).update(created_at=created)
    return store


def run_queued_indexing(store_id: str) -> list[str]:
    """What an ``ingest`` worker would do: run ``ingest.index_doc`` for each queued document."""
    from apps.stores.models import Store
    from apps.training import tasks
    from apps.training.models import DocStatus, TrainingDoc

    with unscoped("tests"):
        store = Store.objects.get(pk=store_id)
        queued = [
            str(pk)
            for pk in TrainingDoc.objects.filter(store=store, status=DocStatus.QUEUED).values_list(
                "pk", flat=True
            )
        ]
    return [tasks.index_doc.apply(args=[str(store.id), doc_id]).get() for doc_id in queued]


def test_training_and_analytics_in_chromium(live_server_url, shop):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    in_thread(journey, live_server_url, str(shop.id))


def journey(base: str, store_id: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            # Reduced motion: the charts are drawn at once, without their entry animation.
            context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/login")
            page.fill("input[name=login]", OWNER_EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")

            # --- training: add an FAQ, watch it become ready without reloading --------------------
            page.goto(f"{base}/dashboard/training")
            expect(page.locator("h1")).to_have_text("Training")
            rows = page.locator("table.docs tbody tr")
            expect(rows).to_have_count(4)
            failed = page.locator("tr[data-status=FAILED]")
            expect(failed).to_contain_text("could not be found")
            expect(page.locator("#training-status")).to_have_attribute("data-polling", "false")

            # The tabs: the FAQ form is shown, the others hidden until chosen.
            expect(page.locator("#add-faq")).to_be_visible()
            expect(page.locator("#add-policy")).to_be_hidden()
            page.get_by_role("tab", name="Policy").click()
            expect(page.locator("#add-policy")).to_be_visible()
            page.get_by_role("tab", name="FAQ").click()

            # An empty answer is refused with a clear message, and the question typed is kept.
            page.fill("#faq-title", "Do you ship to Canada?")
            page.click("#add-faq button[type=submit]")
            expect(page.locator("#add-faq .errorlist")).to_contain_text("Enter the answer.")
            expect(page.locator("#faq-title")).to_have_value("Do you ship to Canada?")

            page.fill("#faq-content", "Yes: to every province in 5-8 business days, duties included.")
            page.click("#add-faq button[type=submit]")
            new_row = page.locator("tr", has_text="Do you ship to Canada?")
            expect(new_row.locator(".status")).to_have_text("Queued")
            expect(page.locator("#training-status")).to_have_attribute("data-polling", "true")
            page.evaluate("window.__notReloaded = true")

            # A worker picks the task up; the page's polling shows the document ready.
            # (In a thread of its own: Playwright's event loop runs in this one.)
            assert in_thread(run_queued_indexing, store_id) == ["READY"]
            expect(new_row.locator(".status")).to_have_text("Ready")
            expect(page.locator("#training-status")).to_have_attribute("data-polling", "false")
            assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
            expect(rows).to_have_count(5)
            page.screenshot(path=str(SCREENSHOTS / "dashboard-training.png"), full_page=True)

            tablet = browser.new_context(viewport={"width": 820, "height": 1100})
            tablet_page = tablet.new_page()
            tablet_page.goto(f"{base}/login")
            tablet_page.fill("input[name=login]", OWNER_EMAIL)
            tablet_page.fill("input[name=password]", PASSWORD)
            tablet_page.click("button[type=submit]")
            tablet_page.wait_for_url(f"{base}/dashboard")
            tablet_page.goto(f"{base}/dashboard/training")
            expect(tablet_page.locator("table.docs tbody tr")).to_have_count(5)
            width = tablet_page.evaluate("document.documentElement.scrollWidth")
            assert width <= 820, f"the page scrolls sideways at tablet width ({width}px)"
            tablet_page.screenshot(path=str(SCREENSHOTS / "dashboard-training-tablet.png"), full_page=True)
            tablet.close()

            # --- analytics: the charts are drawn ------------------------------------------------
            page.goto(f"{base}/dashboard/analytics")
            expect(page.locator("h1")).to_have_text("Analytics")
            canvases = [
                "chart-volume",
                "chart-channels",
                "chart-revenue",
                "chart-handoff-trend",
                "chart-triggers",
            ]
            for canvas_id in canvases:
                expect(page.locator(f"#{canvas_id}")).to_be_visible()
            page.wait_for_function(
                """(ids) => ids.every((id) => {
                    const canvas = document.getElementById(id);
                    const chart = window.Chart && window.Chart.getChart(canvas);
                    if (!chart || !canvas.width || !canvas.height) return false;
                    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
                    return false;
                })""",
                arg=canvases,
                timeout=TIMEOUT_MS,
            )
            totals = page.evaluate(
                "window.Chart.getChart(document.getElementById('chart-volume')).data.datasets[0].data"
                ".reduce((a, b) => a + b, 0)"
            )
            assert totals == 60
            expect(page.locator("table.topics tbody tr").first).to_contain_text("canada")
            page.screenshot(path=str(SCREENSHOTS / "dashboard-analytics.png"), full_page=True)

            page.get_by_role("button", name="7 days").click()
            page.wait_for_url(f"{base}/dashboard/analytics?days=7")
            expect(page.locator("#chart-volume")).to_be_visible()
            assert errors == [], errors
        finally:
            browser.close()


@pytest.mark.django_db
def test_the_pages_scripts_are_served(owner_client):
    """Chart.js (from npm), the page scripts and styles are found by the static files finders.
    (Marked django_db, this test also makes pytest-django set up the test database when this
    module runs alone.)"""
    from django.contrib.staticfiles import finders

    for path in (
        "vendor/chartjs/chart.umd.min.js",
        "vendor/htmx/htmx.min.js",
        "js/analytics.js",
        "js/training.js",
        "css/dash-analytics.css",
        "css/dash-training.css",
    ):
        assert finders.find(path), path
    assert "js/training.js" in owner_client.get("/dashboard/training").content.decode()
