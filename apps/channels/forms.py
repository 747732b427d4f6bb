"""Dashboard channel forms: one field per setting of the channel's type (from
``services.CHANNEL_SPECS``), secrets write-only.

What is required, allowed and unique is decided by the REST API's serializer and the channel
services (``_check_config``), not here: their errors come back onto these fields.
"""

from __future__ import annotations

from django import forms

from apps.channels.models import ChannelType
from apps.channels.services import CHANNEL_SPECS

# Labels and help for each setting; a setting missing here is shown with its key.
CONFIG_FIELDS: dict[str, tuple[str, str]] = {
    "phone_number_id": ("Phone number ID", "From WhatsApp Manager → API setup."),
    "access_token": ("Access token", "A permanent system-user token."),
    "display_phone_number": ("Display phone number", "Shown to your team, e.g. +1 555 0100."),
    "business_account_id": ("WhatsApp Business account ID", ""),
    "phone_number": ("Twilio phone number", "In E.164 form, e.g. +15550100."),
    "account_sid": ("Account SID", "From the Twilio console."),
    "auth_token": ("Auth token", "From the Twilio console."),
    "account_id": ("Instagram account ID", "The professional account connected to your Facebook page."),
    "page_id": ("Facebook page ID", ""),
    "page_access_token": ("Page access token", ""),
    "inbound_address": (
        "Inbound address",
        "Where shoppers' emails arrive, e.g. support@inbound.example.com.",
    ),
    "provider": ("Email provider", "e.g. postmark, sendgrid, mailgun."),
    "from_address": ("Reply-from address", "The address replies are sent from."),
    "api_key": ("Provider API key", ""),
    "signing_key": ("Webhook signing key", ""),
    "team_id": ("Slack team ID", "Starts with T."),
    "bot_token": ("Bot token", "Starts with xoxb-."),
    "signing_secret": ("Signing secret", "From your Slack app's Basic information."),
    "channel_id": ("Slack channel ID", "Optional: where new conversations are posted."),
}

# Web widget settings live in the widget customizer (store settings), not in the channel.
HIDDEN_KEYS = {"allowed_domains"}

TYPE_BLURBS = {
    ChannelType.WEB_WIDGET: "A chat bubble on your storefront.",
    ChannelType.WHATSAPP: "WhatsApp Business Cloud API.",
    ChannelType.SMS: "Text messages through Twilio.",
    ChannelType.INSTAGRAM: "Instagram direct messages.",
    ChannelType.MESSENGER: "Facebook Messenger for your page.",
    ChannelType.EMAIL: "Answer your support inbox.",
    ChannelType.SLACK: "Chat with B2B customers in Slack Connect.",
}


def config_keys(type_: str) -> list[str]:
    spec = CHANNEL_SPECS[type_]
    keys = list(spec.required) + [key for key in spec.optional if key not in spec.required]
    return [key for key in keys if key not in HIDDEN_KEYS]


class ChannelForm(forms.Form):
    """Add (``channel`` None) or change a channel of ``type_``."""

    name = forms.CharField(
        label="Name", max_length=120, required=False, help_text="Your own label, e.g. “EU WhatsApp”."
    )

    def __init__(self, *args, type_: str, channel=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = type_
        self.channel = channel
        spec = CHANNEL_SPECS[type_]
        saved = (channel.config or {}) if channel else {}
        public = (channel.public_config or {}) if channel else {}
        if channel is not None:
            self.fields["is_active"] = forms.BooleanField(
                label="Active", required=False, help_text="Inactive channels neither receive nor send."
            )
            self.initial.setdefault("name", channel.name)
            self.initial.setdefault("is_active", channel.is_active)
        self.secret_keys = [key for key in config_keys(type_) if key in spec.secrets]
        for key in config_keys(type_):
            label, help_text = CONFIG_FIELDS.get(key, (key.replace("_", " ").capitalize(), ""))
            if key not in spec.required:
                label += " (optional)"
            if key in spec.secrets:
                field = forms.CharField(
                    label=label,
                    required=False,
                    max_length=2000,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                    help_text=(help_text + " Leave empty to keep the saved value.").strip()
                    if key in saved
                    else help_text,
                )
                field.is_set = bool(saved.get(key))
            else:
                field = forms.CharField(label=label, required=False, max_length=500, help_text=help_text)
                if isinstance(public.get(key), str):
                    self.initial.setdefault(f"config_{key}", public[key])
            field.is_secret = key in spec.secrets
            self.fields[f"config_{key}"] = field

    def config_fields(self):
        return [self[f"config_{key}"] for key in config_keys(self.type)]

    def config(self) -> dict:
        """The settings to send: for a new channel, what was filled in; for a change, filled-in
        values, ``None`` for a cleared optional setting, and secrets left empty left out (kept)."""
        values = {}
        for key in config_keys(self.type):
            value = (self.cleaned_data.get(f"config_{key}") or "").strip()
            if value:
                values[key] = value
            elif self.channel is not None and key not in self.secret_keys:
                values[key] = None if key not in CHANNEL_SPECS[self.type].required else ""
        return values

    def error_field_names(self) -> dict[str, str]:
        """Service and serializer error keys (``config.<key>``) → this form's field names."""
        return {f"config.{key}": f"config_{key}" for key in config_keys(self.type)}
