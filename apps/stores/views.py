"""Dashboard settings pages: general, escalation, team, billing; and accepting an invitation.

Who may do what (the REST API's rules, plus the team and billing decisions of issue 5):

- ADMIN and OWNER see and change general, escalation and widget settings; an AGENT gets 403.
- Team and billing: an ADMIN may look (members, usage); only an OWNER invites, changes roles,
  removes members, changes the plan, rotates the identity secret or deletes the store.

Each view parses a form → checks it with the REST API's serializer → calls the service the API
calls → renders. Service errors come back onto the form; nothing is saved then.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.models import UserRole
from apps.stores import selectors, services
from apps.stores.dashboard import dashboard_view
from apps.stores.forms import (
    DeleteStoreForm,
    EscalationForm,
    GeneralForm,
    InviteForm,
    PlanForm,
    RoleForm,
    add_errors,
)
from apps.stores.middleware import SESSION_STORE_KEY
from apps.stores.models import PLAN_LIMITS, PlanTier, StoreInvitation, StoreMembership, StoreSettings
from apps.stores.serializers import StoreSettingsSerializer, StoreUpdateSerializer
from convix.tenancy import store_scope

ADMIN = UserRole.ADMIN
OWNER = UserRole.OWNER


def store_settings_of(store) -> StoreSettings:
    return StoreSettings.objects.get_or_create(store=store)[0]


def save_settings(form, store, *, store_data: dict | None = None, settings_data: dict | None = None) -> bool:
    """Check ``store_data`` and ``settings_data`` with the API's serializers, then save both
    through the services in one transaction. Errors go onto ``form``; returns whether saved."""
    store_settings = store_settings_of(store)
    checks = []
    if store_data is not None:
        checks.append(StoreUpdateSerializer(store, data=store_data, partial=True))
    if settings_data is not None:
        checks.append(StoreSettingsSerializer(store_settings, data=settings_data, partial=True))
    for serializer in checks:
        if not serializer.is_valid():
            add_errors(form, serializer.errors)
    if form.errors:
        return False
    try:
        with transaction.atomic():
            if store_data is not None:
                services.store_update(store=store, **checks[0].validated_data)
            if settings_data is not None:
                services.store_settings_update(store=store, **checks[-1].validated_data)
    except ValidationError as error:
        store.refresh_from_db()
        add_errors(form, error)
        return False
    return True


def settings_page(request, template: str, context: dict, *, status: int = 200):
    return render(
        request, f"dashboard/settings/{template}", {"section": template[:-5], **context}, status=status
    )


# --- general ------------------------------------------------------------------------------------


@dashboard_view(minimum_role=ADMIN)
def general(request):
    store = request.store
    store_settings = store_settings_of(store)
    if request.method == "POST":
        form = GeneralForm(request.POST)
        if form.is_valid() and save_settings(
            form, store, store_data=form.store_data(store), settings_data=form.settings_data()
        ):
            messages.success(request, "Settings saved.")
            return redirect("dashboard-settings")
    else:
        form = GeneralForm(initial=GeneralForm.initial_for(store, store_settings))
    context = {"form": form, "delete_form": DeleteStoreForm(store=store)}
    return settings_page(request, "general.html", context, status=400 if form.errors else 200)


@require_POST
@dashboard_view(minimum_role=OWNER)
def identity_secret_rotate(request):
    services.store_identity_secret_rotate(store=request.store)
    messages.success(
        request,
        "A new identity secret is in place. Update your server: hashes made with the old one no longer verify.",
    )
    return redirect("dashboard-settings")


@require_POST
@dashboard_view(minimum_role=OWNER)
def store_delete(request):
    store = request.store
    form = DeleteStoreForm(request.POST, store=store)
    if not form.is_valid():
        context = {"form": GeneralForm(initial=GeneralForm.initial_for(store, store_settings_of(store)))}
        context["delete_form"] = form
        return settings_page(request, "general.html", context, status=400)
    name = store.name
    services.store_delete(store=store)
    request.session.pop(SESSION_STORE_KEY, None)
    messages.success(request, f"{name} and all its data were deleted.")
    return redirect("/dashboard")


# --- escalation ---------------------------------------------------------------------------------


@dashboard_view(minimum_role=ADMIN)
def escalation(request):
    store = request.store
    store_settings = store_settings_of(store)
    if request.method == "POST":
        form = EscalationForm(request.POST)
        if form.is_valid() and save_settings(form, store, settings_data=form.settings_data()):
            messages.success(request, "Escalation settings saved.")
            return redirect("dashboard-settings-escalation")
    else:
        form = EscalationForm(initial=EscalationForm.initial_for(store_settings))
    secrets_set = {name: bool(getattr(store_settings, name)) for name in EscalationForm.SECRET_FIELDS}
    context = {"form": form, "secrets_set": secrets_set}
    return settings_page(request, "escalation.html", context, status=400 if form.errors else 200)


# --- team ---------------------------------------------------------------------------------------


def team_context(request, *, invite_form=None) -> dict:
    store = request.store
    members = list(
        StoreMembership.objects.filter(store=store).select_related("user").order_by("-role", "user__email")
    )
    order = {OWNER: 0, ADMIN: 1, UserRole.AGENT: 2}
    members.sort(key=lambda m: (order[m.role], m.user.email))
    invitations = list(
        StoreInvitation.objects.filter(store=store, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )
    return {
        "members": members,
        "owner_count": sum(1 for m in members if m.role == OWNER),
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "roles": UserRole.choices,
        "seats_used": selectors.store_usage(store=store)["seats"],
        "seats_limit": store.limits.seats,
    }


@dashboard_view(minimum_role=ADMIN)
def team(request):
    return settings_page(request, "team.html", team_context(request))


@require_POST
@dashboard_view(minimum_role=OWNER)
def team_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = services.member_invite(
                store=request.store,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("dashboard-settings-team")
    return settings_page(request, "team.html", team_context(request, invite_form=form), status=400)


@require_POST
@dashboard_view(minimum_role=OWNER)
def team_invitation_revoke(request, invitation_id):
    invitation = get_object_or_404(StoreInvitation, store=request.store, pk=invitation_id)
    services.invitation_revoke(store=request.store, invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("dashboard-settings-team")


def _member(request, membership_id) -> StoreMembership:
    return get_object_or_404(
        StoreMembership.objects.select_related("user"), store=request.store, pk=membership_id
    )


@require_POST
@dashboard_view(minimum_role=OWNER)
def team_member_role(request, membership_id):
    membership = _member(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, admin or agent.")
        return redirect("dashboard-settings-team")
    try:
        services.member_role_set(store=request.store, membership=membership, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("dashboard-settings-team")


@require_POST
@dashboard_view(minimum_role=OWNER)
def team_member_remove(request, membership_id):
    membership = _member(request, membership_id)
    try:
        services.member_remove(store=request.store, membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard-settings-team")
    if membership.user_id == request.user.id:
        request.session.pop(SESSION_STORE_KEY, None)
        messages.success(request, f"You left {request.store.name}.")
        return redirect("/dashboard")
    messages.success(request, f"{membership.user.email} was removed from the store.")
    return redirect("dashboard-settings-team")


# --- billing ------------------------------------------------------------------------------------


def billing_context(request, *, plan_form=None) -> dict:
    store = request.store
    usage = selectors.store_usage(store=store)
    limits = store.limits
    rows = []
    for key, label in (
        ("monthly_conversations", "Conversations this month"),
        ("training_docs", "Training documents"),
        ("channels", "Channels"),
        ("seats", "Seats"),
    ):
        limit = getattr(limits, key)
        percent = min(100, round(usage[key] * 100 / limit)) if limit else 0
        level = "bad" if limit and usage[key] >= limit else "warn" if percent >= 80 else "ok"
        rows.append(
            {
                "label": label,
                "used": usage[key],
                "limit": limit,
                "used_text": f"{usage[key]:,}",
                "limit_text": f"{limit:,}" if limit else "unlimited",
                "percent": percent,
                "level": level,
            }
        )

    def amount(value, noun: str) -> str:
        return f"{value:,} {noun}" if value is not None else f"Unlimited {noun}"

    plans = [
        {
            "tier": tier,
            "label": label,
            "price": PLAN_LIMITS[tier].monthly_price_usd,
            "features": [
                amount(PLAN_LIMITS[tier].monthly_conversations, "conversations a month"),
                amount(PLAN_LIMITS[tier].channels, "channels"),
                amount(PLAN_LIMITS[tier].training_docs, "training documents"),
                amount(PLAN_LIMITS[tier].seats, "seats"),
            ],
            "is_current": tier == store.plan_tier,
        }
        for tier, label in PlanTier.choices
    ]
    return {
        "usage_rows": rows,
        "plans": plans,
        "plan_form": plan_form or PlanForm(initial={"plan_tier": store.plan_tier}),
    }


@dashboard_view(minimum_role=ADMIN)
def billing(request):
    return settings_page(request, "billing.html", billing_context(request))


@require_POST
@dashboard_view(minimum_role=OWNER)
def billing_plan(request):
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            services.store_plan_set(store=request.store, plan_tier=form.cleaned_data["plan_tier"])
        except ValidationError as error:
            request.store.refresh_from_db()
            add_errors(form, error)
        else:
            messages.success(request, f"You are now on the {request.store.get_plan_tier_display()} plan.")
            return redirect("dashboard-settings-billing")
    return settings_page(request, "billing.html", billing_context(request, plan_form=form), status=400)


# --- accepting an invitation (not under /dashboard: the invitee may have no store yet) --------


def invitation_accept(request, store_id, key):
    """The emailed link. Signed out: sign up or log in (and come back). Signed in with the
    invited email: accept (POST) and land on the store's dashboard."""
    invitation = selectors.invitation_for_key(store_id=store_id, key=key)
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    store = invitation.store
    problem = ""
    if request.method == "POST" and request.user.is_authenticated:
        try:
            with store_scope(store):
                services.invitation_accept(store=store, invitation=invitation, user=request.user)
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            request.session[SESSION_STORE_KEY] = str(store.id)
            messages.success(request, f"Welcome to {store.name}!")
            return redirect("/dashboard")
    if not problem:
        if invitation.accepted_at is not None:
            problem = "This invitation has already been used."
        elif invitation.revoked_at is not None:
            problem = "This invitation was withdrawn. Ask for a new one."
        elif invitation.is_expired:
            problem = "This invitation has expired. Ask for a new one."
    is_other_user = request.user.is_authenticated and request.user.email.strip().lower() != invitation.email
    context = {
        "invitation": invitation,
        "store": store,
        "problem": problem,
        "is_other_user": is_other_user,
        "next": request.get_full_path(),
    }
    if not problem:
        status = 200
    elif not invitation.is_open or invitation.is_expired:
        status = 410
    else:
        status = 403
    return render(request, "dashboard/settings/invitation.html", context, status=status)
