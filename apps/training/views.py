"""``/dashboard/training``: the training manager.

Every member may see the store's documents and their indexing status; ADMIN and OWNER add,
edit, (de)activate, delete and retrain them. Each action calls ``apps.training.services`` (the
same functions as the REST API in ``apps.training.api``); reads go through
``apps.training.selectors``. Another store's document is a 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import UserRole
from apps.stores.dashboard import dashboard_view
from apps.training import selectors, services
from apps.training.models import DocStatus, DocType, JobStatus, TrainingDoc
from convix import http
from convix.ai import extract

PAGE_SIZE = 50
POLL_SECONDS = 2
# The REST API refuses uploads above API_MAX_UPLOAD_BYTES; extraction fails above MAX_FILE_BYTES.
# The dashboard refuses above the lower of the two, before anything is stored.
TITLE_MAX = 500
CONTENT_MAX = 1_000_000


def upload_limit_bytes() -> int:
    return min(settings.API_MAX_UPLOAD_BYTES, extract.MAX_FILE_BYTES)


# --- forms ---------------------------------------------------------------------------------


class DashboardForm(forms.Form):
    """Inputs styled as the dashboard's (``.input``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.ClearableFileInput):
                field.widget.attrs.setdefault("class", "input")


class FAQForm(DashboardForm):
    title = forms.CharField(
        label="Question", max_length=TITLE_MAX, error_messages={"required": "Enter the question."}
    )
    content = forms.CharField(
        label="Answer",
        max_length=CONTENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter the answer."},
    )


class PolicyForm(DashboardForm):
    title = forms.CharField(
        label="Title", max_length=TITLE_MAX, error_messages={"required": "Give the policy a title."}
    )
    content = forms.CharField(
        label="Policy text",
        max_length=CONTENT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Plain text or Markdown.",
        error_messages={"required": "Paste the policy's text."},
    )


class WebAddressField(forms.URLField):
    """An http or https address (Django's URLField also takes ftp)."""

    default_validators = [URLValidator(schemes=["http", "https"])]


def check_public_url(value: str) -> str:
    """Refuse a web address the ingestion would refuse to fetch (a private or reserved address,
    a user name in it, another scheme), with the ingestion's own message. A host that cannot be
    resolved now is accepted: the indexing reports it on the document."""
    try:
        http.check_url(value)
    except http.FetchError as error:
        if error.code in ("blocked_address", "invalid_url"):
            raise ValidationError(str(error), code=error.code) from None
    return value


class URLForm(DashboardForm):
    source_url = WebAddressField(
        label="Web address",
        max_length=2000,
        assume_scheme="https",
        help_text="A public page: your FAQ, shipping or returns page. Convix fetches and indexes it.",
        error_messages={
            "required": "Enter the page's web address.",
            "invalid": "Enter a web address starting with http:// or https://.",
        },
    )
    title = forms.CharField(
        label="Title", max_length=TITLE_MAX, required=False, help_text="Optional: the page's title is used."
    )

    def clean_source_url(self) -> str:
        return check_public_url(self.cleaned_data["source_url"])


