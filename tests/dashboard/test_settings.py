"""Settings pages: general, escalation, team (invitations), billing, store deletion.

Every page × role (owner, admin, agent, anonymous); every change from a lower role is refused
and changes nothing; secrets are never in the HTML; the invitation flow end to end with the
locmem email outbox.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from apps.accounts.models import User, UserRole
from apps.stores.models import PlanTier, Store, StoreInvitation, StoreMembership, StoreSettings
from convix.tenancy import unscoped
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/settings",
    "/dashboard/settings/escalation",
    "/dashboard/settings/team",
    "/dashboard/settings/billing",
]


def settings_of(store) -> StoreSettings:
    with unscoped("tests"):
        return StoreSettings.objects.get(store=store)


def memberships(store) -> dict[str, str]:
    with unscoped("tests"):
        return dict(StoreMembership.objects.filter(store=store).values_list("user__email", "role"))


def membership_of(store, user) -> StoreMembership:
    with unscoped("tests"):
        return StoreMembership.objects.get(store=store, user=user)


def general_data(store, **changes) -> dict:
    data = {
        "name": store.name,
        "domain": store.domain,
        "support_email": "help@store-a.example",
        "phone": "",
        "currency": "USD",
        "timezone": "Europe/Berlin",
        "brand_voice": "Warm and expert.",
        "language": "en",
        "forbidden_topics": "politics\ncompetitor prices",
        "address_line1": "1 Harbour Street",
        "address_city": "Hamburg",
        "address_country": "DE",
    }
    data.update(changes)
    return data


def escalation_data(**changes) -> dict:
    data = {
        "confidence_threshold": "80",
        "handoff_destination": "ZENDESK",
        "high_value_cart_threshold": "750.00",
        "timezone": "America/New_York",
        "mon_1_start": "08:00",
        "mon_1_end": "12:00",
        "mon_2_start": "13:00",
        "mon_2_end": "18:00",
        "fri_1_start": "09:00",
        "fri_1_end": "15:00",
        "zendesk_subdomain": "acme",
        "zendesk_email": "agent@acme.example",
        "zendesk_api_token": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def growth_store(store):
    """Store A on the Growth plan (5 seats), so invitations have room."""
    Store.objects.filter(pk=store.pk).update(plan_tier=PlanTier.GROWTH)
    store.refresh_from_db()
    return store


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_log_in(client, store, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={url}"


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(
    ("persona", "status"), [("owner_client", 200), ("admin_client_", 200), ("agent_client", 403)]
)
def test_settings_pages_by_role(request, url, persona, status):
    response = request.getfixturevalue(persona).get(url)
    assert response.status_code == status


def test_member_of_another_store_sees_their_own_settings(other_owner_client, store, other_store):
    response = other_owner_client.get("/dashboard/settings")
    assert response.status_code == 200
    assert response.context["store"] == other_store
    assert b"Store A" not in response.content


# --- general ------------------------------------------------------------------------------------


def test_admin_saves_general_settings(admin_client_, store):
    response = admin_client_.post("/dashboard/settings", general_data(store, name="Store A Outfitters"))
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name == "Store A Outfitters"
    assert store.timezone == "Europe/Berlin"
    assert store.support_email == "help@store-a.example"
    assert store.address == {"line1": "1 Harbour Street", "city": "Hamburg", "country": "DE"}
    store_settings = settings_of(store)
    assert store_settings.brand_voice == "Warm and expert."
    assert store_settings.forbidden_topics == ["politics", "competitor prices"]
    page = admin_client_.get("/dashboard/settings")
    assert b"Settings saved." in page.content
    assert b"Store A Outfitters" in page.content


def test_general_settings_errors_are_shown_and_nothing_is_saved(owner_client, store):
    response = owner_client.post(
        "/dashboard/settings",
        general_data(store, name="", support_email="not-an-email", timezone="Mars/Olympus", brand_voice="x"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["name"] == ["This field is required."]
    assert form.errors["support_email"] == ["Enter a valid email address."]
    assert "timezone" in form.errors
    assert b"This field is required." in response.content
    store.refresh_from_db()
    assert store.name == "Store A"
    assert settings_of(store).brand_voice != "x"


def test_serializer_rules_apply_to_the_form(owner_client, store):
    """The API's serializer checks the parsed form (e.g. a currency of three letters)."""
    response = owner_client.post("/dashboard/settings", general_data(store, currency="US"))
    assert response.status_code == 400
    assert response.context["form"].errors["currency"]
    store.refresh_from_db()
    assert store.currency == "USD"


