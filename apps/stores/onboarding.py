"""Onboarding after sign-up: connect store → train AI → customize → channels → go live.

Every step can be skipped and come back to. Progress is not stored anywhere: it is read from the
store's own data (:func:`onboarding_progress`), so a step done from the dashboard or the API
counts here too. Views stay thin: parse a form → call the same services the REST API calls
(``store_create``/``store_update``, ``catalog_import``, ``doc_create``/``doc_create_from_upload``,
``store_settings_update``, ``channel_create``/``channel_update``/``channel_test``) → render.

Roles: a user without a store may only run the first step (which creates one); with a store,
every step changes the store's setup, so it needs an ADMIN (an AGENT gets 403).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import wraps
from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import RegexValidator
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework import serializers as drf_serializers

from apps.accounts.models import UserRole
from apps.channels import services as channel_services
from apps.channels.models import Channel, ChannelStatus, ChannelType
from apps.channels.services import CHANNEL_SPECS
from apps.stores import services as store_services
from apps.stores.dashboard import role_at_least
from apps.stores.middleware import SESSION_STORE_KEY
from apps.stores.models import Platform, Store, StoreSettings
from apps.training import services as training_services
from apps.training.models import DocStatus, DocType, TrainingDoc
from convix.tenancy import store_scope

# --- steps and progress ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    summary: str

    @property
    def url(self) -> str:
        return f"/onboarding/{self.slug}"


STEPS = (
    Step("connect-store", "Connect your store", "Your platform and catalog"),
    Step("train-ai", "Train your AI", "FAQs, policies, pages, files"),
    Step("customize", "Customize", "Widget colors and greeting"),
    Step("channels", "Channels", "Where shoppers reach you"),
    Step("go-live", "Go live", "Embed and test"),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}

# The widget's look as a new store gets it; a store whose look differs has been customized.
WIDGET_FIELDS = ("primary_color", "position", "greeting", "launcher_text", "avatar_url")


def _widget_defaults() -> dict:
    return {name: StoreSettings._meta.get_field(name).get_default() for name in WIDGET_FIELDS}


def onboarding_progress(store: Store | None) -> dict[str, bool]:
    """Which steps are done, derived from the store's data:

    - connect-store: the store exists;
    - train-ai: it has a training document of its own (the product catalog, made by an import,
      does not count);
    - customize: its widget looks different from a new store's;
    - channels: a channel has been set up (any channel besides the web widget, or the web widget
      with a successful connection test);
    - go-live: the web widget is on and the merchant has confirmed the sites it runs on (the
      allowed domains the go-live step saves; the widget refuses other sites).
    """
    if store is None:
        return {step.slug: False for step in STEPS}
    store_settings = StoreSettings.objects.filter(store=store).first()
    defaults = _widget_defaults()
    channels = Channel.objects.filter(store=store)
    web = channels.filter(type=ChannelType.WEB_WIDGET).first()
    return {
        "connect-store": True,
        "train-ai": TrainingDoc.objects.filter(store=store).exclude(type=DocType.PRODUCT_CATALOG).exists(),
        "customize": store_settings is not None
        and any(getattr(store_settings, name) != defaults[name] for name in WIDGET_FIELDS),
        "channels": channels.filter(
            Q(status=ChannelStatus.CONNECTED) | ~Q(type=ChannelType.WEB_WIDGET), is_active=True
        ).exists(),
        "go-live": web is not None
        and web.is_active
        and bool(store_settings is not None and store_settings.allowed_domains),
    }


def next_step(slug: str) -> Step | None:
    index = [step.slug for step in STEPS].index(slug)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def onboarding_view(slug: str):
    """Decorate a step's view: without a store only the first step runs; with one, ADMIN."""

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            store = getattr(request, "store", None)
            if store is None and slug != STEPS[0].slug:
                messages.info(request, "Connect your store first; the other steps set it up.")
                return redirect(STEPS[0].url)
            if store is not None and not role_at_least(request.membership, UserRole.ADMIN):
                raise PermissionDenied("Only the store's owner or an admin can change its setup.")
            return func(request, *args, **kwargs)

        return wrapper

    return decorate