class UploadForm(DashboardForm):
    file = forms.FileField(label="File", error_messages={"required": "Choose a file to upload."})
    title = forms.CharField(
        label="Title", max_length=TITLE_MAX, required=False, help_text="Optional: taken from the file."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = upload_limit_bytes()
        if upload.size > limit:
            raise ValidationError(f"Files up to {http.human_size(limit)} are accepted.", code="too_large")
        try:
            extract.detect_format(file_name=upload.name, content_type=upload.content_type or "")
        except extract.ExtractionError as error:
            raise ValidationError(str(error), code="unsupported") from None
        return upload


class EditForm(DashboardForm):
    """The editable text of a document; which fields apply depends on its type."""

    title = forms.CharField(
        label="Title", max_length=TITLE_MAX, error_messages={"required": "Enter a title."}
    )
    content = forms.CharField(
        label="Text", max_length=CONTENT_MAX, widget=forms.Textarea(attrs={"rows": 12}), required=False
    )
    source_url = WebAddressField(
        label="Web address",
        max_length=2000,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": "Enter a web address starting with http:// or https://."},
    )

    def __init__(self, *args, doc: TrainingDoc, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.doc = doc
        if doc.type == DocType.FAQ:
            self.fields["title"].label = "Question"
            self.fields["content"].label = "Answer"
            self.fields["content"].widget.attrs["rows"] = 5
        if doc.type == DocType.URL:
            del self.fields["content"]
            self.fields["source_url"].required = True
        else:
            del self.fields["source_url"]

    def clean_content(self) -> str:
        content = self.cleaned_data["content"]
        if self.doc.type in (DocType.FAQ, DocType.POLICY) and not content.strip():
            raise ValidationError(
                "Enter the answer." if self.doc.type == DocType.FAQ else "Paste the policy's text.",
                code="required",
            )
        if self.doc.type == DocType.MANUAL and not content.strip():
            raise ValidationError("The document needs some text.", code="required")
        return content

    def clean_source_url(self) -> str:
        return check_public_url(self.cleaned_data["source_url"])


ADD_FORMS = {"faq": FAQForm, "policy": PolicyForm, "url": URLForm, "upload": UploadForm}
ADD_TYPES = {"faq": DocType.FAQ, "policy": DocType.POLICY, "url": DocType.URL}
EDITABLE_TYPES = {DocType.FAQ, DocType.POLICY, DocType.URL, DocType.MANUAL}


# --- reads ---------------------------------------------------------------------------------


def _doc_or_404(request, doc_id) -> TrainingDoc:
    try:
        return selectors.doc_get(store=request.store, doc_id=doc_id)
    except TrainingDoc.DoesNotExist:
        raise Http404("No such document.") from None


def _type_filter(request) -> str:
    value = request.GET.get("type", "")
    return value if value in DocType.values else ""


def _status_context(request) -> dict:
    """The document list (one page), the counts by status and the latest retraining job: what the
    page and its polled fragment show."""
    store = request.store
    doc_type = _type_filter(request)
    docs = selectors.doc_list(store=store, type=doc_type or None).order_by("-created_at", "-id")
    counts = selectors.doc_status_counts(store=store)
    total = sum(counts.values())
    # The count for the paginator is known already when no filter applies.
    paginator = Paginator(docs, PAGE_SIZE)
    if not doc_type:
        paginator.count = total
    page = paginator.get_page(request.GET.get("page"))
    job = selectors.training_job_latest(store=store)
    job_active = job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    pending = counts[DocStatus.QUEUED] + counts[DocStatus.INDEXING]
    return {
        "page_obj": page,
        "docs": page.object_list,
        "counts": counts,
        "total": total,
        "pending": pending,
        "job": job,
        "job_active": job_active,
        "polling": bool(pending or job_active),
        "poll_seconds": POLL_SECONDS,
        "doc_type": doc_type,
        "doc_types": [(value, label) for value, label in DocType.choices],
        "query": request.GET.urlencode(),
    }


def _render_index(request, *, forms_by_kind: dict | None = None, open_kind: str = "faq", status: int = 200):
    bound = forms_by_kind or {}
    context = _status_context(request)
    context.update(
        forms={
            kind: bound.get(kind) or form_class(auto_id=f"{kind}-%s")
            for kind, form_class in ADD_FORMS.items()
        },
        open_kind=open_kind,
        upload_limit=http.human_size(upload_limit_bytes()),
        extensions=", ".join(extract.SUPPORTED_EXTENSIONS),
    )
    return render(request, "dashboard/training/index.html", context, status=status)


@require_GET
@dashboard_view
def training_index(request):
    """The document list with its status, the forms to add knowledge, the retrain button."""
    return _render_index(request)


@require_GET
@dashboard_view
def training_status(request):
    """The polled fragment: the document table and the retraining job. It keeps polling itself
    while anything is queued or indexing, and stops once everything has settled."""
    return render(request, "dashboard/training/_status.html", _status_context(request))


# --- writes --------------------------------------------------------------------------------


@require_POST
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_add(request, kind: str):
    """Add an FAQ, a policy, a web page or an uploaded file; indexing is queued on commit."""
    form_class = ADD_FORMS.get(kind)
    if form_class is None:
        raise Http404("No such kind of document.")
    form = form_class(request.POST, request.FILES, auto_id=f"{kind}-%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if kind == "upload":
                upload = data["file"]
                doc = services.doc_create_from_upload(
                    store=request.store,
                    file_name=upload.name,
                    file_bytes=upload.read(),
                    content_type=upload.content_type or "",
                    title=data["title"],
                    created_by=request.user,
                )
            else:
                doc = services.doc_create(
                    store=request.store,
                    type=ADD_TYPES[kind],
                    title=data.get("title", ""),
                    content=data.get("content", ""),
                    source_url=data.get("source_url", ""),
                    created_by=request.user,
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if doc.status == DocStatus.FAILED:
                messages.error(request, f"“{doc.title}” was added but cannot be indexed: {doc.status_reason}")
            else:
                messages.success(request, f"“{doc.title}” was added and is being indexed.")
            return redirect("dashboard-training")
    return _render_index(request, forms_by_kind={kind: form}, open_kind=kind, status=400)


@require_http_methods(["GET", "POST"])
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_edit(request, doc_id):
    """Change a document's title and text (or web address); changed text is re-indexed."""
    doc = _doc_or_404(request, doc_id)
    if doc.type not in EDITABLE_TYPES:
        messages.error(request, "The product catalog is built from your products; retrain it instead.")
        return redirect("dashboard-training")
    if request.method == "POST":
        form = EditForm(request.POST, doc=doc)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.fields}
            try:
                doc = services.doc_update(store=request.store, doc=doc, **fields)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"“{doc.title}” was saved.")
                return redirect("dashboard-training")
        status = 400
    else:
        form = EditForm(
            initial={"title": doc.title, "content": doc.content, "source_url": doc.source_url}, doc=doc
        )
        status = 200
    return render(request, "dashboard/training/edit.html", {"doc": doc, "form": form}, status=status)


@require_POST
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_set_active(request, doc_id):
    """Turn a document on or off for the assistant (``is_active`` = "1" or "0")."""
    doc = _doc_or_404(request, doc_id)
    is_active = request.POST.get("is_active") == "1"
    doc = services.doc_set_active(store=request.store, doc=doc, is_active=is_active)
    if is_active:
        messages.success(request, f"“{doc.title}” is active: the assistant uses it again.")
    else:
        messages.success(request, f"“{doc.title}” is inactive: the assistant no longer uses it.")
    return redirect(_back(request))


@require_http_methods(["GET", "POST"])
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_delete(request, doc_id):
    """GET asks for confirmation; POST deletes the document and its chunks."""
    doc = _doc_or_404(request, doc_id)
    if request.method == "POST":
        title = doc.title
        services.doc_delete(store=request.store, doc=doc)
        messages.success(request, f"“{title}” was deleted.")
        return redirect("dashboard-training")
    return render(request, "dashboard/training/delete.html", {"doc": doc})


@require_POST
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_reindex(request, doc_id):
    """Index one document again."""
    doc = _doc_or_404(request, doc_id)
    doc = services.doc_reindex_request(store=request.store, doc=doc)
    messages.success(request, f"“{doc.title}” is queued for indexing.")
    return redirect(_back(request))


@require_POST
@dashboard_view(minimum_role=UserRole.ADMIN)
def training_retrain(request):
    """Retrain on every document: starts a job (or returns the one already running)."""
    job = services.training_job_request(store=request.store, requested_by=request.user)
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        messages.success(request, "Retraining started: every document is being re-indexed.")
    else:
        messages.success(request, "Retraining finished.")
    return redirect("dashboard-training")


def _back(request) -> str:
    """Back to the list, on the page and filter it was on (only those two are kept)."""
    query = QueryDict(request.POST.get("next_query", ""))
    keep = {}
    if query.get("page", "").isdigit():
        keep["page"] = query["page"]
    if query.get("type") in DocType.values:
        keep["type"] = query["type"]
    return "/dashboard/training" + (f"?{urlencode(keep)}" if keep else "")