def test_agent_cannot_change_general_settings(agent_client, store):
    response = agent_client.post("/dashboard/settings", general_data(store, name="Hijacked"))
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.name == "Store A"


def test_csrf_is_enforced(owner, store):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/dashboard/settings", general_data(store, name="No token"))
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.name == "Store A"
    # With the token from the page, the same post goes through.
    page = client.get("/dashboard/settings")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(
        "/dashboard/settings", {**general_data(store, name="With token"), "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name == "With token"


def test_user_supplied_text_is_escaped(owner_client, store):
    owner_client.post("/dashboard/settings", general_data(store, brand_voice="<script>alert(1)</script>"))
    page = owner_client.get("/dashboard/settings")
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


# --- identity secret ----------------------------------------------------------------------------


def test_owner_sees_and_rotates_the_identity_secret(owner_client, store):
    old = store.identity_secret
    assert old.encode() in owner_client.get("/dashboard/settings").content
    response = owner_client.post("/dashboard/settings/identity-secret")
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.identity_secret != old
    assert len(store.identity_secret) == 64


@pytest.mark.parametrize("persona", ["admin_client_", "agent_client"])
def test_only_the_owner_sees_or_rotates_the_identity_secret(request, store, persona):
    client = request.getfixturevalue(persona)
    old = store.identity_secret
    page = client.get("/dashboard/settings")
    assert old.encode() not in page.content
    assert client.post("/dashboard/settings/identity-secret").status_code == 403
    store.refresh_from_db()
    assert store.identity_secret == old


# --- store deletion -----------------------------------------------------------------------------


def test_deleting_the_store_needs_its_name(owner_client, store):
    response = owner_client.post("/dashboard/settings/delete", {"confirm_name": "store a"})
    assert response.status_code == 400
    assert b"nothing was deleted" in response.content
    assert Store.objects.filter(pk=store.pk).exists()


def test_owner_deletes_the_store(owner_client, store):
    response = owner_client.post("/dashboard/settings/delete", {"confirm_name": "Store A"})
    assert response.status_code == 302
    assert not Store.objects.filter(pk=store.pk).exists()
    # With no store left, the dashboard sends the owner to connect one.
    assert owner_client.get("/dashboard")["Location"] == "/onboarding/connect-store"


@pytest.mark.parametrize("persona", ["admin_client_", "agent_client"])
def test_only_the_owner_deletes_the_store(request, store, persona):
    client = request.getfixturevalue(persona)
    assert client.post("/dashboard/settings/delete", {"confirm_name": "Store A"}).status_code == 403
    assert Store.objects.filter(pk=store.pk).exists()
    assert b"Danger zone" not in client.get("/dashboard/settings").content


# --- escalation ---------------------------------------------------------------------------------


def test_admin_saves_escalation_settings(admin_client_, store):
    response = admin_client_.post(
        "/dashboard/settings/escalation", escalation_data(zendesk_api_token="zd-secret-token-123")
    )
    assert response.status_code == 302
    store_settings = settings_of(store)
    assert store_settings.confidence_threshold == 0.8
    assert store_settings.handoff_destination == "ZENDESK"
    assert store_settings.high_value_cart_threshold == Decimal("750.00")
    assert store_settings.timezone == "America/New_York"
    assert store_settings.business_hours == {
        "mon": [["08:00", "12:00"], ["13:00", "18:00"]],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [["09:00", "15:00"]],
        "sat": [],
        "sun": [],
    }
    assert store_settings.zendesk_api_token == "zd-secret-token-123"
    page = admin_client_.get("/dashboard/settings/escalation")
    assert b"zd-secret-token-123" not in page.content
    assert b'<span class="badge ok">set</span>' in page.content
    assert b'value="08:00"' in page.content


def test_an_empty_secret_keeps_the_saved_one_and_clear_removes_it(owner_client, store):
    owner_client.post("/dashboard/settings/escalation", escalation_data(gorgias_api_key="gg-key-1"))
    owner_client.post("/dashboard/settings/escalation", escalation_data(gorgias_api_key=""))
    assert settings_of(store).gorgias_api_key == "gg-key-1"
    owner_client.post(
        "/dashboard/settings/escalation", {**escalation_data(), "clear_secrets": ["gorgias_api_key"]}
    )
    assert not settings_of(store).gorgias_api_key


def test_escalation_errors_are_shown_and_nothing_is_saved(owner_client, store):
    before = settings_of(store)
    response = owner_client.post(
        "/dashboard/settings/escalation",
        escalation_data(
            confidence_threshold="150", mon_1_start="18:00", mon_1_end="09:00", tue_1_start="09:00"
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["confidence_threshold"] == ["Ensure this value is less than or equal to 100."]
    assert errors["mon_1_start"] == ["Monday: the closing time must be after the opening time."]
    assert errors["tue_1_start"] == ["Tuesday: give both the opening and the closing time."]
    assert b"the closing time must be after the opening time" in response.content
    after = settings_of(store)
    assert after.confidence_threshold == before.confidence_threshold
    assert after.business_hours == before.business_hours


def test_agent_cannot_change_escalation(agent_client, store):
    before = settings_of(store).confidence_threshold
    response = agent_client.post("/dashboard/settings/escalation", escalation_data(zendesk_api_token="t"))
    assert response.status_code == 403
    store_settings = settings_of(store)
    assert store_settings.confidence_threshold == before
    assert not store_settings.zendesk_api_token


# --- team ---------------------------------------------------------------------------------------


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Post the invite form; the email goes out on commit, as in production."""

    def post(client, email, role="ADMIN"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/dashboard/settings/team/invite", {"email": email, "role": role})

    return post


def link_path() -> str:
    body = mail.outbox[-1].body
    return urlsplit(re.search(r"https?://\S+/invitations/\S+", body).group(0)).path


def test_team_page_lists_members_with_roles(owner_client, admin_user, agent):
    page = owner_client.get("/dashboard/settings/team")
    html = page.content.decode()
    assert (
        "owner@store-a.example" in html
        and "admin@store-a.example" in html
        and "agent@store-a.example" in html
    )
    assert "Last owner" in html  # the only owner cannot be removed
    assert "Send invitation" in html


def test_admin_sees_the_team_but_cannot_change_it(admin_client_, growth_store, agent, invite):
    page = admin_client_.get("/dashboard/settings/team")
    assert page.status_code == 200
    assert b"Only owners can invite people" in page.content
    assert invite(admin_client_, "new@example.com").status_code == 403
    agent_membership = membership_of(growth_store, agent)
    url = f"/dashboard/settings/team/members/{agent_membership.pk}"
    assert admin_client_.post(f"{url}/role", {"role": "ADMIN"}).status_code == 403
    assert admin_client_.post(f"{url}/remove").status_code == 403
    assert len(mail.outbox) == 0
    with unscoped("tests"):
        assert not StoreInvitation.objects.exists()
    assert memberships(growth_store)["agent@store-a.example"] == UserRole.AGENT


def test_invitation_for_a_new_user_end_to_end(owner_client, growth_store, invite):
    response = invite(owner_client, "New.Hire@Example.com", "ADMIN")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.hire@example.com"]
    assert "Store A" in message.subject
    path = link_path()
    with unscoped("tests"):
        invitation = StoreInvitation.objects.get(store=growth_store)
    assert path.split("/")[-1] not in invitation.key_hash  # only the hash is stored
    assert b"new.hire@example.com" in owner_client.get("/dashboard/settings/team").content

    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    assert b"Create an account" in page.content
    signup = visitor.post(
        f"/accounts/signup/?next={path}",
        {
            "email": "new.hire@example.com",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
        },
    )
    assert signup.status_code == 302
    assert signup["Location"] == path
    accepted = visitor.post(path)
    assert accepted.status_code == 302
    assert accepted["Location"] == "/dashboard"
    assert memberships(growth_store)["new.hire@example.com"] == UserRole.ADMIN
    assert visitor.get("/dashboard/channels").status_code == 200  # an admin of Store A now

    # The link works once.
    again = visitor.post(path)
    assert again.status_code == 410
    assert b"already been used" in again.content


def test_invitation_for_an_existing_user(owner_client, growth_store, outsider, invite):
    invite(owner_client, outsider.email, "AGENT")
    path = link_path()
    visitor = Client()
    assert b"Log in" in visitor.get(path).content
    visitor.force_login(outsider)
    page = visitor.get(path)
    assert b"Accept and open the dashboard" in page.content
    assert visitor.post(path).status_code == 302
    assert memberships(growth_store)[outsider.email] == UserRole.AGENT
    assert visitor.get("/dashboard").context["store"] == growth_store


def test_an_invitation_for_someone_else_is_refused(owner_client, growth_store, outsider, invite):
    invite(owner_client, "someone.else@example.com", "ADMIN")
    path = link_path()
    visitor = Client()
    visitor.force_login(outsider)
    response = visitor.post(path)
    assert response.status_code == 403
    assert b"This invitation was sent to someone.else@example.com" in response.content
    assert outsider.email not in memberships(growth_store)


def test_a_link_with_another_store_or_key_is_not_found(
    owner_client, growth_store, other_store, outsider, invite
):
    invite(owner_client, outsider.email)
    path = link_path()
    key = path.split("/")[-1]
    visitor = Client()
    visitor.force_login(outsider)
    assert visitor.post(f"/invitations/{other_store.id}/{key}").status_code == 404
    assert visitor.post(f"/invitations/{growth_store.id}/not-the-key").status_code == 404
    assert outsider.email not in memberships(growth_store)
    assert outsider.email not in memberships(other_store)


def test_a_withdrawn_invitation_is_refused(owner_client, growth_store, outsider, invite):
    invite(owner_client, outsider.email)
    path = link_path()
    with unscoped("tests"):
        invitation = StoreInvitation.objects.get(store=growth_store)
    assert (
        owner_client.post(f"/dashboard/settings/team/invitations/{invitation.pk}/revoke").status_code == 302
    )
    visitor = Client()
    visitor.force_login(outsider)
    response = visitor.post(path)
    assert response.status_code == 410
    assert b"withdrawn" in response.content
    assert outsider.email not in memberships(growth_store)


def test_a_new_invitation_replaces_the_open_one(owner_client, growth_store, outsider, invite):
    invite(owner_client, outsider.email, "AGENT")
    first = link_path()
    invite(owner_client, outsider.email, "ADMIN")
    second = link_path()
    visitor = Client()
    visitor.force_login(outsider)
    assert visitor.post(first).status_code == 410
    assert visitor.post(second).status_code == 302
    assert memberships(growth_store)[outsider.email] == UserRole.ADMIN


def test_invite_errors_are_shown(owner_client, growth_store, agent, invite):
    response = invite(owner_client, agent.email)
    assert response.status_code == 400
    assert b"is already a member of this store" in response.content
    response = invite(owner_client, "not-an-email")
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert len(mail.outbox) == 0


def test_invitations_respect_the_plans_seats(owner_client, store, agent, invite):
    """Starter has 2 seats: the owner and the agent take them."""
    response = invite(owner_client, "third@example.com")
    assert response.status_code == 400
    assert b"Your plan allows 2 seats" in response.content
    assert len(mail.outbox) == 0


def test_owner_changes_a_role_and_removes_a_member(owner_client, growth_store, agent, admin_user):
    agent_membership = membership_of(growth_store, agent)
    response = owner_client.post(
        f"/dashboard/settings/team/members/{agent_membership.pk}/role", {"role": "ADMIN"}
    )
    assert response.status_code == 302
    assert memberships(growth_store)[agent.email] == UserRole.ADMIN
    admin_membership = membership_of(growth_store, admin_user)
    assert (
        owner_client.post(f"/dashboard/settings/team/members/{admin_membership.pk}/remove").status_code == 302
    )
    assert admin_user.email not in memberships(growth_store)


def test_the_last_owner_cannot_be_demoted_or_removed(owner_client, owner, growth_store):
    own = membership_of(growth_store, owner)
    response = owner_client.post(
        f"/dashboard/settings/team/members/{own.pk}/role", {"role": "ADMIN"}, follow=True
    )
    assert b"A store needs at least one owner" in response.content
    response = owner_client.post(f"/dashboard/settings/team/members/{own.pk}/remove", follow=True)
    assert b"A store needs at least one owner" in response.content
    assert memberships(growth_store)[owner.email] == UserRole.OWNER


def test_with_two_owners_one_may_step_down(owner_client, owner, growth_store):
    second = UserFactory(email="co-owner@store-a.example")
    with unscoped("tests"):
        MembershipFactory(store=growth_store, user=second, role=UserRole.OWNER)
    own = membership_of(growth_store, owner)
    assert (
        owner_client.post(f"/dashboard/settings/team/members/{own.pk}/role", {"role": "ADMIN"}).status_code
        == 302
    )
    assert memberships(growth_store)[owner.email] == UserRole.ADMIN
    growth_store.refresh_from_db()
    assert growth_store.owner == second  # the store's owner is always an OWNER member
    # Now an admin: team changes are refused.
    assert (
        owner_client.post(f"/dashboard/settings/team/members/{own.pk}/role", {"role": "OWNER"}).status_code
        == 403
    )


def test_members_of_another_store_are_not_found(owner_client, growth_store, other_store, other_owner):
    foreign = membership_of(other_store, other_owner)
    url = f"/dashboard/settings/team/members/{foreign.pk}"
    assert owner_client.post(f"{url}/role", {"role": "AGENT"}).status_code == 404
    assert owner_client.post(f"{url}/remove").status_code == 404
    assert memberships(other_store)[other_owner.email] == UserRole.OWNER


def test_agent_cannot_touch_the_team(agent_client, growth_store, owner, invite):
    own = membership_of(growth_store, owner)
    assert agent_client.get("/dashboard/settings/team").status_code == 403
    assert invite(agent_client, "x@example.com").status_code == 403
    assert agent_client.post(f"/dashboard/settings/team/members/{own.pk}/remove").status_code == 403
    assert memberships(growth_store)[owner.email] == UserRole.OWNER
    assert len(mail.outbox) == 0


# --- billing ------------------------------------------------------------------------------------


def test_billing_shows_usage_against_limits(admin_client_, store, agent):
    with unscoped("tests"):
        ChannelFactory(store=store)
    page = admin_client_.get("/dashboard/settings/billing")
    assert page.status_code == 200
    rows = {row["label"]: (row["used"], row["limit"]) for row in page.context["usage_rows"]}
    assert rows["Channels"] == (1, 2)
    assert rows["Seats"] == (3, 2)  # owner, agent, admin
    assert rows["Conversations this month"] == (0, 500)
    assert b"Only owners can change the plan." in page.content


def test_owner_changes_the_plan(owner_client, store):
    response = owner_client.post("/dashboard/settings/billing/plan", {"plan_tier": "PRO"})
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.plan_tier == PlanTier.PRO


def test_a_plan_below_current_usage_is_refused(owner_client, store):
    Store.objects.filter(pk=store.pk).update(plan_tier=PlanTier.GROWTH)
    with unscoped("tests"):
        for _ in range(3):
            ChannelFactory(store=store)
    response = owner_client.post("/dashboard/settings/billing/plan", {"plan_tier": "STARTER"})
    assert response.status_code == 400
    assert b"you have 3 channels and Starter allows 2" in response.content
    store.refresh_from_db()
    assert store.plan_tier == PlanTier.GROWTH


@pytest.mark.parametrize("persona", ["admin_client_", "agent_client"])
def test_only_the_owner_changes_the_plan(request, store, persona):
    client = request.getfixturevalue(persona)
    assert client.post("/dashboard/settings/billing/plan", {"plan_tier": "ENTERPRISE"}).status_code == 403
    store.refresh_from_db()
    assert store.plan_tier == PlanTier.STARTER


def test_new_users_have_no_store_access_until_they_accept(growth_store, owner_client, invite):
    invite(owner_client, "later@example.com")
    user = User.objects.create_user(email="later@example.com", password="a-long-Passphrase-42")
    client = Client()
    client.force_login(user)
    assert client.get("/dashboard/settings").status_code == 302  # no store yet: onboarding
