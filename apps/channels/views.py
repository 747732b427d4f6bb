"""Dashboard pages of channels and the widget customizer (ADMIN and OWNER; an AGENT gets 403).

Views parse a form → check it with the REST API's serializer → call the channel or store
service the API calls → render. Secrets are write-only: a page shows whether one is set, never
its value. Another store's channel is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.models import UserRole
from apps.channels import services
from apps.channels.forms import TYPE_BLURBS, ChannelForm
from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.channels.serializers import ChannelCreateSerializer, ChannelUpdateSerializer
from apps.stores.dashboard import dashboard_view
from apps.stores.forms import WidgetForm, add_errors
from apps.stores.views import save_settings, store_settings_of

ADMIN = UserRole.ADMIN
STATUS_BADGES = {ChannelStatus.CONNECTED: "ok", ChannelStatus.ERROR: "bad", ChannelStatus.PENDING: "warn"}


def _channel(request, channel_id) -> Channel:
    return get_object_or_404(Channel, store=request.store, pk=channel_id)


def _page(request, template: str, context: dict, status: int = 200):
    return render(request, f"dashboard/channels/{template}", context, status=status)


def embed_snippet(request, store) -> str:
    base = request.build_absolute_uri("/").rstrip("/")
    return f'<script src="{base}/widget.js" data-store="{store.id}" async></script>'


# --- channels -----------------------------------------------------------------------------------


@dashboard_view(minimum_role=ADMIN)
def channel_list(request):
    channels = list(Channel.objects.filter(store=request.store).order_by("type", "created_at"))
    limit = request.store.limits.channels
    existing_types = {channel.type for channel in channels}
    types = [
        {
            "value": value,
            "label": label,
            "blurb": TYPE_BLURBS.get(value, ""),
            "is_taken": value == ChannelType.WEB_WIDGET and value in existing_types,
        }
        for value, label in ChannelType.choices
    ]
    context = {
        "channels": channels,
        "badges": STATUS_BADGES,
        "types": types,
        "limit": limit,
        "is_full": limit is not None and len(channels) >= limit,
    }
    return _page(request, "list.html", context)


@dashboard_view(minimum_role=ADMIN)
def channel_new(request):
    type_ = request.POST.get("type") or request.GET.get("type") or ""
    if type_ not in ChannelType.values:
        messages.error(request, "Choose a channel type to add.")
        return redirect("dashboard-channels")
    form = ChannelForm(request.POST or None, type_=type_)
    if request.method == "POST" and form.is_valid():
        serializer = ChannelCreateSerializer(
            data={"type": type_, "name": form.cleaned_data["name"], "config": form.config()}
        )
        if not serializer.is_valid():
            add_errors(form, serializer.errors, form.error_field_names())
        else:
            try:
                channel = services.channel_create(store=request.store, **serializer.validated_data)
            except ValidationError as error:
                add_errors(form, error, form.error_field_names())
            else:
                messages.success(
                    request, f"{channel.get_type_display()} added. Test the connection to go live."
                )
                return redirect("dashboard-channel", channel_id=channel.id)
    context = {
        "form": form,
        "type_label": ChannelType(type_).label,
        "type": type_,
        "blurb": TYPE_BLURBS[type_],
    }
    return _page(request, "new.html", context, status=400 if form.errors else 200)


@dashboard_view(minimum_role=ADMIN)
def channel_detail(request, channel_id):
    channel = _channel(request, channel_id)
    form = ChannelForm(request.POST or None, type_=channel.type, channel=channel)
    if request.method == "POST" and form.is_valid():
        serializer = ChannelUpdateSerializer(
            data={
                "name": form.cleaned_data["name"],
                "is_active": form.cleaned_data["is_active"],
                "config": form.config(),
            }
        )
        if not serializer.is_valid():
            add_errors(form, serializer.errors, form.error_field_names())
        else:
            try:
                services.channel_update(store=request.store, channel=channel, **serializer.validated_data)
            except ValidationError as error:
                add_errors(form, error, form.error_field_names())
            else:
                messages.success(request, "Channel saved.")
                return redirect("dashboard-channel", channel_id=channel.id)
        channel.refresh_from_db()
    context = {
        "channel": channel,
        "form": form,
        "badges": STATUS_BADGES,
        "snippet": embed_snippet(request, request.store) if channel.type == ChannelType.WEB_WIDGET else "",
    }
    return _page(request, "detail.html", context, status=400 if form.errors else 200)


@require_POST
@dashboard_view(minimum_role=ADMIN)
def channel_test(request, channel_id):
    channel = services.channel_test(store=request.store, channel=_channel(request, channel_id))
    if request.htmx:
        return _page(request, "_status.html", {"channel": channel, "badges": STATUS_BADGES})
    if channel.status == ChannelStatus.CONNECTED:
        messages.success(request, "Connection works.")
    else:
        messages.error(request, f"Connection failed: {channel.last_error}")
    return redirect("dashboard-channel", channel_id=channel.id)


@dashboard_view(minimum_role=ADMIN)
def channel_delete(request, channel_id):
    channel = _channel(request, channel_id)
    if request.method == "POST":
        services.channel_delete(store=request.store, channel=channel)
        messages.success(request, f"{channel.get_type_display()} channel removed.")
        return redirect("dashboard-channels")
    return _page(request, "delete.html", {"channel": channel})


# --- widget customizer --------------------------------------------------------------------------


@dashboard_view(minimum_role=ADMIN)
def widget_customizer(request):
    store = request.store
    store_settings = store_settings_of(store)
    if request.method == "POST":
        form = WidgetForm(request.POST)
        if form.is_valid() and save_settings(form, store, settings_data=form.settings_data()):
            messages.success(request, "Widget saved. Your storefront shows it on the next page load.")
            return redirect("dashboard-widget")
    else:
        form = WidgetForm(initial=WidgetForm.initial_for(store_settings))
    widget_channel = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
    context = {
        "form": form,
        "widget_channel": widget_channel,
        "snippet": embed_snippet(request, store),
        "frame_url": reverse("widget-frame", args=[store.id]),
        "store_domain": store.domain,
    }
    return render(request, "dashboard/widget/customizer.html", context, status=400 if form.errors else 200)


@require_POST
@dashboard_view(minimum_role=ADMIN)
def widget_enable(request):
    """Add the web widget channel (the customizer's empty state), or switch it back on."""
    channel = Channel.objects.filter(store=request.store, type=ChannelType.WEB_WIDGET).first()
    try:
        if channel is None:
            services.channel_create(store=request.store, type=ChannelType.WEB_WIDGET)
        elif not channel.is_active:
            services.channel_update(store=request.store, channel=channel, is_active=True)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The web widget is on.")
    return redirect("dashboard-widget")
