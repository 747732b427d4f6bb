"""Confidence scoring and the handoff decision (pure functions, no database).

composite = 0.45 · factual + 0.35 · intent + 0.20 · emotional, each in 0..1:

- factual: how much verified store data stands behind the reply (1 when the reply makes no
  factual claim, such as a greeting or a clarifying question; low when the shopper asked
  something the store's data does not answer);
- intent: how sure we are what the shopper wants (the classifier's calibrated probability,
  lowered when two intents are nearly tied);
- emotional: 1 for a calm shopper, towards 0 for a distressed one.

A reply is handed off when the composite falls below the store's threshold (LOW_CONFIDENCE) or
when one of the other five triggers fires; the triggers are checked in a fixed order so the
reason a human sees is the most specific one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

WEIGHTS = {"factual": 0.45, "intent": 0.35, "emotional": 0.20}

# Trigger names match apps.handoff.models.HandoffTrigger (the AI layer imports no app).
EXPLICIT_REQUEST = "EXPLICIT_REQUEST"
ANGER_DETECTED = "ANGER_DETECTED"
HIGH_VALUE_AT_RISK = "HIGH_VALUE_AT_RISK"
UNRESOLVED_AFTER_3 = "UNRESOLVED_AFTER_3"
AMBIGUOUS_INTENT = "AMBIGUOUS_INTENT"
LOW_CONFIDENCE = "LOW_CONFIDENCE"

UNRESOLVED_LIMIT = 3


@dataclass(frozen=True)
class Confidence:
    factual: float
    intent: float
    emotional: float

    @property
    def composite(self) -> float:
        return round(
            WEIGHTS["factual"] * self.factual
            + WEIGHTS["intent"] * self.intent
            + WEIGHTS["emotional"] * self.emotional,
            4,
        )

    def as_dict(self) -> dict:
        return {**{k: round(v, 4) for k, v in asdict(self).items()}, "composite": self.composite}


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, float(value)))


def emotional_score(*, anger: float, sentiment: float) -> float:
    """1 for a calm or happy shopper; lower with anger and negative sentiment."""
    negativity = max(0.0, -sentiment)
    return round(clamp(1.0 - 0.7 * anger - 0.3 * negativity), 4)


def intent_score(*, intent_confidence: float, is_ambiguous: bool) -> float:
    return round(clamp(intent_confidence * (0.6 if is_ambiguous else 1.0)), 4)


@dataclass(frozen=True)
class Signals:
    """What the handoff decision looks at, besides the confidence."""

    wants_human: bool = False
    is_angry: bool = False
    is_ambiguous: bool = False
    previous_turn_ambiguous: bool = False
    unresolved_turns: int = 0
    at_risk_value: Decimal = Decimal("0")
    high_value_threshold: Decimal = Decimal("500")
    value_at_risk: bool = False  # the shopper is unhappy, unsure or asking for a quote we cannot settle
    needs_human: bool = False  # the agent cannot act (e.g. an exception a policy leaves to staff)


def decide_handoff(confidence: Confidence, signals: Signals, *, threshold: float) -> str | None:
    """The handoff trigger for this reply, or None to send the reply."""
    if signals.wants_human:
        return EXPLICIT_REQUEST
    if signals.is_angry:
        return ANGER_DETECTED
    if signals.at_risk_value > signals.high_value_threshold and signals.value_at_risk:
        return HIGH_VALUE_AT_RISK
    if signals.unresolved_turns >= UNRESOLVED_LIMIT:
        return UNRESOLVED_AFTER_3
    if signals.is_ambiguous and signals.previous_turn_ambiguous:
        return AMBIGUOUS_INTENT
    if confidence.composite < threshold or signals.needs_human:
        return LOW_CONFIDENCE
    return None
