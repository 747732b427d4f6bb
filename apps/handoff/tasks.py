"""Celery tasks of the handoff app."""

from __future__ import annotations

from apps.conversations.models import Conversation
from apps.handoff import services
from apps.stores.scoping import store_task


@store_task("handoff.create", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def handoff_create(*, store, conversation_id, trigger, confidence=None, context=None):
    conversation = (
        Conversation.objects.filter(store=store, pk=conversation_id).select_related("customer").first()
    )
    if conversation is None:
        return None
    return str(
        services.handoff_create(
            store=store, conversation=conversation, trigger=trigger, confidence=confidence, context=context
        ).id
    )
