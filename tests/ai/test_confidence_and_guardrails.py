"""Confidence scoring, the six handoff triggers, guardrails and the offline composer (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from convix.ai import guardrails
from convix.ai import offline_engine as compose
from convix.ai.confidence import Confidence, Signals, decide_handoff, emotional_score, intent_score


def test_composite_uses_the_seed_weights():
    assert Confidence(1.0, 1.0, 1.0).composite == 1.0
    assert Confidence(0.5, 0.8, 0.2).composite == pytest.approx(0.45 * 0.5 + 0.35 * 0.8 + 0.20 * 0.2)
    assert Confidence(0.2, 0.9, 1.0).as_dict() == {
        "factual": 0.2,
        "intent": 0.9,
        "emotional": 1.0,
        "composite": 0.605,
    }


def test_emotional_and_intent_scores():
    assert emotional_score(anger=0.0, sentiment=0.5) == 1.0
    assert emotional_score(anger=1.0, sentiment=-1.0) == 0.0
    assert intent_score(intent_confidence=0.9, is_ambiguous=False) == 0.9
    assert intent_score(intent_confidence=0.9, is_ambiguous=True) == pytest.approx(0.54)


CALM = Confidence(1.0, 0.9, 1.0)


@pytest.mark.parametrize(
    ("signals", "confidence", "expected"),
    [
        (Signals(), CALM, None),
        (Signals(), Confidence(0.2, 0.8, 1.0), "LOW_CONFIDENCE"),
        (Signals(wants_human=True, is_angry=True), CALM, "EXPLICIT_REQUEST"),
        (Signals(is_angry=True), CALM, "ANGER_DETECTED"),
        (
            Signals(at_risk_value=Decimal("900"), high_value_threshold=Decimal("750"), value_at_risk=True),
            CALM,
            "HIGH_VALUE_AT_RISK",
        ),
        (
            Signals(at_risk_value=Decimal("900"), high_value_threshold=Decimal("750"), value_at_risk=False),
            CALM,
            None,
        ),
        (
            Signals(at_risk_value=Decimal("700"), high_value_threshold=Decimal("750"), value_at_risk=True),
            CALM,
            None,
        ),
        (Signals(unresolved_turns=3), CALM, "UNRESOLVED_AFTER_3"),
        (Signals(unresolved_turns=2), CALM, None),
        (Signals(is_ambiguous=True, previous_turn_ambiguous=True), CALM, "AMBIGUOUS_INTENT"),
        (Signals(is_ambiguous=True, previous_turn_ambiguous=False), CALM, None),
    ],
)
def test_handoff_triggers(signals, confidence, expected):
    assert decide_handoff(confidence, signals, threshold=0.65) == expected


def test_threshold_is_the_stores():
    confidence = Confidence(0.6, 0.6, 1.0)  # composite 0.68
    assert decide_handoff(confidence, Signals(), threshold=0.65) is None
    assert decide_handoff(confidence, Signals(), threshold=0.7) == "LOW_CONFIDENCE"


def test_guardrail_blocks_unbacked_prices_tracking_and_protected_text():
    allowed = {Decimal("249.00"), Decimal("99.00")}
    assert (
        guardrails.check_reply(
            "It's $249.00, free shipping over $99.", allowed_amounts=allowed, allowed_tracking=set()
        )
        == []
    )
    assert guardrails.check_reply("Now only $199!", allowed_amounts=allowed, allowed_tracking=set()) == [
        "price $199.00 is not in the store data behind this reply"
    ]
    assert guardrails.check_reply(
        "Tracking 1Z999AA10123456784", allowed_amounts=allowed, allowed_tracking={"1Z999AA10123456785"}
    ) == ["a tracking number that is not the verified customer's"]
    assert guardrails.check_reply(
        "my rules say SYSTEM PROMPT CANARY",
        allowed_amounts=allowed,
        allowed_tracking=set(),
        forbidden=["system prompt canary"],
    ) == ["protected content"]


def test_money_parsing():
    assert guardrails.money_amounts("$1,249.5 or $18 or US$ 7.95") == [
        Decimal("1249.50"),
        Decimal("18.00"),
        Decimal("7.95"),
    ]


def test_sentences_and_formatting():
    text = (
        "## Returns\nYou have 45 days to return unused gear. Items must have tags.\n\n- Fuel is final sale."
    )
    assert compose.split_sentences(text) == [
        "You have 45 days to return unused gear.",
        "Items must have tags.",
        "Fuel is final sale.",
    ]
    assert compose.format_money("1249.5") == "$1,249.50"
    assert compose.stock_label(0) == "out of stock"
    assert compose.stock_label(2) == "only 2 left"
    assert compose.stock_label(40) == "in stock"
    text = compose.order_status_text(
        number="AP-1",
        status="SHIPPED",
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://ups.example/1Z",
        placed_at=datetime(2026, 11, 2, tzinfo=UTC),
        shipped_at=datetime(2026, 11, 3, tzinfo=UTC),
        delivered_at=None,
        total_text="$120.00",
    )
    assert text == (
        "Order AP-1 (placed Nov 2, 2026, total $120.00) has shipped on Nov 3, 2026. It went with UPS, "
        "tracking number 1Z999AA10123456784. Track it here: https://ups.example/1Z"
    )
