"""The web widget's rules: tokens, identity verification, origins, plan limits, sending, waiting.

Every public widget request goes store → checks → conversation (from a signed token) → the one
message pipeline (``apps.conversations.services``). A conversation token is signed with the
project's secret, names its store and conversation, and expires after
``WIDGET_TOKEN_TTL_SECONDS``; it opens that conversation and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from apps.channels.models import Channel, ChannelType
from apps.conversations import events
from apps.conversations.models import Conversation, ConvStatus, InboundMessage, InboundOutcome, Message
from apps.conversations.services import (
    check_message_text,
    conversation_start,
    customer_resolve,
    message_receive,
)
from apps.stores.models import Store, StoreSettings
from apps.stores.selectors import store_get_public

TOKEN_SALT = "convix.widget.conversation"  # noqa: S105 - a signing namespace, not a secret
MAX_NAME_CHARS = 200


class WidgetError(Exception):
    """A refused widget request: a stable ``code``, a message for people and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def store_for_widget(store_id) -> Store:
    """The active store behind a public widget id; the same 404 for unknown, malformed or inactive."""
    try:
        return store_get_public(store_id=store_id)
    except Http404 as error:
        raise WidgetError("unknown_store", "No such store.", 404) from error


def widget_channel(store: Store) -> Channel:
    """The store's active web widget channel, or a clear refusal."""
    channel = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
    if channel is None or not channel.is_active:
        raise WidgetError("channel_inactive", "Chat is not available on this site right now.", 403)
    return channel


# --- origins (CORS, sockets, framing) --------------------------------------------------------


def allowed_domains(store: Store, store_settings: StoreSettings | None = None) -> list[str]:
    """Host names allowed to embed the store's widget: its domain plus the settings' list.

    An entry ``*.example.com`` allows every subdomain of example.com (not example.com itself).
    """
    store_settings = store_settings or StoreSettings.objects.filter(store=store).first()
    domains = [store.domain] if store.domain else []
    domains += list((store_settings.allowed_domains if store_settings else []) or [])
    cleaned = []
    for domain in domains:
        domain = str(domain).strip().lower()
        if "://" in domain:
            domain = urlsplit(domain).hostname or ""
        domain = domain.split("/")[0].split(":")[0]
        if domain and domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def host_matches(host: str, domains: list[str]) -> bool:
    host = (host or "").lower().rstrip(".")
    for domain in domains:
        if domain.startswith("*."):
            if host.endswith(domain[1:]):
                return True
        elif host == domain:
            return True
    return False


def origin_allowed(store: Store, origin: str, *, own_host: str) -> bool:
    """Whether a browser ``Origin`` may talk to this store's widget.

    Convix's own pages (the widget frame, the demo page) are always allowed; any other site must
    be one of the store's allowed domains. No list means Convix's own pages only (fail closed).
    """
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.netloc.lower() == own_host.lower():
        return True
    return host_matches(parts.hostname, allowed_domains(store))


def frame_ancestors(store: Store) -> str:
    """The CSP ``frame-ancestors`` source list for the store's widget frame."""
    sources = ["'self'"]
    for domain in allowed_domains(store):
        sources += [f"http://{domain}:*", f"https://{domain}:*"]
        if not domain.startswith("*."):
            sources += [f"http://{domain}", f"https://{domain}"]
    return " ".join(sources)


# --- tokens and identity ---------------------------------------------------------------------


def token_for(conversation: Conversation) -> str:
    return signing.dumps({"s": str(conversation.store_id), "c": str(conversation.id)}, salt=TOKEN_SALT)


def conversation_from_token(*, store: Store, token) -> Conversation:
    """The conversation a token opens, within ``store`` only; a clear refusal otherwise."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise WidgetError("invalid_token", "The conversation token is missing or malformed.", 401)
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.WIDGET_TOKEN_TTL_SECONDS)
    except signing.SignatureExpired as error:
        raise WidgetError("expired_token", "This conversation has expired; start a new one.", 401) from error
    except signing.BadSignature as error:
        raise WidgetError("invalid_token", "The conversation token is not valid.", 401) from error
    if not isinstance(data, dict) or data.get("s") != str(store.id):
        raise WidgetError("invalid_token", "The conversation token is not valid.", 401)
    conversation = (
        Conversation.objects.filter(store=store, pk=data.get("c"), channel_type=ChannelType.WEB_WIDGET)
        .select_related("customer", "assigned_agent")
        .first()
    )
    if conversation is None:
        raise WidgetError("invalid_token", "The conversation token is not valid.", 401)
    return conversation


def identity_hash(*, store: Store, email: str) -> str:
    """hex HMAC-SHA256(store identity secret, email): what the merchant's server computes."""
    return hmac.new(
        store.identity_secret.encode(), email.strip().lower().encode(), hashlib.sha256
    ).hexdigest()


def identity_is_verified(*, store: Store, email: str, claimed_hash) -> bool:
    if not email or not isinstance(claimed_hash, str) or not claimed_hash:
        return False
    return hmac.compare_digest(identity_hash(store=store, email=email), claimed_hash.strip().lower())


# --- plan limits -----------------------------------------------------------------------------


def check_conversation_allowance(store: Store) -> None:
    """Refuse a new conversation, with a clear message, when the month's plan allowance is used."""
    limit = store.limits.monthly_conversations
    if limit is None:
        return
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = Conversation.objects.filter(store=store, created_at__gte=month_start).count()
    if used >= limit:
        raise WidgetError(
            "plan_limit",
            "Chat is unavailable right now because this store has reached its monthly conversation "
            f"limit. Please email {store.support_email or 'the store'} instead.",
            429,
        )


