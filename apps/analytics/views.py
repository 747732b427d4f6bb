"""``/dashboard/analytics``: the store's reports as charts and tables.

The figures come from ``apps.analytics.selectors``, the same functions the REST API serializes;
this view only picks the period, fills the empty days or weeks in for the charts and renders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django import forms
from django.shortcuts import render
from django.utils import timezone

from apps.analytics import selectors
from apps.channels.models import ChannelType
from apps.handoff.models import HandoffTrigger
from apps.stores.dashboard import dashboard_view

RANGES = (7, 30, 90)


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(choices=[(d, f"Last {d} days") for d in RANGES], coerce=int, required=False)
    interval = forms.ChoiceField(choices=[("day", "By day"), ("week", "By week")], required=False)


def _choice(form: PeriodForm, name: str, default):
    """The valid value of ``name``, or ``default`` (an unknown value in the address is ignored)."""
    if form.is_valid() and form.cleaned_data.get(name):
        return form.cleaned_data[name]
    return default


def _bucket_starts(since: datetime, until: datetime, interval: str) -> list[datetime]:
    """Every day (or Monday) from ``since`` to ``until``, at midnight in the current time zone,
    as ``TruncDay``/``TruncWeek`` give them."""
    start = timezone.localtime(since).replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(days=1)
    if interval == "week":
        start -= timedelta(days=start.weekday())
        step = timedelta(days=7)
    starts = []
    while start < until:
        starts.append(start)
        start = timezone.localtime(start + step).replace(hour=0)
    return starts


def _filled(rows: list[dict], starts: list[datetime], zero: dict) -> list[dict]:
    by_start = {row["period_start"]: row for row in rows}
    return [by_start.get(start, {"period_start": start, **zero}) for start in starts]


def _label(start: datetime, interval: str) -> str:
    text = f"{start:%b} {start.day}"
    return f"Week of {text}" if interval == "week" else text


def _money(value) -> float:
    return float(value or Decimal(0))


@dashboard_view
def analytics(request):
    """Volume, channels, top questions, handoffs and revenue over the last 7, 30 or 90 days."""
    form = PeriodForm(request.GET or None)
    days = _choice(form, "days", 30)
    interval = _choice(form, "interval", "week" if days == 90 else "day")
    until = timezone.now()
    since = until - timedelta(days=days)
    store = request.store

    overview = selectors.overview(store=store, since=since, until=until)
    context = {
        "days": days,
        "interval": interval,
        # A grouping the member chose is kept when the range changes; otherwise each range has
        # its own default (90 days read best by week).
        "interval_chosen": _choice(form, "interval", None),
        "ranges": RANGES,
        "overview": overview,
        "has_activity": bool(overview["conversations"] or overview["messages"]),
    }
    if context["has_activity"]:
        starts = _bucket_starts(since, until, interval)
        volume = _filled(
            selectors.volume(store=store, interval=interval, since=since, until=until),
            starts,
            {"conversations": 0, "messages": 0},
        )
        channel_names = dict(ChannelType.choices)
        channels = [
            {**row, "label": channel_names.get(row["channel_type"], row["channel_type"])}
            for row in selectors.channels(store=store, since=since, until=until)
        ]
        handoffs = selectors.handoffs(store=store, interval=interval, since=since, until=until)
        trend = _filled(handoffs["trend"], starts, {"conversations": 0, "handoffs": 0, "rate": 0.0})
        trigger_names = dict(HandoffTrigger.choices)
        triggers = [
            {**row, "label": trigger_names.get(row["trigger"], row["trigger"])}
            for row in handoffs["triggers"]
        ]
        questions = selectors.questions(store=store, since=since, until=until)
        for label_row in (*volume, *trend):
            label_row["label"] = _label(label_row["period_start"], interval)
        context.update(
            volume=volume,
            channels=channels,
            handoffs={**handoffs, "trend": trend, "triggers": triggers},
            questions=questions,
            chart_data={
                "volume": {
                    "labels": [row["label"] for row in volume],
                    "conversations": [row["conversations"] for row in volume],
                    "messages": [row["messages"] for row in volume],
                },
                "channels": {
                    "labels": [row["label"] for row in channels],
                    "conversations": [row["conversations"] for row in channels],
                    "handoff_rate": [round(row["handoff_rate"] * 100, 1) for row in channels],
                },
                "handoff_trend": {
                    "labels": [row["label"] for row in trend],
                    "rate": [round(row["rate"] * 100, 1) for row in trend],
                    "handoffs": [row["handoffs"] for row in trend],
                },
                "triggers": {
                    "labels": [row["label"] for row in triggers],
                    "counts": [row["count"] for row in triggers],
                },
                "revenue": {
                    "labels": [row["label"] for row in channels],
                    "amounts": [_money(row["revenue_attributed"]) for row in channels],
                    "currency": overview["currency"],
                },
            },
        )
    return render(request, "dashboard/analytics/index.html", context)
