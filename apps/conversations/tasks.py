"""Celery tasks of the message pipeline (thin: ids in, a service call)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.conversations import services
from apps.stores.scoping import store_task


@store_task("ai.reply", autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def ai_reply(*, store, inbound_id):
    message = services.agent_reply(store=store, inbound_id=inbound_id)
    return str(message.id) if message else None


@store_task("conversations.message_created")
def message_created(*, store, message_id):
    """Fan-out after a reply is saved (delivery and realtime events are added by their issues)."""
    return message_id


@shared_task(name="maintenance.sweep_inbound")
def sweep_inbound():
    return services.inbound_sweep(older_than=timedelta(seconds=settings.INBOUND_SWEEP_AFTER_SECONDS))