def _render(request, template: str, slug: str, context: dict, status: int = 200):
    store = getattr(request, "store", None)
    progress = onboarding_progress(store)
    steps = [
        {"step": step, "number": number, "is_done": progress[step.slug], "is_current": step.slug == slug}
        for number, step in enumerate(STEPS, start=1)
    ]
    context = {
        "store": store,
        "steps": steps,
        "current": STEP_BY_SLUG[slug],
        "next": next_step(slug),
        "progress": progress,
        "done_count": sum(progress.values()),
        **context,
    }
    return render(request, template, context, status=status)


@require_GET
def resume(request):
    """``/onboarding``: the first step not done yet (or go-live when all are)."""
    progress = onboarding_progress(getattr(request, "store", None))
    for step in STEPS:
        if not progress[step.slug]:
            return redirect(step.url)
    return redirect(STEPS[-1].url)


# --- 1. connect store ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformFields:
    """What a platform's connection needs. Secrets go to the store's encrypted ``api_key`` and
    ``api_secret``; the rest (shop address, store hash, site id) to ``platform_config``."""

    key_label: str = ""
    secret_label: str = ""
    config: tuple[tuple[str, str], ...] = ()
    blurb: str = ""


PLATFORM_FIELDS: dict[str, PlatformFields] = {
    Platform.SHOPIFY: PlatformFields(
        key_label="Admin API access token",
        config=(("shop_domain", "Shop address (your-shop.myshopify.com)"),),
        blurb="Create a custom app in Shopify admin → Apps → Develop apps, then copy its Admin API token.",
    ),
    Platform.WOOCOMMERCE: PlatformFields(
        key_label="Consumer key",
        secret_label="Consumer secret",  # noqa: S106 - a form label, not a password
        config=(("site_url", "Store URL (https://…)"),),
        blurb="WooCommerce → Settings → Advanced → REST API: add a key with Read access.",
    ),
    Platform.BIGCOMMERCE: PlatformFields(
        key_label="API access token",
        config=(("store_hash", "Store hash"),),
        blurb="BigCommerce → Settings → API accounts: create a store-level API account.",
    ),
    Platform.SQUARESPACE: PlatformFields(
        key_label="API key",
        blurb="Squarespace → Settings → Advanced → Developer API keys (Commerce, read-only).",
    ),
    Platform.WIX: PlatformFields(
        key_label="API key",
        config=(("site_id", "Site ID"),),
        blurb="Wix → Settings → API keys: create a key with Stores read permission.",
    ),
    Platform.CUSTOM: PlatformFields(
        blurb="Import your products as CSV or JSON now; keep them in sync later with the REST API.",
    ),
    Platform.SAAS: PlatformFields(
        key_label="API key (optional)",
        config=(("api_base_url", "API base URL (optional)"),),
        blurb="A software product rather than a shop: train the agent on your docs and plans.",
    ),
}
CATALOG_EXTENSIONS = (".csv", ".json")


class ConnectStoreForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices, widget=forms.RadioSelect)
    name = forms.CharField(label="Store name", max_length=200)
    domain = forms.CharField(
        label="Store website",
        max_length=253,
        required=False,
        help_text="The domain your shoppers visit, like shop.example.com. The chat widget may run there.",
    )
    api_key = forms.CharField(max_length=500, required=False, widget=forms.PasswordInput(render_value=False))
    api_secret = forms.CharField(
        max_length=500, required=False, widget=forms.PasswordInput(render_value=False)
    )
    shop_domain = forms.CharField(max_length=253, required=False)
    site_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    store_hash = forms.CharField(max_length=100, required=False)
    site_id = forms.CharField(max_length=100, required=False)
    api_base_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    catalog_file = forms.FileField(
        label="Product catalog (CSV or JSON)",
        required=False,
        help_text="Up to 1,000 products. CSV columns: sku, title, price, description, category, url, stock, …",
    )

    def __init__(self, *args, store: Store | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        self.catalog_rows: list[dict] | None = None

    def clean_domain(self):
        domain = self.cleaned_data["domain"].strip().lower()
        if "://" in domain:
            domain = domain.split("://", 1)[1]
        domain = domain.split("/")[0]
        if domain and not DOMAIN_RE.fullmatch(domain):
            raise ValidationError("Enter a domain like shop.example.com.")
        return domain

    def clean_catalog_file(self):
        upload = self.cleaned_data.get("catalog_file")
        if not upload:
            return None
        suffix = PurePosixPath(upload.name).suffix.lower()
        if suffix not in CATALOG_EXTENSIONS:
            raise ValidationError("Upload a .csv or .json file.")
        if upload.size > settings.API_MAX_UPLOAD_BYTES:
            raise ValidationError(
                f"Files up to {settings.API_MAX_UPLOAD_BYTES // (1024 * 1024)} MB are accepted."
            )
        self.catalog_rows = catalog_rows_from_file(upload.name, upload.read())
        return upload

    def clean(self):
        cleaned = super().clean()
        platform = cleaned.get("platform")
        if not platform:
            return cleaned
        fields = PLATFORM_FIELDS[platform]
        saved_key = bool(self.store and self.store.api_key and self.store.platform == platform)
        if (
            fields.key_label
            and "optional" not in fields.key_label
            and not cleaned.get("api_key")
            and not saved_key
        ):
            self.add_error("api_key", f"Enter the {fields.key_label.lower()}.")
        saved_secret = bool(self.store and self.store.api_secret and self.store.platform == platform)
        if fields.secret_label and not cleaned.get("api_secret") and not saved_secret:
            self.add_error("api_secret", f"Enter the {fields.secret_label.lower()}.")
        for name, label in fields.config:
            if "optional" not in label and not cleaned.get(name):
                self.add_error(name, "This is required for this platform.")
        if cleaned.get("catalog_file") and platform != Platform.CUSTOM:
            self.add_error("catalog_file", "Catalog files are imported for the Custom platform only.")
        return cleaned


DOMAIN_RE = RegexValidator(
    r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d+)?$"
).regex


def catalog_rows_from_file(file_name: str, raw: bytes) -> list[dict]:
    """The validated product rows of a catalog file, in the shape the REST import validates.

    CSV goes through the REST import's own CSV reader; JSON is ``{"products": [...]}`` or a list
    of products. Raises ValidationError with a message a merchant can act on.
    """
    from apps.conversations.catalog_api import CatalogImportSerializer, csv_rows

    if file_name.lower().endswith(".json"):
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationError(f"The JSON file could not be read: {error}.") from None
        products = data.get("products") if isinstance(data, dict) else data
        if not isinstance(products, list):
            raise ValidationError('The JSON file must be a list of products or {"products": [...]}.')
    else:
        try:
            products = csv_rows("products", raw)
        except drf_serializers.ValidationError as error:
            raise ValidationError(_flatten(error.detail)) from None
    serializer = CatalogImportSerializer(data={"products": products})
    if not serializer.is_valid():
        raise ValidationError(_flatten(serializer.errors)[:10])
    return serializer.validated_data["products"]


def _flatten(detail, prefix: str = "") -> list[str]:
    """DRF's nested error detail as readable lines: ``Row 3, price: A valid number is required.``"""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            if key in ("products", "non_field_errors"):
                label = prefix
            elif str(key).isdigit():
                label = f"Row {int(key) + 1}"
            else:
                label = f"{prefix}, {key}" if prefix else str(key)
            lines += _flatten(value, label)
        return lines
    if isinstance(detail, list):
        if all(isinstance(item, dict) for item in detail):
            lines = []
            for index, item in enumerate(detail):
                if item:
                    lines += _flatten(item, f"Row {index + 1}")
            return lines
        lines = []
        for item in detail:
            lines += _flatten(item, prefix)
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _platform_config(form: ConnectStoreForm, platform: str) -> dict:
    return {
        name: form.cleaned_data[name]
        for name, _ in PLATFORM_FIELDS[platform].config
        if form.cleaned_data.get(name)
    }


