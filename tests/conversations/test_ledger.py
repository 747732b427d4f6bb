"""The inbound ledger's guarantees, one at a time (the whole story with real processes is in
test_worker_kill.py): one reply per inbound message, enforced by the database; a sweeper that
does not queue a backlog again on every pass; lost handoff tasks asked for again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import TestCase
from django.utils import timezone

from apps.conversations import services
from apps.conversations.models import InboundMessage, InboundOutcome, Message, MessageRole
from apps.handoff.models import Handoff, HandoffTrigger

pytestmark = pytest.mark.django_db

NO_SWEEP = {"requeued": 0, "handed_off": 0, "handoffs_requested": 0}


def receive(store, text: str) -> InboundMessage:
    """A new conversation's message through ``message_receive``, answered by the eager task."""
    conversation = services.conversation_start(store=store)
    with TestCase.captureOnCommitCallbacks(execute=True):
        message, _ = services.message_receive(store=store, conversation=conversation, text=text)
    return InboundMessage.objects.get(store=store, message=message)


def unanswered(store, text: str) -> InboundMessage:
    """A saved message whose ``ai.reply`` task was lost (its on-commit queueing never runs)."""
    conversation = services.conversation_start(store=store)
    with TestCase.captureOnCommitCallbacks(execute=False):
        message, _ = services.message_receive(store=store, conversation=conversation, text=text)
    return InboundMessage.objects.get(store=store, message=message)


def test_the_database_refuses_a_second_reply_to_one_inbound_message(scoped):
    inbound = receive(scoped, "Do you ship to Canada?")
    reply = Message.objects.get(store=scoped, conversation=inbound.conversation, role=MessageRole.AI)
    assert reply.reply_to_id == inbound.id
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            store=scoped,
            conversation=inbound.conversation,
            role=MessageRole.AI,
            content="again",
            reply_to=inbound,
        )


def test_a_worker_that_finds_the_reply_already_saved_adds_nothing_and_closes_the_row(scoped):
    inbound = receive(scoped, "Do you ship to Canada?")
    # As if a second worker had passed the ledger check before the first one's outcome landed.
    InboundMessage.objects.filter(pk=inbound.pk).update(outcome=InboundOutcome.RECEIVED, completed_at=None)
    with TestCase.captureOnCommitCallbacks(execute=True) as queued:
        assert services.agent_reply(store=scoped, inbound_id=inbound.id) is None
    assert queued == []
    assert (
        Message.objects.filter(store=scoped, conversation=inbound.conversation, role=MessageRole.AI).count()
        == 1
    )
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.REPLIED
    assert inbound.completed_at is not None


def test_the_sweeper_waits_a_full_period_after_the_last_attempt(scoped):
    inbound = unanswered(scoped, "Do you ship to Canada?")
    long_ago = timezone.now() - timedelta(minutes=10)
    InboundMessage.objects.filter(pk=inbound.pk).update(
        received_at=long_ago, last_attempt_at=timezone.now() - timedelta(seconds=10)
    )
    # Received long ago but queued 10 s ago (it waits behind a backlog): not queued again.
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        assert services.inbound_sweep(older_than=timedelta(seconds=60)) == NO_SWEEP
    assert queued == []

    InboundMessage.objects.filter(pk=inbound.pk).update(last_attempt_at=long_ago)
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        assert services.inbound_sweep(older_than=timedelta(seconds=60)) == {**NO_SWEEP, "requeued": 1}
    assert len(queued) == 1
    inbound.refresh_from_db()
    assert inbound.last_attempt_at > long_ago
    # The next pass, within the period, leaves it to the task just queued.
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        assert services.inbound_sweep(older_than=timedelta(seconds=60)) == NO_SWEEP
    assert queued == []

    with TestCase.captureOnCommitCallbacks(execute=True):
        InboundMessage.objects.filter(pk=inbound.pk).update(last_attempt_at=long_ago)
        services.inbound_sweep(older_than=timedelta(seconds=60))
    inbound.refresh_from_db()
    assert inbound.outcome == InboundOutcome.REPLIED


def test_the_sweeper_asks_again_for_a_handoff_whose_task_was_lost(scoped):
    inbound = receive(scoped, "I want to talk to a human, please")
    assert inbound.outcome == InboundOutcome.HANDED_OFF
    Handoff.objects.filter(store=scoped, conversation=inbound.conversation).delete()  # the task was lost
    long_ago = timezone.now() - timedelta(minutes=10)
    InboundMessage.objects.filter(pk=inbound.pk).update(completed_at=long_ago, last_attempt_at=long_ago)

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.inbound_sweep(older_than=timedelta(seconds=60)) == {
            **NO_SWEEP,
            "handoffs_requested": 1,
        }
    handoff = Handoff.objects.get(store=scoped, conversation=inbound.conversation)
    assert handoff.trigger == HandoffTrigger.EXPLICIT_REQUEST
    # Created now: nothing more to ask for.
    assert services.inbound_sweep(older_than=timedelta(seconds=0)) == NO_SWEEP
