"""Channel pages and the widget customizer: every page × role, validation shown, secrets never
in the HTML, another store's channel is a 404 and nothing changes."""

from __future__ import annotations

import pytest

from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.stores.models import PlanTier, Store, StoreSettings
from convix.tenancy import unscoped
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

TOKEN = "EAAG-very-secret-access-token"


def channels_of(store) -> list[Channel]:
    with unscoped("tests"):
        return list(Channel.objects.filter(store=store))


def fresh(channel) -> Channel:
    with unscoped("tests"):
        return Channel.objects.get(pk=channel.pk)


def settings_of(store) -> StoreSettings:
    with unscoped("tests"):
        return StoreSettings.objects.get(store=store)


@pytest.fixture
def whatsapp(store):
    with unscoped("tests"):
        return ChannelFactory(
            store=store,
            type=ChannelType.WHATSAPP,
            name="Main WhatsApp",
            routing_key="1055501",
            config={"phone_number_id": "1055501", "access_token": TOKEN},
            public_config={"phone_number_id": "1055501"},
        )


@pytest.fixture
def foreign_channel(other_store):
    with unscoped("tests"):
        return ChannelFactory(
            store=other_store,
            type=ChannelType.SMS,
            name="B's SMS",
            routing_key="+15550199",
            config={"phone_number": "+15550199", "account_sid": "AC1", "auth_token": "b-secret"},
            public_config={"phone_number": "+15550199", "account_sid": "AC1"},
        )


@pytest.fixture
def web_widget(store):
    with unscoped("tests"):
        return ChannelFactory(store=store, type=ChannelType.WEB_WIDGET, routing_key="", config={})


def page_urls(channel) -> list[str]:
    return [
        "/dashboard/channels",
        "/dashboard/channels/new?type=WHATSAPP",
        f"/dashboard/channels/{channel.id}",
        f"/dashboard/channels/{channel.id}/delete",
        "/dashboard/widget",
    ]


# --- access -------------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(client, whatsapp):
    for url in page_urls(whatsapp):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login?next=/dashboard/"), url


@pytest.mark.parametrize(
    ("persona", "status"), [("owner_client", 200), ("admin_client_", 200), ("agent_client", 403)]
)
def test_channel_pages_by_role(request, whatsapp, persona, status):
    client = request.getfixturevalue(persona)
    for url in page_urls(whatsapp):
        assert client.get(url).status_code == status, url


def test_agent_changes_nothing(agent_client, store, whatsapp):
    base = f"/dashboard/channels/{whatsapp.id}"
    assert agent_client.post("/dashboard/channels/new", {"type": "SMS"}).status_code == 403
    assert agent_client.post(base, {"name": "x", "config_phone_number_id": "999"}).status_code == 403
    assert agent_client.post(f"{base}/test").status_code == 403
    assert agent_client.post(f"{base}/delete").status_code == 403
    assert agent_client.post("/dashboard/widget", {"primary_color": "#000000"}).status_code == 403
    assert agent_client.post("/dashboard/widget/enable").status_code == 403
    after = fresh(whatsapp)
    assert (after.name, after.config, after.status, after.last_tested_at) == (
        "Main WhatsApp",
        whatsapp.config,
        ChannelStatus.PENDING,
        None,
    )
    assert len(channels_of(store)) == 1
    assert settings_of(store).primary_color == "#2563eb"


def test_another_stores_channel_is_not_found_and_unchanged(owner_client, foreign_channel):
    base = f"/dashboard/channels/{foreign_channel.id}"
    assert owner_client.get(base).status_code == 404
    assert owner_client.post(base, {"name": "Taken", "config_phone_number": "+1"}).status_code == 404
    assert owner_client.post(f"{base}/test").status_code == 404
    assert owner_client.get(f"{base}/delete").status_code == 404
    assert owner_client.post(f"{base}/delete").status_code == 404
    after = fresh(foreign_channel)
    assert after.name == "B's SMS"
    assert after.config == foreign_channel.config
    assert after.last_tested_at is None


def test_a_malformed_channel_id_is_not_found(owner_client):
    assert owner_client.get("/dashboard/channels/not-a-uuid").status_code == 404


# --- list and add -------------------------------------------------------------------------------


def test_list_shows_type_status_and_last_test(admin_client_, whatsapp, other_store, foreign_channel):
    html = admin_client_.get("/dashboard/channels").content.decode()
    assert "Main WhatsApp" in html
    assert "Not tested yet" in html
    assert "never" in html
    assert "B&#x27;s SMS" not in html and "B's SMS" not in html
    assert TOKEN not in html


def test_empty_state(owner_client, store):
    html = owner_client.get("/dashboard/channels").content.decode()
    assert "No channels yet." in html
    for label in ChannelType.labels:
        assert label in html


