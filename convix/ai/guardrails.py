"""Checks a reply must pass before it is sent (pure functions).

Facts about prices, stock and orders come from store data, never from a model: every money
amount and tracking number in a reply must be one the evidence contains, and nothing secret or
foreign (the system prompt, another customer's details, another store's data) may appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

MONEY = re.compile(r"(?:US)?\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
# UPS 1Z..., USPS 92/93/94/95 + 18-20 digits, FedEx 12/15 digits.
TRACKING = re.compile(r"\b(1Z[0-9A-Z]{16}|9[2-5]\d{18,20}|\d{12}|\d{15})\b")


def money_amounts(text: str) -> list[Decimal]:
    amounts = []
    for whole, cents in MONEY.findall(text):
        try:
            amounts.append(Decimal(whole.replace(",", "") + "." + (cents or "0")).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
    return amounts


def tracking_numbers(text: str) -> list[str]:
    return TRACKING.findall(text)


def amounts_in(texts: Iterable[str]) -> set[Decimal]:
    """Every money amount that appears in the evidence texts (policies, FAQs)."""
    found: set[Decimal] = set()
    for text in texts:
        found.update(money_amounts(text))
    return found


def check_reply(
    text: str,
    *,
    allowed_amounts: set[Decimal],
    allowed_tracking: set[str],
    forbidden: Iterable[str] = (),
) -> list[str]:
    """The reasons ``text`` must not be sent; empty when it may be."""
    violations = []
    for amount in money_amounts(text):
        if amount not in allowed_amounts:
            violations.append(f"price ${amount} is not in the store data behind this reply")
    for number in tracking_numbers(text):
        if number not in allowed_tracking:
            violations.append("a tracking number that is not the verified customer's")
    lowered = text.lower()
    if any(value and value.lower() in lowered for value in forbidden):
        violations.append("protected content")
    return violations