# --- config ----------------------------------------------------------------------------------


def widget_config(*, store: Store) -> dict:
    """What the widget needs to draw itself (the customizer previews the same)."""
    from apps.conversations.agent import within_business_hours

    widget_channel(store)
    store_settings = StoreSettings.objects.get(store=store)
    is_open = within_business_hours(store_settings)
    return {
        "store": {"id": str(store.id), "name": store.name},
        "greeting": store_settings.greeting,
        "launcher_text": store_settings.launcher_text,
        "primary_color": store_settings.primary_color,
        "position": store_settings.position,
        "avatar_url": store_settings.avatar_url,
        "allowed_origins": allowed_domains(store, store_settings),
        "business_hours": {
            "is_open": is_open,
            "timezone": store_settings.timezone,
            "notice": "" if is_open else store_settings.after_hours_message,
        },
        "token_ttl_seconds": settings.WIDGET_TOKEN_TTL_SECONDS,
        "max_message_chars": settings.WIDGET_MAX_MESSAGE_CHARS,
    }


# --- conversations and messages -------------------------------------------------------------


@dataclass
class StartedConversation:
    conversation: Conversation
    token: str
    is_new: bool


def widget_conversation_start(
    *, store: Store, token=None, customer: dict | None = None, claimed_hash=None, page_url: str = ""
) -> StartedConversation:
    """Resume the conversation ``token`` opens (if still valid), or start a new one.

    A customer claim ``{email, name}`` is recorded as a verified identity only when
    ``claimed_hash`` is the store's HMAC of the email; otherwise the conversation is unverified
    and the claimed email is not attached (so it cannot unlock anyone's orders).
    """
    channel = widget_channel(store)
    if token:
        try:
            conversation = conversation_from_token(store=store, token=token)
            return StartedConversation(conversation, token, False)
        except WidgetError:
            pass  # an expired or foreign token: start afresh
    check_conversation_allowance(store)
    customer = customer if isinstance(customer, dict) else {}
    email = str(customer.get("email") or "").strip().lower()[:254]
    name = str(customer.get("name") or "").strip()[:MAX_NAME_CHARS]
    verified = identity_is_verified(store=store, email=email, claimed_hash=claimed_hash)
    record = None
    if verified:
        try:
            from django.core.validators import validate_email

            validate_email(email)
        except ValidationError as error:
            raise WidgetError("invalid_email", "The customer email is not valid.", 400) from error
        record = customer_resolve(store=store, channel_type=ChannelType.WEB_WIDGET, email=email, name=name)
    conversation = conversation_start(
        store=store,
        channel=channel,
        customer=record,
        is_customer_verified=verified,
        metadata={"page_url": page_url[:500]} if page_url else {},
    )
    if not verified and name:
        conversation.metadata = {**conversation.metadata, "claimed_name": name}
        conversation.save(update_fields=["metadata"])
    return StartedConversation(conversation, token_for(conversation), True)


def widget_message_send(
    *, store: Store, conversation: Conversation, text, client_id=None
) -> tuple[Message, bool]:
    """Save the shopper's message through the pipeline. ``client_id`` makes a resend a no-op."""
    widget_channel(store)
    try:
        text = check_message_text(text)
    except ValidationError as error:
        raise WidgetError(error.code or "invalid_message", error.messages[0], 400) from error
    if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
        raise WidgetError(
            "too_long", f"The message is longer than {settings.WIDGET_MAX_MESSAGE_CHARS} characters.", 400
        )
    key = ""
    metadata = {}
    if client_id is not None:
        # A NUL cannot be stored in PostgreSQL text; the socket sends client_id unvalidated.
        if not isinstance(client_id, str) or not (1 <= len(client_id) <= 64) or "\x00" in client_id:
            raise WidgetError("invalid_client_id", "client_id must be a string of 1 to 64 characters.", 400)
        key = f"widget:{conversation.id}:{client_id}"
        metadata["client_id"] = client_id
    return message_receive(
        store=store, conversation=conversation, text=text, provider_message_id=key, metadata=metadata
    )


def reply_wait(*, store: Store, message: Message, timeout: float) -> Message | None:
    """Wait (polling the ledger) until the shopper's message has an outcome; the reply, if any.

    In the embedded default the reply is already there (background work runs in-process); with
    Celery workers this waits for them, up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        outcome = (
            InboundMessage.objects.filter(store=store, message=message)
            .values_list("outcome", flat=True)
            .first()
        )
        if outcome != InboundOutcome.RECEIVED:
            break
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    return (
        Message.objects.filter(
            store=store, conversation_id=message.conversation_id, created_at__gt=message.created_at
        )
        .exclude(role__in=("USER", "SYSTEM"))
        .select_related("author")
        .order_by("created_at")
        .first()
    )


def widget_history(*, store: Store, conversation: Conversation, limit: int = 100) -> list[dict]:
    """The shopper's view of the conversation's latest messages, oldest first."""
    messages = list(
        Message.objects.filter(store=store, conversation=conversation)
        .select_related("author")
        .order_by("-created_at")[:limit]
    )[::-1]
    return [payload for m in messages if (payload := events.widget_message(m)) is not None]


def widget_state(*, conversation: Conversation) -> dict:
    state = events.widget_conversation_state(conversation)
    state["is_handed_off"] = conversation.status == ConvStatus.HANDED_OFF
    return state