def test_admin_adds_a_channel(admin_client_, store):
    response = admin_client_.post(
        "/dashboard/channels/new",
        {
            "type": "WHATSAPP",
            "name": "EU WhatsApp",
            "config_phone_number_id": "2044",
            "config_access_token": TOKEN,
            "config_display_phone_number": "+49 40 1234",
        },
    )
    assert response.status_code == 302
    (channel,) = channels_of(store)
    assert response["Location"] == f"/dashboard/channels/{channel.id}"
    assert channel.config == {
        "phone_number_id": "2044",
        "access_token": TOKEN,
        "display_phone_number": "+49 40 1234",
    }
    assert channel.routing_key == "2044"
    page = admin_client_.get(response["Location"])
    assert TOKEN.encode() not in page.content
    assert b'<span class="badge ok">set</span>' in page.content
    assert b"+49 40 1234" in page.content


def test_adding_shows_the_services_errors_and_saves_nothing(owner_client, store):
    response = owner_client.post("/dashboard/channels/new", {"type": "SMS", "config_phone_number": "+1555"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["config_account_sid"] == ["This setting is required."]
    assert errors["config_auth_token"] == ["This setting is required."]
    assert b"This setting is required." in response.content
    assert channels_of(store) == []


def test_an_unknown_type_goes_back_to_the_list(owner_client, store):
    response = owner_client.post("/dashboard/channels/new", {"type": "PIGEON"})
    assert response.status_code == 302
    assert channels_of(store) == []


def test_an_account_taken_by_another_store_is_refused(owner_client, store, foreign_channel):
    response = owner_client.post(
        "/dashboard/channels/new",
        {
            "type": "SMS",
            "config_phone_number": "+15550199",
            "config_account_sid": "AC2",
            "config_auth_token": "mine",
        },
    )
    assert response.status_code == 400
    assert b"Another channel already uses this account" in response.content
    assert channels_of(store) == []
    assert fresh(foreign_channel).config["auth_token"] == "b-secret"


def test_the_plan_limits_channels(owner_client, store, whatsapp, web_widget):
    """Starter allows 2 channels."""
    page = owner_client.get("/dashboard/channels")
    assert b"Your plan allows 2 channels" in page.content
    response = owner_client.post(
        "/dashboard/channels/new", {"type": "SLACK", "config_team_id": "T1", "config_bot_token": "xoxb-1"}
    )
    assert response.status_code == 400
    assert b"Your plan allows 2 channels" in response.content
    assert len(channels_of(store)) == 2


def test_one_web_widget_per_store(owner_client, store, web_widget):
    Store.objects.filter(pk=store.pk).update(plan_tier=PlanTier.PRO)
    response = owner_client.post("/dashboard/channels/new", {"type": "WEB_WIDGET"})
    assert response.status_code == 400
    assert b"The store already has a web widget channel." in response.content
    assert len(channels_of(store)) == 1


# --- setup, test, remove ------------------------------------------------------------------------


def test_leaving_a_secret_empty_keeps_it(admin_client_, whatsapp):
    response = admin_client_.post(
        f"/dashboard/channels/{whatsapp.id}",
        {
            "name": "Renamed",
            "is_active": "on",
            "config_phone_number_id": "1055502",
            "config_access_token": "",
        },
    )
    assert response.status_code == 302
    after = fresh(whatsapp)
    assert after.name == "Renamed"
    assert after.config == {"phone_number_id": "1055502", "access_token": TOKEN}
    assert after.routing_key == "1055502"
    assert after.is_active is True


def test_a_new_secret_replaces_the_old_and_is_never_shown(owner_client, whatsapp):
    owner_client.post(
        f"/dashboard/channels/{whatsapp.id}",
        {
            "name": "Main WhatsApp",
            "is_active": "on",
            "config_phone_number_id": "1055501",
            "config_access_token": "new-token-xyz",
        },
    )
    assert fresh(whatsapp).config["access_token"] == "new-token-xyz"
    html = owner_client.get(f"/dashboard/channels/{whatsapp.id}").content
    assert b"new-token-xyz" not in html and TOKEN.encode() not in html


def test_clearing_a_required_setting_is_refused(owner_client, whatsapp):
    response = owner_client.post(
        f"/dashboard/channels/{whatsapp.id}",
        {
            "name": "Main WhatsApp",
            "is_active": "on",
            "config_phone_number_id": "",
            "config_access_token": "leak-me-not",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["config_phone_number_id"] == ["This setting is required."]
    assert b"leak-me-not" not in response.content  # a secret is not echoed back, even on error
    assert fresh(whatsapp).config == whatsapp.config


def test_deactivating_a_channel(owner_client, whatsapp):
    owner_client.post(
        f"/dashboard/channels/{whatsapp.id}", {"name": "Main WhatsApp", "config_phone_number_id": "1055501"}
    )
    assert fresh(whatsapp).is_active is False


def test_test_connection_records_the_result(owner_client, whatsapp):
    response = owner_client.post(f"/dashboard/channels/{whatsapp.id}/test")
    assert response.status_code == 302
    after = fresh(whatsapp)
    assert after.status == ChannelStatus.CONNECTED
    assert after.last_tested_at is not None
    assert b"Connection works." in owner_client.get(response["Location"]).content


def test_test_connection_over_htmx_returns_the_status(owner_client, whatsapp):
    with unscoped("tests"):
        Channel.objects.filter(pk=whatsapp.pk).update(config={"phone_number_id": "1055501"})
    response = owner_client.post(f"/dashboard/channels/{whatsapp.id}/test", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="channel-status"' in html
    assert "Error" in html
    assert "config.access_token: This setting is required." in html
    assert fresh(whatsapp).status == ChannelStatus.ERROR


def test_removing_a_channel_asks_first(admin_client_, store, whatsapp):
    page = admin_client_.get(f"/dashboard/channels/{whatsapp.id}/delete")
    assert b"Remove this channel?" in page.content
    assert len(channels_of(store)) == 1
    response = admin_client_.post(f"/dashboard/channels/{whatsapp.id}/delete")
    assert response.status_code == 302
    assert channels_of(store) == []


def test_web_widget_setup_shows_the_embed_snippet(owner_client, store, web_widget):
    html = owner_client.get(f"/dashboard/channels/{web_widget.id}").content.decode()
    assert f"data-store=&quot;{store.id}&quot;" in html  # the snippet, escaped as text
    assert "/widget.js" in html


# --- widget customizer --------------------------------------------------------------------------


def widget_data(**changes) -> dict:
    data = {
        "primary_color": "#0f766e",
        "position": "left",
        "launcher_text": "Ask us anything",
        "greeting": "Hello from Store A!",
        "avatar_url": "https://cdn.example.com/avatar.png",
        "after_hours_message": "We are closed; we'll email you.",
        "allowed_domains": "Shop.Store-A.example\n*.store-a.example",
    }
    data.update(changes)
    return data


def test_widget_customizer_shows_the_real_frame_and_snippet(admin_client_, store, web_widget):
    html = admin_client_.get("/dashboard/widget").content.decode()
    assert f'src="/widget/frame/{store.id}#origin=' in html
    assert f"data-store=&quot;{store.id}&quot;" in html  # the snippet, escaped as text
    assert 'value="#2563eb"' in html


def test_widget_customizer_without_a_widget_channel_offers_to_turn_it_on(owner_client, store):
    html = owner_client.get("/dashboard/widget").content.decode()
    assert "Turn on the web widget" in html
    assert "widget-preview" not in html
    assert owner_client.post("/dashboard/widget/enable").status_code == 302
    (channel,) = channels_of(store)
    assert channel.type == ChannelType.WEB_WIDGET and channel.is_active


def test_saved_widget_settings_reach_the_public_widget_config(admin_client_, client, store, web_widget):
    response = admin_client_.post("/dashboard/widget", widget_data())
    assert response.status_code == 302
    store_settings = settings_of(store)
    assert store_settings.primary_color == "#0f766e"
    assert store_settings.allowed_domains == ["shop.store-a.example", "*.store-a.example"]
    config = client.get(f"/v1/widget/{store.id}/config").json()
    assert config["primary_color"] == "#0f766e"
    assert config["position"] == "left"
    assert config["launcher_text"] == "Ask us anything"
    assert config["greeting"] == "Hello from Store A!"
    assert config["avatar_url"] == "https://cdn.example.com/avatar.png"
    assert "shop.store-a.example" in config["allowed_origins"]


def test_widget_errors_are_shown_and_nothing_is_saved(owner_client, store, web_widget):
    response = owner_client.post(
        "/dashboard/widget", widget_data(primary_color="red", avatar_url="javascript:x")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["primary_color"] == ["This value does not match the required pattern."]
    assert errors["avatar_url"] == ["Enter a valid URL."]
    assert b"Enter a valid URL." in response.content
    response = owner_client.post("/dashboard/widget", widget_data(launcher_text=""))
    assert response.status_code == 400
    assert response.context["form"].errors["launcher_text"] == ["This field is required."]
    store_settings = settings_of(store)
    assert store_settings.primary_color == "#2563eb"
    assert store_settings.launcher_text == "Chat with us"
    assert store_settings.avatar_url == ""
