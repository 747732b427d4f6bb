"""Dashboard settings forms: they parse what the HTML form sends into the values the REST API
takes, and show errors next to their fields.

The rules themselves are not repeated here: a parsed form is checked by the REST API's
serializer (``StoreUpdateSerializer``, ``StoreSettingsSerializer``) and then saved by the same
service the API calls; errors from either come back onto the form (:func:`add_errors`).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.accounts.models import UserRole
from apps.stores.models import HandoffDestination, PlanTier
from apps.stores.serializers import TIMEZONES

DAYS = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
]
INTERVALS_PER_DAY = 2
TIMEZONE_CHOICES = [(name, name) for name in TIMEZONES]
ADDRESS_FIELDS = [
    ("line1", "Street address"),
    ("line2", "Apartment, suite (optional)"),
    ("city", "City"),
    ("region", "State or region"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
]


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {text}" for key, value in messages.items() for text in _flatten(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in _flatten(value)]
    return [str(messages)]


def add_errors(form: forms.Form, errors, field_names: dict[str, str] | None = None) -> None:
    """Put a serializer's or a service's errors on ``form``: on the field of the same name (or
    the one ``field_names`` maps it to), otherwise at the top of the form."""
    if isinstance(errors, ValidationError):
        errors = errors.message_dict if hasattr(errors, "error_dict") else {None: errors.messages}
    field_names = field_names or {}
    for key, messages in errors.items():
        name = field_names.get(key, key)
        texts = _flatten(messages)
        if name in form.fields:
            for text in texts:
                form.add_error(name, text)
        else:
            label = "" if key in (None, "non_field_errors", "__all__") else f"{key}: "
            for text in texts:
                form.add_error(None, f"{label}{text}")


def lines(text: str) -> list[str]:
    """One entry per line (commas also separate), blanks dropped, order kept, duplicates once."""
    entries = []
    for line in (text or "").replace(",", "\n").splitlines():
        line = line.strip()
        if line and line not in entries:
            entries.append(line)
    return entries


class SecretField(forms.CharField):
    """A write-only secret: rendered empty; left empty, the saved value is kept."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("strip", True)
        kwargs.setdefault("widget", forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
        super().__init__(**kwargs)


class GeneralForm(forms.Form):
    name = forms.CharField(label="Store name", max_length=200)
    domain = forms.CharField(
        label="Store domain",
        max_length=253,
        required=False,
        help_text="Where your storefront lives, e.g. shop.example.com. The widget is allowed there.",
    )
    support_email = forms.EmailField(label="Support email", required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    currency = forms.CharField(label="Currency", max_length=3, min_length=3, help_text="ISO code, e.g. USD.")
    timezone = forms.ChoiceField(label="Store time zone", choices=TIMEZONE_CHOICES)
    brand_voice = forms.CharField(
        label="Brand voice",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="How the assistant sounds, e.g. “Warm, expert, a little playful. No emojis.”",
    )
    language = forms.CharField(label="Language", max_length=10, help_text="e.g. en, de, fr.")
    forbidden_topics = forms.CharField(
        label="Forbidden topics",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line. The assistant politely declines these and offers a person instead.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in ADDRESS_FIELDS:
            self.fields[f"address_{key}"] = forms.CharField(label=label, max_length=200, required=False)

    @classmethod
    def initial_for(cls, store, store_settings) -> dict:
        initial = {
            "name": store.name,
            "domain": store.domain,
            "support_email": store.support_email,
            "phone": store.phone,
            "currency": store.currency,
            "timezone": store.timezone,
            "brand_voice": store_settings.brand_voice,
            "language": store_settings.language,
            "forbidden_topics": "\n".join(store_settings.forbidden_topics or []),
        }
        address = store.address if isinstance(store.address, dict) else {}
        for key, _ in ADDRESS_FIELDS:
            initial[f"address_{key}"] = address.get(key, "")
        return initial

    def store_data(self, store) -> dict:
        data = self.cleaned_data
        # Keys of the address this form does not show are kept.
        address = dict(store.address) if isinstance(store.address, dict) else {}
        for key, _ in ADDRESS_FIELDS:
            value = data[f"address_{key}"].strip()
            if value:
                address[key] = value
            else:
                address.pop(key, None)
        return {
            "name": data["name"],
            "domain": data["domain"].strip().lower(),
            "support_email": data["support_email"],
            "phone": data["phone"],
            "currency": data["currency"].upper(),
            "timezone": data["timezone"],
            "address": address,
        }

    def settings_data(self) -> dict:
        data = self.cleaned_data
        return {
            "brand_voice": data["brand_voice"],
            "language": data["language"],
            "forbidden_topics": lines(data["forbidden_topics"].replace(",", "\n")),
        }


class EscalationForm(forms.Form):
    confidence_threshold = forms.IntegerField(
        label="Confidence threshold (%)",
        min_value=0,
        max_value=100,
        help_text="Below this confidence the assistant hands the conversation to your team.",
    )
    handoff_destination = forms.ChoiceField(label="Hand off to", choices=HandoffDestination.choices)
    high_value_cart_threshold = forms.DecimalField(
        label="High-value cart threshold",
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Carts worth at least this much are handed to a person.",
    )
    timezone = forms.ChoiceField(label="Business hours time zone", choices=TIMEZONE_CHOICES)
    zendesk_subdomain = forms.CharField(label="Zendesk subdomain", max_length=100, required=False)
    zendesk_email = forms.EmailField(label="Zendesk agent email", required=False)
    zendesk_api_token = SecretField(label="Zendesk API token")
    gorgias_domain = forms.CharField(label="Gorgias domain", max_length=200, required=False)
    gorgias_email = forms.EmailField(label="Gorgias email", required=False)
    gorgias_api_key = SecretField(label="Gorgias API key")
    freshdesk_domain = forms.CharField(label="Freshdesk domain", max_length=200, required=False)
    freshdesk_api_key = SecretField(label="Freshdesk API key")
    clear_secrets = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("zendesk_api_token", "Remove the saved Zendesk token"),
            ("gorgias_api_key", "Remove the saved Gorgias key"),
            ("freshdesk_api_key", "Remove the saved Freshdesk key"),
        ],
    )

    SECRET_FIELDS = ("zendesk_api_token", "gorgias_api_key", "freshdesk_api_key")
    HELPDESKS = [
        ("Zendesk", ("zendesk_subdomain", "zendesk_email", "zendesk_api_token")),
        ("Gorgias", ("gorgias_domain", "gorgias_email", "gorgias_api_key")),
        ("Freshdesk", ("freshdesk_domain", "freshdesk_api_key")),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, _ in DAYS:
            for n in range(1, INTERVALS_PER_DAY + 1):
                for edge in ("start", "end"):
                    self.fields[f"{day}_{n}_{edge}"] = forms.TimeField(
                        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
                    )

    @classmethod
    def initial_for(cls, store_settings) -> dict:
        initial = {
            "confidence_threshold": round(store_settings.confidence_threshold * 100),
            "handoff_destination": store_settings.handoff_destination,
            "high_value_cart_threshold": store_settings.high_value_cart_threshold,
            "timezone": store_settings.timezone,
        }
        for name in (
            "zendesk_subdomain",
            "zendesk_email",
            "gorgias_domain",
            "gorgias_email",
            "freshdesk_domain",
        ):
            initial[name] = getattr(store_settings, name)
        hours = store_settings.business_hours if isinstance(store_settings.business_hours, dict) else {}
        for day, _ in DAYS:
            for n, interval in enumerate((hours.get(day) or [])[:INTERVALS_PER_DAY], start=1):
                if isinstance(interval, list | tuple) and len(interval) == 2:
                    initial[f"{day}_{n}_start"], initial[f"{day}_{n}_end"] = interval
        return initial

    def day_rows(self):
        """(label, [(start field, end field), ...]) for each weekday, for the template."""
        return [
            (
                label,
                [(self[f"{day}_{n}_start"], self[f"{day}_{n}_end"]) for n in range(1, INTERVALS_PER_DAY + 1)],
            )
            for day, label in DAYS
        ]

    def helpdesk_groups(self):
        return [(name, [self[field] for field in fields]) for name, fields in self.HELPDESKS]

    def clean(self):
        data = super().clean()
        for day, label in DAYS:
            for n in range(1, INTERVALS_PER_DAY + 1):
                start, end = data.get(f"{day}_{n}_start"), data.get(f"{day}_{n}_end")
                if (start is None) != (end is None):
                    self.add_error(
                        f"{day}_{n}_start", f"{label}: give both the opening and the closing time."
                    )
                elif start is not None and start >= end:
                    self.add_error(
                        f"{day}_{n}_start", f"{label}: the closing time must be after the opening time."
                    )
        return data

    def settings_data(self) -> dict:
        data = self.cleaned_data
        hours = {}
        for day, _ in DAYS:
            intervals = []
            for n in range(1, INTERVALS_PER_DAY + 1):
                start, end = data.get(f"{day}_{n}_start"), data.get(f"{day}_{n}_end")
                if start is not None and end is not None:
                    intervals.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
            hours[day] = sorted(intervals)
        values = {
            "confidence_threshold": data["confidence_threshold"] / 100,
            "handoff_destination": data["handoff_destination"],
            "high_value_cart_threshold": str(data["high_value_cart_threshold"]),
            "timezone": data["timezone"],
            "business_hours": hours,
        }
        for name in (
            "zendesk_subdomain",
            "zendesk_email",
            "gorgias_domain",
            "gorgias_email",
            "freshdesk_domain",
        ):
            values[name] = data[name]
        for name in self.SECRET_FIELDS:
            if name in data["clear_secrets"]:
                values[name] = None
            elif data[name]:
                values[name] = data[name]
        return values


class WidgetForm(forms.Form):
    primary_color = forms.CharField(
        label="Brand color",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color", "data-preview": "primary_color"}),
    )
    position = forms.ChoiceField(
        label="Position",
        choices=[("right", "Bottom right"), ("left", "Bottom left")],
        widget=forms.RadioSelect(attrs={"data-preview": "position"}),
    )
    launcher_text = forms.CharField(
        label="Launcher text", max_length=60, widget=forms.TextInput(attrs={"data-preview": "launcher_text"})
    )
    greeting = forms.CharField(
        label="Greeting",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "data-preview": "greeting"}),
        help_text="The first message shoppers see.",
    )
    avatar_url = forms.CharField(
        label="Avatar image URL",
        max_length=200,
        required=False,
        widget=forms.URLInput(attrs={"data-preview": "avatar_url", "placeholder": "https://…"}),
        help_text="A square image (https), shown in the chat header.",
    )
    after_hours_message = forms.CharField(
        label="Business-hours notice",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "data-preview": "notice"}),
        help_text="Shown at the top of the chat outside your business hours.",
    )
    allowed_domains = forms.CharField(
        label="Allowed websites",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "shop.example.com\n*.example.com"}),
        help_text="One domain per line. Only these sites (and your store domain) can show the widget; "
        "*.example.com allows every subdomain.",
    )

    FIELDS = ("primary_color", "position", "launcher_text", "greeting", "avatar_url", "after_hours_message")

    @classmethod
    def initial_for(cls, store_settings) -> dict:
        initial = {name: getattr(store_settings, name) for name in cls.FIELDS}
        initial["allowed_domains"] = "\n".join(store_settings.allowed_domains or [])
        return initial

    def settings_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.FIELDS}
        data["allowed_domains"] = [d.lower() for d in lines(self.cleaned_data["allowed_domains"])]
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=UserRole.choices, initial=UserRole.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=UserRole.choices)


class PlanForm(forms.Form):
    plan_tier = forms.ChoiceField(label="Plan", choices=PlanTier.choices)


class DeleteStoreForm(forms.Form):
    confirm_name = forms.CharField(label="Type the store name to confirm", max_length=200)

    def __init__(self, *args, store=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.store.name:
            raise ValidationError("That is not this store's name; nothing was deleted.")
        return value
