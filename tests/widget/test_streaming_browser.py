"""A streamed LLM reply in real Chromium: the shopper watches the checked sentences arrive in a
draft bubble, and the saved reply replaces the draft.

The LLM is the fake OpenAI-compatible server on 127.0.0.1 (real HTTP, real Server-Sent Events,
one word per chunk with a delay), configured before the Daphne live server process starts.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.browser import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, in_thread, live_daphne
from tests.fakes.openai_server import FakeOpenAIServer
from tests.widget.conftest import demo_conversation_cleanup

pytestmark = pytest.mark.slow

FIRST = "You can return unused gear within 45 days of delivery. "
SECOND = "Start the return from your order page and we email you a label. "
LAST = "Refunds reach your card within a week."


@pytest.fixture(scope="module")
def llm_live(django_db_setup, django_db_blocker, demo_store):
    """(live server URL, fake LLM server): Daphne in a child process whose agent writes with the LLM."""
    with FakeOpenAIServer() as llm:
        overrides = override_settings(
            LLM_PROVIDER="openai",
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_MODEL="gpt-test",
            OPENAI_TIMEOUT_SECONDS=10.0,
            OPENAI_MAX_RETRIES=0,
        )
        overrides.enable()  # before the server process starts: it keeps these settings
        try:
            with live_daphne(django_db_blocker) as url:
                yield url, llm
        finally:
            overrides.disable()


@pytest.fixture
def demo_live(demo_store, committed):
    since = timezone.now()
    yield demo_store
    demo_conversation_cleanup(demo_store, since)


def test_streamed_reply_shows_sentences_then_the_saved_reply(llm_live, demo_live):
    base, llm = llm_live
    llm.queue_text(FIRST + SECOND + LAST, chunk_delay=0.25)
    in_thread(watch_stream, base)
    assert llm.chat_requests[0].body["stream"] is True


def watch_stream(base: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            page.goto(f"{base}/demo")
            widget = page.frame_locator("#convix-widget-frame")
            widget.locator(".cx-launcher").click()
            widget.locator(".cx-input").fill("How long do I have to return stuff?")
            widget.locator(".cx-input").press("Enter")
            # The first checked sentence shows in a draft while the model is still writing (the
            # server's first turn also loads the models: on a busy machine that takes a while).
            draft = widget.locator(".cx-row.cx-draft .cx-bubble")
            expect(draft).to_have_text(FIRST.strip(), timeout=4 * TIMEOUT_MS)
            expect(widget.locator(".cx-row.cx-draft")).to_have_attribute("aria-busy", "true")
            expect(draft).to_have_text((FIRST + SECOND).strip())
            # The saved reply replaces the draft: one AI answer, the whole text, no draft left.
            answer = widget.locator(".cx-row.cx-ai:not(.cx-draft) .cx-bubble").last
            expect(answer).to_have_text(FIRST + SECOND + LAST)
            expect(widget.locator(".cx-row.cx-draft")).to_have_count(0)
            expect(widget.locator(".cx-row.cx-ai .cx-bubble", has_text="45 days")).to_have_count(1)
        finally:
            browser.close()