def _web_widget_ensure(store: Store) -> Channel:
    """The store's web widget channel, added when missing (the live preview and the test chat
    need it). Through ``channel_create``, so plan limits and rules are the API's."""
    channel = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
    return channel or channel_services.channel_create(
        store=store, type=ChannelType.WEB_WIDGET, name="Web chat"
    )


@onboarding_view("connect-store")
@require_http_methods(["GET", "POST"])
def connect_store(request):
    store = request.store
    initial = {"platform": Platform.CUSTOM}
    if store is not None:
        initial = {
            "platform": store.platform,
            "name": store.name,
            "domain": store.domain,
            **(store.platform_config or {}),
        }
    form = ConnectStoreForm(request.POST or None, request.FILES or None, store=store, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        platform = data["platform"]
        try:
            with transaction.atomic():
                if store is None:
                    store = store_services.store_create(
                        owner=request.user,
                        name=data["name"],
                        domain=data["domain"],
                        platform=platform,
                        api_key=data["api_key"],
                        api_secret=data["api_secret"],
                        platform_config=_platform_config(form, platform),
                    )
                    created = True
                else:
                    store = store_services.store_update(
                        store=store, name=data["name"], domain=data["domain"], platform=platform
                    )
                    store_services.store_platform_credentials_set(
                        store=store,
                        api_key=data["api_key"],
                        api_secret=data["api_secret"],
                        config=_platform_config(form, platform),
                    )
                    created = False
                with store_scope(store):
                    _web_widget_ensure(store)
                    result = None
                    if form.catalog_rows:
                        from apps.conversations.imports import catalog_import

                        result = catalog_import(store=store, products=form.catalog_rows)
        except ValidationError as error:
            for field, problems in getattr(error, "message_dict", {"__all__": error.messages}).items():
                form.add_error(None if field not in form.fields else field, problems)
        else:
            request.session[SESSION_STORE_KEY] = str(store.id)
            note = "Store connected." if created else "Store details saved."
            if result:
                counts = result["products"]
                note += f" Imported {counts['created']} new and {counts['updated']} updated products."
            messages.success(request, note)
            return redirect(next_step("connect-store").url)
    status = 400 if form.errors else 200
    context = {
        "form": form,
        "platforms": [
            {"value": value, "label": label, "fields": PLATFORM_FIELDS[value]}
            for value, label in Platform.choices
        ],
        "selected_platform": form["platform"].value() or Platform.CUSTOM,
        "has_saved_key": bool(store and store.api_key),
        "has_saved_secret": bool(store and store.api_secret),
        "product_count": store.products.count() if store is not None else 0,
    }
    return _render(request, "onboarding/connect_store.html", "connect-store", context, status=status)


# --- 2. train AI -----------------------------------------------------------------------------


class FaqForm(forms.Form):
    question = forms.CharField(max_length=500)
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000)


class PolicyForm(forms.Form):
    title = forms.CharField(max_length=500, help_text="For example: Returns policy.")
    content = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 6}), max_length=200_000)


class UrlForm(forms.Form):
    source_url = forms.URLField(label="Web page address", max_length=2000, assume_scheme="https")
    title = forms.CharField(max_length=500, required=False, help_text="Leave blank to use the page's title.")


