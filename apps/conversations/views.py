"""Dashboard pages of the conversations area: the overview, the conversation list and a thread
with live human takeover.

Thin, like every interface: parse → select (store-scoped selectors; another store's conversation
is a 404) → call the same services the REST API and the dashboard socket call → render. Agent
actions are plain form POSTs (the no-JS path); ``static/js/dashboard-live.js`` sends the same
actions over the dashboard socket when it is connected.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.channels.models import ChannelType
from apps.conversations import selectors
from apps.conversations.models import Conversation, ConvStatus, MessageRole
from apps.handoff import services as handoff_services
from apps.handoff.models import HandoffStatus
from apps.stores.dashboard import dashboard_view
from apps.stores.models import Order, Product
from apps.training.models import TrainingDoc

PAGE_SIZE = 25
QUEUE_SIZE = 10
LEARNING_NOTE_MAX = 5000


# --- overview ------------------------------------------------------------------------------


# The 30-day figures read a month of conversations (33,000 rows in a store of 100,000 a quarter):
# they are kept for a minute; today's figures and the live queue are read on every view.
MONTH_FIGURES_SECONDS = 60


def _month_figures(store, now) -> dict:
    key = f"dashboard:month-figures:{store.id}"
    figures = cache.get(key)
    if figures is None:
        figures = selectors.conversation_figures(store=store, since=now - timedelta(days=30), until=now)
        cache.set(key, figures, MONTH_FIGURES_SECONDS)
    return figures


@require_GET
@dashboard_view
def overview(request):
    """``/dashboard``: today's and 30-day figures, the live queue and quick links. A signed-in
    user without a store is sent to onboarding to connect one."""
    store = request.store
    now = timezone.now()
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    queue, waiting = selectors.handoff_queue(store=store, limit=QUEUE_SIZE)
    context = {
        "today": selectors.conversation_figures(store=store, since=today_start, until=now),
        "month": _month_figures(store, now),
        "queue": queue,
        "waiting": waiting,
        "waiting_label": f"{waiting:,}+" if waiting >= selectors.QUEUE_COUNT_CAP else f"{waiting:,}",
        "counts": {
            "products": Product.objects.filter(store=store).count(),
            "orders": Order.objects.filter(store=store).count(),
            "training_docs": TrainingDoc.objects.filter(store=store).count(),
        },
    }
    if request.headers.get("HX-Request") and request.GET.get("part") == "queue":
        return render(request, "dashboard/_convo_queue.html", context)
    return render(request, "dashboard/overview.html", context)


# --- the list ------------------------------------------------------------------------------

HANDED_OFF_CHOICES = [("", "Any"), ("yes", "Handed off"), ("no", "Never handed off")]
SENTIMENT_CHOICES = [("", "Any"), ("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive")]


class ConversationFilterForm(forms.Form):
    """The list's filters, from the query string. Invalid fields are reported and ignored."""

    label_suffix = ""

    q = forms.CharField(required=False, max_length=200, strip=True, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any")] + list(ConvStatus.choices))
    channel = forms.ChoiceField(required=False, choices=[("", "Any")] + list(ChannelType.choices))
    handed_off = forms.ChoiceField(required=False, choices=HANDED_OFF_CHOICES, label="Handoff")
    sentiment = forms.ChoiceField(required=False, choices=SENTIMENT_CHOICES)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date must be on or after the start date.")
        return data

    def filters(self) -> tuple[selectors.ConversationFilters, str | None]:
        """The valid fields as the selectors' filters (``until`` includes its whole day)."""
        data = getattr(self, "cleaned_data", {})
        handed = {"yes": True, "no": False}.get(data.get("handed_off") or "")
        return (
            selectors.ConversationFilters(
                status=data.get("status") or None,
                channel=data.get("channel") or None,
                since=_day_start(data["since"]) if data.get("since") else None,
                until=_day_start(data["until"] + timedelta(days=1)) if data.get("until") else None,
                handed_off=handed,
                q=data.get("q") or None,
            ),
            data.get("sentiment") or None,
        )


CHANNEL_LABELS = dict(ChannelType.choices)


def status_badge(status: str, agent_name: str | None, *, is_assigned: bool) -> tuple[str, str]:
    """(badge class, label) of a conversation's status as the team reads it."""
    if status == ConvStatus.HANDED_OFF:
        if is_assigned:
            return "info", f"With {agent_name}" if agent_name else "With an agent"
        return "warn", "Waiting for agent"
    return {
        ConvStatus.ACTIVE: ("ok", "AI active"),
        ConvStatus.RESOLVED: ("", "Resolved"),
        ConvStatus.ABANDONED: ("", "Abandoned"),
    }.get(status, ("", status))


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def encode_cursor(position: tuple[datetime, uuid.UUID]) -> str:
    at, pk = position
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID] | None:
    """A cursor from :func:`encode_cursor`, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, pk = raw.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            return None
        return moment, uuid.UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _query_without(request, *drop: str) -> str:
    query = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


@dashboard_view
@require_GET
def conversation_list(request):
    """``/dashboard/conversations``: filters, search and keyset pagination. An htmx request gets
    the results partial only (the table and pager), a plain request the whole page."""
    form = ConversationFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # errors are shown; valid fields still filter
    filters, sentiment = form.filters()
    after = before = None
    cursor_error = ""
    if request.GET.get("after"):
        after = decode_cursor(request.GET["after"])
        cursor_error = "" if after else "That page link is not valid any more; showing the latest."
    elif request.GET.get("before"):
        before = decode_cursor(request.GET["before"])
        cursor_error = "" if before else "That page link is not valid any more; showing the latest."
    page = selectors.conversation_page(
        store=request.store, filters=filters, sentiment=sentiment, after=after, before=before, limit=PAGE_SIZE
    )
    for row in page.rows:  # labels here: cheaper than a loop per row in the template
        row["channel_label"] = CHANNEL_LABELS.get(row["channel_type"], row["channel_type"])
        row["badge"] = status_badge(
            row["status"], row["assigned_agent__name"], is_assigned=row["assigned_agent_id"] is not None
        )
    base_query = _query_without(request, "after", "before")
    context = {
        "form": form,
        "page": page,
        "rows": page.rows,
        "cursor_error": cursor_error,
        "is_filtered": any(v for k, v in request.GET.items() if k not in ("after", "before")),
        "is_first_page": after is None and before is None,
        "next_query": f"{base_query}&after={encode_cursor(page.next_after)}".lstrip("&")
        if page.next_after
        else "",
        "previous_query": f"{base_query}&before={encode_cursor(page.previous_before)}".lstrip("&")
        if page.previous_before
        else "",
        "first_query": base_query,
    }
    if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
        return render(request, "dashboard/conversations/_convo_results.html", context)
    return render(request, "dashboard/conversations/list.html", context)


# --- a thread ------------------------------------------------------------------------------


def _conversation_or_404(request, conversation_id) -> Conversation:
    try:
        return selectors.conversation_for_thread(store=request.store, conversation_id=conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


def _thread_context(request, conversation: Conversation) -> dict:
    store = request.store
    handoffs = selectors.conversation_handoffs(store=store, conversation=conversation)
    open_handoff = next((h for h in handoffs if h.status != HandoffStatus.RESOLVED), None)
    is_mine = conversation.assigned_agent_id == request.user.pk
    agent = conversation.assigned_agent
    agent_label = (agent.name or agent.email) if agent else ""
    return {
        "agent_label": agent_label,
        "badge": status_badge(conversation.status, agent_label, is_assigned=agent is not None),
        "conversation": conversation,
        "customer": conversation.customer,
        "handoffs": handoffs,
        "handoff": open_handoff or (handoffs[0] if handoffs else None),
        "is_mine": is_mine,
        "is_taken_by_other": bool(conversation.assigned_agent_id) and not is_mine,
        "is_resolved": conversation.status == ConvStatus.RESOLVED,
        "status_choices": [
            (value, label) for value, label in ConvStatus.choices if value in handoff_services.STATUS_CHANGES
        ],
        "learning_note_max": LEARNING_NOTE_MAX,
    }


@dashboard_view
@require_GET
def conversation_detail(request, conversation_id):
    """``/dashboard/conversations/<id>``: the thread, the customer and the handoff panel.

    ``?part=panel`` (htmx, from the live script) renders the handoff panel and the composer only.
    """
    conversation = _conversation_or_404(request, conversation_id)
    context = _thread_context(request, conversation)
    if request.headers.get("HX-Request") and request.GET.get("part") == "panel":
        return render(request, "dashboard/conversations/_convo_live_parts.html", context)
    store = request.store
    context["thread"] = selectors.conversation_thread(store=store, conversation=conversation)
    context["orders"] = selectors.customer_orders(store=store, customer=conversation.customer)
    context["roles"] = MessageRole
    return render(request, "dashboard/conversations/detail.html", context)


def _back(conversation_id) -> str:
    return reverse("dashboard-conversation", args=[conversation_id])


def _act(request, conversation_id, action, success: str):
    """Run an agent action (a service call) on one of the store's conversations, then go back to
    the thread with its outcome. A refused action (taken by another agent, resolved, empty
    reply) changes nothing and says why."""
    conversation = _conversation_or_404(request, conversation_id)
    try:
        action(conversation)
    except handoff_services.AgentActionError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        messages.error(request, " ".join(_validation_messages(error)))
    else:
        if success:
            messages.success(request, success)
    return redirect(_back(conversation.pk))


def _validation_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [text for texts in error.message_dict.values() for text in texts]
    return list(error.messages)


@dashboard_view
@require_POST
def conversation_join(request, conversation_id):
    store = request.store
    return _act(
        request,
        conversation_id,
        lambda c: handoff_services.conversation_join(store=store, conversation_id=c.pk, agent=request.user),
        "You have taken over this conversation; the AI has stopped answering.",
    )


@dashboard_view
@require_POST
def conversation_reply(request, conversation_id):
    store = request.store
    return _act(
        request,
        conversation_id,
        lambda c: handoff_services.agent_message_send(
            store=store, conversation_id=c.pk, agent=request.user, text=request.POST.get("text", "")
        ),
        "",
    )


@dashboard_view
@require_POST
def conversation_resolve(request, conversation_id):
    store = request.store
    note = request.POST.get("learning_note", "")

    def resolve(conversation):
        if len(note) > LEARNING_NOTE_MAX:
            raise ValidationError(f"Keep the learning note under {LEARNING_NOTE_MAX} characters.")
        handoff_services.conversation_resolve(
            store=store, conversation_id=conversation.pk, agent=request.user, learning_note=note
        )

    return _act(request, conversation_id, resolve, "Conversation resolved.")


@dashboard_view
@require_POST
def conversation_status(request, conversation_id):
    store = request.store
    status = request.POST.get("status", "")

    def change(conversation):
        handoff_services.agent_status_set(
            store=store, conversation_id=conversation.pk, agent=request.user, status=status
        )

    label = dict(ConvStatus.choices).get(status, status)
    return _act(request, conversation_id, change, f"Status set to {label}.")
