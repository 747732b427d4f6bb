"""The intents Convix recognises in a shopper's message."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    PRODUCT_QUESTION = "product_question"  # a question about a product: specs, sizing, stock, price
    RECOMMENDATION = "recommendation"  # "what tent should I buy for ..."
    ORDER_STATUS = "order_status"  # where is my order, tracking
    RETURN = "return"  # start or ask about a return or exchange
    REFUND = "refund"  # refund status or request
    SHIPPING = "shipping"  # shipping options, costs, times, destinations
    ACCOUNT = "account"  # login, password, profile, subscription management
    PAYMENT = "payment"  # payment methods, charges, invoices, failed payments
    POLICY_FAQ = "policy_faq"  # warranty, privacy, store info and other FAQ/policy questions
    GREETING = "greeting"  # hello, thanks, goodbye, small talk
    HUMAN_REQUEST = "human_request"  # asks for a person
    COMPLAINT = "complaint"  # dissatisfaction, something went wrong
    OUT_OF_SCOPE = "out_of_scope"  # nothing the store can help with


SALES_INTENTS = {Intent.PRODUCT_QUESTION, Intent.RECOMMENDATION}