class UploadForm(forms.Form):
    file = forms.FileField(help_text="PDF, Word (.docx), HTML, Markdown or text.")
    title = forms.CharField(max_length=500, required=False)

    def clean_file(self):
        from convix.ai.extract import SUPPORTED_EXTENSIONS

        upload = self.cleaned_data["file"]
        if PurePosixPath(upload.name).suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise ValidationError(f"Upload one of: {', '.join(SUPPORTED_EXTENSIONS)}.")
        if upload.size > settings.API_MAX_UPLOAD_BYTES:
            raise ValidationError(
                f"Files up to {settings.API_MAX_UPLOAD_BYTES // (1024 * 1024)} MB are accepted."
            )
        return upload


TRAINING_FORMS = {"faq": FaqForm, "policy": PolicyForm, "url": UrlForm, "file": UploadForm}


def _training_docs(store: Store):
    return TrainingDoc.objects.filter(store=store).order_by("-created_at")[:50]


def _is_indexing(docs) -> bool:
    return any(doc.status in (DocStatus.QUEUED, DocStatus.INDEXING) for doc in docs)


def _create_doc(request, kind: str, form: forms.Form) -> TrainingDoc:
    data, store, user = form.cleaned_data, request.store, request.user
    if kind == "faq":
        return training_services.doc_create(
            store=store, type=DocType.FAQ, title=data["question"], content=data["answer"], created_by=user
        )
    if kind == "policy":
        return training_services.doc_create(
            store=store, type=DocType.POLICY, title=data["title"], content=data["content"], created_by=user
        )
    if kind == "url":
        return training_services.doc_create(
            store=store, type=DocType.URL, title=data["title"], source_url=data["source_url"], created_by=user
        )
    upload = data["file"]
    return training_services.doc_create_from_upload(
        store=store,
        file_name=upload.name,
        file_bytes=upload.read(),
        content_type=upload.content_type or "",
        title=data["title"],
        created_by=user,
    )


@onboarding_view("train-ai")
@require_http_methods(["GET", "POST"])
def train_ai(request):
    store = request.store
    kind = request.POST.get("kind", "faq") if request.method == "POST" else request.GET.get("tab", "faq")
    if kind not in TRAINING_FORMS:
        kind = "faq"
    forms_by_kind = {name: form_class(prefix=name) for name, form_class in TRAINING_FORMS.items()}
    status = 200
    if request.method == "POST":
        form = TRAINING_FORMS[kind](request.POST, request.FILES, prefix=kind)
        forms_by_kind[kind] = form
        if form.is_valid():
            try:
                doc = _create_doc(request, kind, form)
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, f"Added “{doc.title}”. It is being indexed.")
                return redirect(f"/onboarding/train-ai?tab={kind}")
        status = 400
    docs = list(_training_docs(store))
    context = {
        "forms": forms_by_kind,
        "tab": kind,
        "tabs": [("faq", "FAQ"), ("policy", "Policy"), ("url", "Web page"), ("file", "File")],
        "docs": docs,
        "is_indexing": _is_indexing(docs),
        "limit": store.limits.training_docs,
    }
    return _render(request, "onboarding/train_ai.html", "train-ai", context, status=status)


@onboarding_view("train-ai")
@require_GET
def train_ai_status(request):
    """The documents' indexing status, as a fragment the train step polls while any is pending."""
    docs = list(_training_docs(request.store))
    return render(request, "onboarding/_docs.html", {"docs": docs, "is_indexing": _is_indexing(docs)})


# --- 3. customize ----------------------------------------------------------------------------


