"""Writes of a store's channels: add, change the configuration, remove, test the connection.

``config`` holds credentials: write-only from outside (the API never returns it). Each type
says which configuration keys it needs, which of them are secret, and which identifies the
channel to inbound webhooks (its ``routing_key``); what is not secret is copied into
``public_config`` so it can be shown.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.stores.models import Store


@dataclass(frozen=True)
class ChannelSpec:
    required: tuple[str, ...]
    secrets: tuple[str, ...]
    optional: tuple[str, ...] = ()
    routing_field: str = ""


CHANNEL_SPECS: dict[str, ChannelSpec] = {
    ChannelType.WEB_WIDGET: ChannelSpec(required=(), secrets=(), optional=("allowed_domains",)),
    ChannelType.WHATSAPP: ChannelSpec(
        required=("phone_number_id", "access_token"),
        secrets=("access_token",),
        optional=("display_phone_number", "business_account_id"),
        routing_field="phone_number_id",
    ),
    ChannelType.SMS: ChannelSpec(
        required=("phone_number", "account_sid", "auth_token"),
        secrets=("auth_token",),
        routing_field="phone_number",
    ),
    ChannelType.INSTAGRAM: ChannelSpec(
        required=("account_id", "access_token"), secrets=("access_token",), routing_field="account_id"
    ),
    ChannelType.MESSENGER: ChannelSpec(
        required=("page_id", "page_access_token"), secrets=("page_access_token",), routing_field="page_id"
    ),
    ChannelType.EMAIL: ChannelSpec(
        required=("inbound_address",),
        secrets=("api_key", "signing_key"),
        optional=("provider", "from_address", "api_key", "signing_key"),
        routing_field="inbound_address",
    ),
    ChannelType.SLACK: ChannelSpec(
        required=("team_id", "bot_token"),
        secrets=("bot_token", "signing_secret"),
        optional=("signing_secret", "channel_id"),
        routing_field="team_id",
    ),
}


def _check_config(type_: str, config: dict) -> None:
    spec = CHANNEL_SPECS[type_]
    allowed = set(spec.required) | set(spec.optional)
    errors = {}
    for key in sorted(set(config) - allowed):
        errors[f"config.{key}"] = [f"Not a setting of a {type_} channel."]
    for key in spec.required:
        value = config.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[f"config.{key}"] = ["This setting is required."]
    for key, value in config.items():
        if key in allowed and key != "allowed_domains" and not isinstance(value, str):
            errors.setdefault(f"config.{key}", []).append("Must be a string.")
    if errors:
        raise ValidationError(errors)


def _apply_config(channel: Channel, config: dict) -> None:
    spec = CHANNEL_SPECS[channel.type]
    channel.config = config
    channel.public_config = {key: value for key, value in config.items() if key not in spec.secrets}
    channel.routing_key = (
        str(config.get(spec.routing_field, "")).strip().lower() if spec.routing_field else ""
    )


def _check_plan_limit(store: Store) -> None:
    limit = store.limits.channels
    if limit is not None and Channel.objects.filter(store=store).count() >= limit:
        raise ValidationError(
            {"type": [f"Your plan allows {limit} channels. Remove one or upgrade to add more."]},
            code="plan_limit",
        )


def _save(channel: Channel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        if channel.type == ChannelType.WEB_WIDGET:
            raise ValidationError({"type": ["The store already has a web widget channel."]}) from None
        raise ValidationError(
            {"config": ["Another channel already uses this account (its identifier is taken)."]}
        ) from None


def channel_create(*, store: Store, type: str, name: str = "", config: dict | None = None) -> Channel:  # noqa: A002
    """Add a channel. ``config`` is checked against the type's settings; the channel starts
    PENDING until its connection is tested. Raises ValidationError."""
    if type not in CHANNEL_SPECS:
        raise ValidationError({"type": ["Unknown channel type."]})
    config = dict(config or {})
    _check_config(type, config)
    _check_plan_limit(store)
    channel = Channel(store=store, type=type, name=name)
    _apply_config(channel, config)
    _save(channel)
    return channel


def channel_update(
    *,
    store: Store,
    channel: Channel,
    name: str | None = None,
    config: dict | None = None,
    is_active: bool | None = None,
) -> Channel:
    """Change a channel's name, activity or settings. ``config`` is merged into the saved one
    (a secret left out keeps its value; a key set to null is removed). A changed config sends
    the channel back to PENDING."""
    if channel.store_id != store.id:
        raise Channel.DoesNotExist("No such channel.")
    if name is not None:
        channel.name = name
    if is_active is not None:
        channel.is_active = is_active
    if config is not None:
        merged = {**(channel.config or {}), **config}
        merged = {key: value for key, value in merged.items() if value is not None}
        _check_config(channel.type, merged)
        if merged != channel.config:
            _apply_config(channel, merged)
            channel.status, channel.last_error = ChannelStatus.PENDING, ""
    _save(channel)
    return channel


def channel_delete(*, store: Store, channel: Channel) -> None:
    """Remove a channel. Its conversations stay (their channel becomes empty)."""
    if channel.store_id != store.id:
        raise Channel.DoesNotExist("No such channel.")
    Channel.objects.filter(store=store, pk=channel.pk).delete()


def _adapter_tester(type_: str):
    """The channel adapter's connection test, when the adapters package provides one."""
    try:
        adapters = importlib.import_module("apps.channels.adapters")
    except ImportError:
        return None
    registry = getattr(adapters, "REGISTRY", None) or getattr(adapters, "ADAPTERS", None) or {}
    adapter = registry.get(type_)
    return getattr(adapter, "test_connection", None) if adapter else None


def channel_test(*, store: Store, channel: Channel) -> Channel:
    """Test a channel's connection and record the outcome (CONNECTED or ERROR with the reason).

    The configuration is checked first; then the channel adapter's own test runs when adapters
    are installed (it calls the provider with the credentials).
    """
    if channel.store_id != store.id:
        raise Channel.DoesNotExist("No such channel.")
    error = ""
    try:
        _check_config(channel.type, channel.config or {})
    except ValidationError as invalid:
        error = "; ".join(f"{k}: {' '.join(v)}" for k, v in invalid.message_dict.items())
    if not error:
        tester = _adapter_tester(channel.type)
        if tester is not None:
            try:
                tester(channel)
            except Exception as failure:  # noqa: BLE001 - any failure is the test's answer
                error = str(failure) or type(failure).__name__
    channel.status = ChannelStatus.ERROR if error else ChannelStatus.CONNECTED
    channel.last_error = error[:2000]
    channel.last_tested_at = timezone.now()
    Channel.objects.filter(store=store, pk=channel.pk).update(
        status=channel.status,
        last_error=channel.last_error,
        last_tested_at=channel.last_tested_at,
        updated_at=timezone.now(),
    )
    return channel