class WidgetForm(forms.Form):
    primary_color = forms.RegexField(
        label="Brand color",
        regex=r"^#[0-9a-fA-F]{6}$",
        error_messages={"invalid": "Enter a color like #2563eb."},
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    position = forms.ChoiceField(
        choices=[("right", "Bottom right"), ("left", "Bottom left")], widget=forms.RadioSelect
    )
    greeting = forms.CharField(max_length=300, help_text="The first message shoppers see.")
    launcher_text = forms.CharField(label="Launcher text", max_length=60)
    avatar_url = forms.URLField(
        label="Avatar image URL",
        required=False,
        assume_scheme="https",
        help_text="A square image on https, shown next to your store's name.",
    )

    def clean_avatar_url(self):
        url = self.cleaned_data["avatar_url"]
        if url and not url.startswith("https://"):
            raise ValidationError("Use an https:// address so the image loads on secure pages.")
        return url


@onboarding_view("customize")
@require_http_methods(["GET", "POST"])
def customize(request):
    store = request.store
    store_settings = StoreSettings.objects.get(store=store)
    initial = {name: getattr(store_settings, name) for name in WIDGET_FIELDS}
    form = WidgetForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    store_settings = store_services.store_settings_update(store=store, **form.cleaned_data)
                    _web_widget_ensure(store)
            except ValidationError as error:
                form.add_error(None, error.messages)
                status = 400
            else:
                messages.success(request, "Widget saved. The preview shows it as shoppers will.")
                if not request.htmx:
                    return redirect("/onboarding/customize")
                form = WidgetForm(initial={name: getattr(store_settings, name) for name in WIDGET_FIELDS})
        else:
            status = 400
    web = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
    context = {
        "form": form,
        "web_channel": web,
        "preview_version": int(store_settings.updated_at.timestamp()),
    }
    template = "onboarding/_customize_panel.html" if request.htmx else "onboarding/customize.html"
    # htmx swaps 4xx responses only when told to; the panel is re-rendered with its errors.
    return _render(request, template, "customize", context, status=200 if request.htmx else status)


# --- 4. channels -----------------------------------------------------------------------------


CHANNEL_LABELS = dict(ChannelType.choices)
CONFIG_LABELS = {
    "phone_number_id": "Phone number ID",
    "access_token": "Access token",
    "display_phone_number": "Display phone number",
    "business_account_id": "Business account ID",
    "phone_number": "Phone number (E.164, like +15551234567)",
    "account_sid": "Account SID",
    "auth_token": "Auth token",
    "account_id": "Instagram account ID",
    "page_id": "Facebook page ID",
    "page_access_token": "Page access token",
    "inbound_address": "Inbound address",
    "provider": "Provider",
    "from_address": "From address",
    "api_key": "API key",
    "signing_key": "Webhook signing key",
    "team_id": "Slack team ID",
    "bot_token": "Bot token",
    "signing_secret": "Signing secret",
    "channel_id": "Slack channel ID",
}


def _channel_specs() -> list[dict]:
    specs = []
    for type_, spec in CHANNEL_SPECS.items():
        if type_ == ChannelType.WEB_WIDGET:
            continue
        fields = [
            {
                "name": name,
                "label": CONFIG_LABELS.get(name, name.replace("_", " ").capitalize()),
                "is_required": name in spec.required,
                "is_secret": name in spec.secrets,
            }
            for name in dict.fromkeys(spec.required + spec.optional)
        ]
        specs.append({"type": type_, "label": CHANNEL_LABELS[type_], "fields": fields})
    return specs


@onboarding_view("channels")
@require_http_methods(["GET", "POST"])
def channels(request):
    store = request.store
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    chosen = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            chosen = request.POST.get("type", "")
            prefix = f"{chosen}-"
            spec = CHANNEL_SPECS.get(chosen)
            config = {}
            if spec is not None and chosen != ChannelType.WEB_WIDGET:
                for name in spec.required + spec.optional:
                    value = request.POST.get(prefix + name, "").strip()
                    if value:
                        config[name] = value
                    if name not in spec.secrets:
                        values[name] = value
            try:
                if spec is None or chosen == ChannelType.WEB_WIDGET:
                    raise ValidationError({"type": ["Pick a channel to add."]})
                channel = channel_services.channel_create(
                    store=store, type=chosen, name=request.POST.get("name", "").strip()[:120], config=config
                )
            except ValidationError as error:
                errors = error.message_dict
                status = 400
            else:
                messages.success(request, f"{CHANNEL_LABELS[chosen]} added. Test its connection when ready.")
                return redirect("/onboarding/channels")
        elif action == "web-on":
            with transaction.atomic():
                channel = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
                if channel is None:
                    try:
                        channel = _web_widget_ensure(store)
                    except ValidationError as error:
                        messages.error(request, " ".join(sum(error.message_dict.values(), [])))
                        return redirect("/onboarding/channels")
                channel_services.channel_update(store=store, channel=channel, is_active=True)
                channel_services.channel_test(store=store, channel=channel)
            messages.success(request, "Web chat is on.")
            return redirect("/onboarding/channels")
        elif action == "web-off":
            channel = get_object_or_404(Channel, store=store, type=ChannelType.WEB_WIDGET)
            channel_services.channel_update(store=store, channel=channel, is_active=False)
            messages.success(request, "Web chat is off: the widget no longer appears on your site.")
            return redirect("/onboarding/channels")
        elif action == "test":
            channel = get_object_or_404(Channel, store=store, pk=_uuid_or_404(request.POST.get("channel")))
            channel = channel_services.channel_test(store=store, channel=channel)
            if channel.status == ChannelStatus.CONNECTED:
                messages.success(request, f"{channel.get_type_display()} is connected.")
            else:
                messages.error(request, f"{channel.get_type_display()}: {channel.last_error}")
            return redirect("/onboarding/channels")
        else:
            messages.error(request, "Unknown action.")
            return redirect("/onboarding/channels")
    store_channels = list(Channel.objects.filter(store=store).order_by("type", "created_at"))
    context = {
        "channels": store_channels,
        "web_channel": next((c for c in store_channels if c.type == ChannelType.WEB_WIDGET), None),
        "specs": _channel_specs(),
        "errors": errors,
        "general_errors": errors.get("type", []) + errors.get("config", []) + errors.get("__all__", []),
        "values": values,
        "chosen": chosen,
        "limit": store.limits.channels,
    }
    return _render(request, "onboarding/channels.html", "channels", context, status=status)


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such channel.") from None


# --- 5. go live ------------------------------------------------------------------------------


class GoLiveForm(forms.Form):
    domains = forms.CharField(
        label="Sites where the chat will run",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One domain a line, like shop.example.com. Use *.example.com for every subdomain.",
    )

    def clean_domains(self):
        domains = []
        for line in self.cleaned_data["domains"].replace(",", "\n").splitlines():
            domain = line.strip().lower()
            if "://" in domain:
                domain = domain.split("://", 1)[1]
            domain = domain.split("/")[0]
            if not domain:
                continue
            if not DOMAIN_RE.fullmatch(domain):
                raise ValidationError(f"“{line.strip()}” is not a domain like shop.example.com.")
            if domain not in domains:
                domains.append(domain)
        if len(domains) > 50:
            raise ValidationError("At most 50 domains.")
        return domains


@onboarding_view("go-live")
@require_http_methods(["GET", "POST"])
def go_live(request):
    store = request.store
    store_settings = StoreSettings.objects.get(store=store)
    # Suggest the store's own domain until the merchant has confirmed a list.
    domains = store_settings.allowed_domains or ([store.domain] if store.domain else [])
    form = GoLiveForm(request.POST or None, initial={"domains": "\n".join(domains)})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            domains = form.cleaned_data["domains"]
            if not domains:
                form.add_error("domains", "Add the domain of your site so the chat can appear there.")
            else:
                store_services.store_settings_update(store=store, allowed_domains=domains)
                messages.success(
                    request, "You're live! Shoppers on your site can now chat with your AI agent."
                )
                return redirect("/dashboard")
        status = 400
    web = Channel.objects.filter(store=store, type=ChannelType.WEB_WIDGET).first()
    base = request.build_absolute_uri("/").rstrip("/")
    context = {
        "form": form,
        "web_channel": web,
        "snippet": f'<script src="{base}/widget.js" data-store="{store.id}" async></script>',
    }
    return _render(request, "onboarding/go_live.html", "go-live", context, status=status)
