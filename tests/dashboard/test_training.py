"""The training manager (/dashboard/training): every page and role, adding each kind of document
with real indexing on commit, validation errors that create nothing, (de)activation straight out
of retrieval, deletion, retraining, the polled status fragment and bounded query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.training import selectors
from apps.training.models import DocStatus, DocType, JobStatus, TrainingChunk, TrainingDoc, TrainingJob
from convix.tenancy import store_scope, unscoped
from tests.factories import TrainingDocFactory
from tests.fakes.http_pages import PageServer

pytestmark = pytest.mark.django_db

INDEX = "/dashboard/training"
STATUS = "/dashboard/training/status"


def add(kind: str) -> str:
    return f"{INDEX}/add/{kind}"


def doc_url(doc, action: str) -> str:
    return f"{INDEX}/{doc.pk}/{action}"


def docs_of(store) -> list[TrainingDoc]:
    with unscoped("tests"):
        return list(TrainingDoc.objects.filter(store=store).order_by("created_at"))


def snapshot(doc) -> tuple:
    with unscoped("tests"):
        fresh = TrainingDoc.objects.get(pk=doc.pk)
        chunks = TrainingChunk.objects.filter(doc_id=doc.pk).count()
    return (fresh.title, fresh.content, fresh.is_active, fresh.status, fresh.chunk_count, chunks)


def search_doc_ids(store, query: str) -> set:
    with store_scope(store):
        return {chunk.doc_id for chunk in selectors.knowledge_search(store=store, query=query, k=10)}


@pytest.fixture
def faq(store, owner_client, django_capture_on_commit_callbacks):
    """An FAQ added through the training manager and indexed for real."""
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            add("faq"),
            {"title": "Do you ship to Canada?", "content": "Yes, to every province, in 5-8 business days."},
        )
    assert response.status_code == 302
    (doc,) = docs_of(store)
    return doc


@pytest.fixture
def other_doc(other_store):
    with unscoped("tests"):
        return TrainingDocFactory(store=other_store, title="Store B's secret FAQ", content="B's answer.")


# --- pages and roles -------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client):
    for path in (INDEX, STATUS, add("faq")):
        response = (
            client.get(path) if path != add("faq") else client.post(path, {"title": "Q", "content": "A"})
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/login")


@pytest.mark.parametrize("persona", ["owner_client", "admin_client_"])
def test_owner_and_admin_see_the_list_and_the_forms(request, persona, store):
    with unscoped("tests"):
        TrainingDocFactory(
            store=store, title="Where do you ship from?", status=DocStatus.READY, chunk_count=1
        )
    response = request.getfixturevalue(persona).get(INDEX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Where do you ship from?" in body and "Ready" in body
    assert 'id="add-faq"' in body and 'id="add-upload"' in body
    assert "Retrain everything" in body and ">Edit</a>" in body


def test_agent_sees_the_list_but_no_controls(agent_client, store):
    with unscoped("tests"):
        TrainingDocFactory(store=store, title="Where do you ship from?")
    response = agent_client.get(INDEX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Where do you ship from?" in body
    assert "Only an admin or the owner can change them." in body
    for control in ('id="add-faq"', "Retrain everything", ">Edit</a>", ">Deactivate</button>", ">Delete</a>"):
        assert control not in body


def test_empty_state(owner_client):
    body = owner_client.get(INDEX).content.decode()
    assert 'data-testid="training-empty"' in body and "nothing to learn from yet" in body


def test_a_member_never_sees_another_stores_documents(other_owner_client, store, faq):
    body = other_owner_client.get(INDEX).content.decode()
    assert "Do you ship to Canada?" not in body
    assert 'data-testid="training-empty"' in body


def test_list_filters_by_type(owner_client, store):
    with unscoped("tests"):
        TrainingDocFactory(store=store, title="An FAQ question?")
        TrainingDocFactory(store=store, type=DocType.POLICY, title="Returns policy", content="30 days.")
    body = owner_client.get(INDEX, {"type": "POLICY"}).content.decode()
    assert "Returns policy" in body and "An FAQ question?" not in body
    body = owner_client.get(INDEX, {"type": "NOPE"}).content.decode()  # an unknown type is ignored
    assert "Returns policy" in body and "An FAQ question?" in body


# --- adding documents ------------------------------------------------------------------------


def test_owner_adds_an_faq_and_it_is_indexed(store, faq, owner_client):
    assert (faq.type, faq.title, faq.content) == (
        DocType.FAQ,
        "Do you ship to Canada?",
        "Yes, to every province, in 5-8 business days.",
    )
    assert faq.status == DocStatus.READY and faq.chunk_count >= 1 and faq.is_active
    assert faq.id in search_doc_ids(store, "shipping to Canada")
    body = owner_client.get(INDEX).content.decode()
    assert "Do you ship to Canada?" in body and 'data-status="READY"' in body


def test_admin_adds_a_policy(admin_client_, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            add("policy"),
            {"title": "Returns", "content": "# Returns\n\nReturn unworn items within 30 days for a refund."},
        )
    assert response.status_code == 302 and response["Location"] == INDEX
    (doc,) = docs_of(store)
    assert (doc.type, doc.title, doc.status) == (DocType.POLICY, "Returns", DocStatus.READY)


def test_admin_adds_a_web_page_fetched_for_real(
    admin_client_, store, settings, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_URLS = True  # the page server is on loopback
    with PageServer() as server:
        server.add(
            "/care",
            "<html><head><title>Caring for your tent</title></head><body><main><h1>Tent care</h1>"
            "<p>Dry your tent fully before storing it, away from sunlight.</p></main></body></html>",
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client_.post(add("url"), {"source_url": server.url("/care"), "title": ""})
    assert response.status_code == 302
    (doc,) = docs_of(store)
    assert (doc.type, doc.status, doc.title) == (DocType.URL, DocStatus.READY, "Tent care")
    assert doc.chunk_count >= 1


def test_empty_faq_is_refused_and_nothing_is_created(owner_client, store):
    response = owner_client.post(add("faq"), {"title": "  ", "content": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter the question." in body and "Enter the answer." in body
    assert docs_of(store) == []
    response = owner_client.post(add("faq"), {"title": "Do you ship to Canada?", "content": ""})
    assert response.status_code == 400
    assert "Enter the answer." in response.content.decode()
    assert 'value="Do you ship to Canada?"' in response.content.decode()  # what was typed is kept
    assert docs_of(store) == []


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("ftp://files.example.com/faq.txt", "Enter a web address starting with http:// or https://."),
        ("http://127.0.0.1:8000/admin", "resolves to a private or reserved address"),
        ("http://10.0.0.7/faq", "resolves to a private or reserved address"),
        ("http://localhost/faq", "resolves to a private or reserved address"),
        ("http://169.254.169.254/latest/meta-data", "resolves to a private or reserved address"),
        ("https://user:secret@shop.example.com/faq", "user name or password"),
    ],
)
def test_bad_or_private_web_address_is_refused(owner_client, store, address, message):
    response = owner_client.post(add("url"), {"source_url": address})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert docs_of(store) == []


def test_upload_of_a_markdown_file_is_indexed_and_kept(
    owner_client, store, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "warranty.md",
        b"# Warranty\n\nEvery tent has a two-year warranty on seams and poles.\n",
        "text/markdown",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(add("upload"), {"file": upload, "title": ""})
    assert response.status_code == 302
    (doc,) = docs_of(store)
    assert (doc.type, doc.title, doc.file_name, doc.status) == (
        DocType.MANUAL,
        "Warranty",
        "warranty.md",
        DocStatus.READY,
    )
    with unscoped("tests"):
        assert doc.file.read().startswith(b"# Warranty")
    assert doc.id in search_doc_ids(store, "warranty on tent poles")


@pytest.mark.parametrize("kind", ["pdf", "docx", "html", "txt"])
def test_upload_of_each_supported_format_is_indexed(
    owner_client, store, kind, django_capture_on_commit_callbacks
):
    from tests.training.files import CARE_GUIDE_SECTIONS, make_docx, make_pdf

    files = {
        "pdf": ("care.pdf", make_pdf(), "application/pdf"),
        "docx": (
            "care.docx",
            make_docx(title="Down Care Guide", sections=CARE_GUIDE_SECTIONS),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "html": (
            "care.html",
            b"<html><head><title>Down Care Guide</title></head><body><h1>Down Care Guide</h1>"
            b"<p>Tumble dry on low heat with two clean tennis balls until no clumps remain.</p></body></html>",
            "text/html",
        ),
        "txt": (
            "care.txt",
            b"Tumble dry on low heat with two clean tennis balls until no clumps remain.",
            "text/plain",
        ),
    }
    name, data, content_type = files[kind]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(add("upload"), {"file": SimpleUploadedFile(name, data, content_type)})
    assert response.status_code == 302
    (doc,) = docs_of(store)
    assert (doc.type, doc.file_name, doc.status, doc.file_size) == (
        DocType.MANUAL,
        name,
        DocStatus.READY,
        len(data),
    )
    assert doc.chunk_count >= 1
    assert doc.id in search_doc_ids(store, "tumble dry with tennis balls")


def test_an_unreadable_file_is_listed_as_failed_with_its_reason(owner_client, store):
    upload = SimpleUploadedFile("broken.pdf", b"%PDF-1.4 this is not really a PDF", "application/pdf")
    response = owner_client.post(add("upload"), {"file": upload}, follow=True)
    (doc,) = docs_of(store)
    assert doc.status == DocStatus.FAILED and doc.status_reason
    body = response.content.decode()
    assert "was added but cannot be indexed" in body
    assert 'data-status="FAILED"' in body and "hx-trigger" not in body


def test_oversized_upload_is_refused(owner_client, store, settings):
    settings.API_MAX_UPLOAD_BYTES = 2048
    upload = SimpleUploadedFile("big.txt", b"x" * 2049, "text/plain")
    response = owner_client.post(add("upload"), {"file": upload})
    assert response.status_code == 400
    assert "Files up to 2 KB are accepted." in response.content.decode()
    assert docs_of(store) == []


def test_wrong_type_upload_is_refused(owner_client, store):
    upload = SimpleUploadedFile("setup.exe", b"MZ\x90\x00binary", "application/octet-stream")
    response = owner_client.post(add("upload"), {"file": upload})
    assert response.status_code == 400
    assert "Unsupported file type (.exe)" in response.content.decode()
    response = owner_client.post(add("upload"), {"title": "no file"})
    assert response.status_code == 400 and "Choose a file to upload." in response.content.decode()
    assert docs_of(store) == []


def test_an_unknown_kind_is_404(owner_client, store):
    assert owner_client.post(add("spreadsheet"), {"title": "x"}).status_code == 404
    assert docs_of(store) == []


def test_the_plan_limit_is_a_form_error(owner_client, store):
    from apps.stores.models import PlanTier

    with unscoped("tests"):
        store.plan_tier = PlanTier.STARTER
        store.save(update_fields=["plan_tier"])
        limit = store.limits.training_docs
        TrainingDoc.objects.bulk_create(
            TrainingDoc(store=store, type=DocType.FAQ, title=f"Question {index}?", content="Answer.")
            for index in range(limit)
        )
    response = owner_client.post(add("faq"), {"title": "One more?", "content": "No."})
    assert response.status_code == 400
    assert f"Your plan allows {limit} training documents." in response.content.decode()
    assert len(docs_of(store)) == limit


# --- changing documents ----------------------------------------------------------------------


def test_owner_edits_an_faq_and_it_is_reindexed(owner_client, store, faq, django_capture_on_commit_callbacks):
    page = owner_client.get(doc_url(faq, "edit"))
    assert page.status_code == 200 and "Yes, to every province" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            doc_url(faq, "edit"),
            {"title": "Do you ship to Canada?", "content": "Yes, with free shipping over $100 CAD."},
        )
    assert response.status_code == 302
    title, content, is_active, status, chunk_count, _ = snapshot(faq)
    assert content == "Yes, with free shipping over $100 CAD." and status == DocStatus.READY
    with unscoped("tests"):
        texts = " ".join(TrainingChunk.objects.filter(doc_id=faq.pk).values_list("text", flat=True))
    assert "free shipping over $100 CAD" in texts and "every province" not in texts


def test_edit_validation_changes_nothing(owner_client, store, faq):
    before = snapshot(faq)
    response = owner_client.post(doc_url(faq, "edit"), {"title": "", "content": "  "})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a title." in body and "Enter the answer." in body
    assert snapshot(faq) == before


def test_deactivate_removes_the_doc_from_retrieval_at_once(owner_client, store, faq):
    assert faq.id in search_doc_ids(store, "Do you ship to Canada?")
    response = owner_client.post(doc_url(faq, "active"), {"is_active": "0"})
    assert response.status_code == 302
    assert faq.id not in search_doc_ids(store, "Do you ship to Canada?")
    assert snapshot(faq)[2] is False
    assert "Inactive" in owner_client.get(INDEX).content.decode()
    owner_client.post(doc_url(faq, "active"), {"is_active": "1"})
    assert faq.id in search_doc_ids(store, "Do you ship to Canada?")


def test_the_list_is_kept_on_its_page_and_filter_after_an_action(owner_client, store, faq):
    response = owner_client.post(doc_url(faq, "active"), {"is_active": "0", "next_query": "type=FAQ&page=1"})
    assert response["Location"] == f"{INDEX}?page=1&type=FAQ"
    response = owner_client.post(
        doc_url(faq, "active"), {"is_active": "1", "next_query": "type=<script>&page=//evil.example"}
    )
    assert response["Location"] == INDEX


def test_delete_asks_for_confirmation_then_deletes(owner_client, store, faq):
    page = owner_client.get(doc_url(faq, "delete"))
    assert page.status_code == 200
    assert (
        "Delete this document?" in page.content.decode() and "Do you ship to Canada?" in page.content.decode()
    )
    assert len(docs_of(store)) == 1  # asking deletes nothing
    response = owner_client.post(doc_url(faq, "delete"))
    assert response.status_code == 302
    assert docs_of(store) == []
    with unscoped("tests"):
        assert not TrainingChunk.objects.filter(doc_id=faq.pk).exists()
    assert faq.id not in search_doc_ids(store, "Do you ship to Canada?")


def test_retrain_one_document(owner_client, store, django_capture_on_commit_callbacks):
    with unscoped("tests"):
        doc = TrainingDocFactory(store=store, status=DocStatus.FAILED, status_reason="The host was down.")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(doc_url(doc, "retrain"))
    assert response.status_code == 302
    assert snapshot(doc)[3] == DocStatus.QUEUED
    assert 'data-polling="true"' in owner_client.get(STATUS).content.decode()
    for callback in callbacks:
        callback()
    with unscoped("tests"):
        doc.refresh_from_db()
    assert (doc.status, doc.status_reason) == (DocStatus.READY, "")
    assert doc.chunk_count >= 1


def test_retrain_everything_returns_a_job_and_shows_its_progress(
    owner_client, store, django_capture_on_commit_callbacks
):
    with unscoped("tests"):
        TrainingDocFactory(store=store)
        TrainingDocFactory(store=store, title="Can I return sale items?", content="Yes, within 14 days.")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(f"{INDEX}/retrain")
    assert response.status_code == 302
    with unscoped("tests"):
        job = TrainingJob.objects.get(store=store)
    assert job.status == JobStatus.QUEUED
    fragment = owner_client.get(STATUS).content.decode()
    assert "Retraining queued" in fragment and 'data-polling="true"' in fragment
    # A second click while it is queued returns the same job.
    owner_client.post(f"{INDEX}/retrain")
    with unscoped("tests"):
        assert TrainingJob.objects.filter(store=store).count() == 1
    for callback in callbacks:
        callback()
    fragment = owner_client.get(STATUS).content.decode()
    assert "Retrained" in fragment and "2 documents: 2 ready" in fragment
    assert 'data-polling="false"' in fragment and "hx-trigger" not in fragment


# --- the polled status fragment ----------------------------------------------------------------


def test_status_fragment_polls_while_indexing_and_stops_when_settled(agent_client, store):
    with unscoped("tests"):
        doc = TrainingDocFactory(store=store, status=DocStatus.INDEXING, progress=40)
    fragment = agent_client.get(STATUS).content.decode()
    assert fragment.lstrip().startswith('<div id="training-status"') or 'id="training-status"' in fragment
    assert 'hx-trigger="every 2s"' in fragment and 'hx-get="/dashboard/training/status"' in fragment
    assert 'value="40"' in fragment and "40%" in fragment and "<html" not in fragment
    with unscoped("tests"):
        TrainingDoc.objects.filter(pk=doc.pk).update(
            status=DocStatus.FAILED, status_reason="No text was found."
        )
    fragment = agent_client.get(STATUS).content.decode()
    assert "hx-trigger" not in fragment and "No text was found." in fragment


def test_status_fragment_keeps_the_filter(owner_client, store):
    with unscoped("tests"):
        TrainingDocFactory(store=store, status=DocStatus.QUEUED)
    fragment = owner_client.get(STATUS, {"type": "FAQ"}).content.decode()
    assert 'hx-get="/dashboard/training/status?type=FAQ"' in fragment


# --- permissions: lower roles and other stores change nothing ----------------------------------


def test_agent_cannot_change_anything(agent_client, store, faq):
    before = snapshot(faq)
    attempts = [
        (add("faq"), {"title": "Q?", "content": "A."}),
        (add("upload"), {"file": SimpleUploadedFile("a.txt", b"text", "text/plain")}),
        (doc_url(faq, "edit"), {"title": "Changed", "content": "Changed"}),
        (doc_url(faq, "active"), {"is_active": "0"}),
        (doc_url(faq, "delete"), {}),
        (doc_url(faq, "retrain"), {}),
        (f"{INDEX}/retrain", {}),
    ]
    for path, data in attempts:
        assert agent_client.post(path, data).status_code == 403, path
    assert agent_client.get(doc_url(faq, "edit")).status_code == 403
    assert agent_client.get(doc_url(faq, "delete")).status_code == 403
    assert snapshot(faq) == before
    assert len(docs_of(store)) == 1
    with unscoped("tests"):
        assert not TrainingJob.objects.exists()


def test_another_stores_document_is_404_and_unchanged(owner_client, other_doc):
    before = snapshot(other_doc)
    for action in ("edit", "delete"):
        assert owner_client.get(doc_url(other_doc, action)).status_code == 404
    for action, data in [
        ("edit", {"title": "Mine now", "content": "Mine"}),
        ("active", {"is_active": "0"}),
        ("retrain", {}),
        ("delete", {}),
    ]:
        assert owner_client.post(doc_url(other_doc, action), data).status_code == 404, action
    assert snapshot(other_doc) == before
    assert "Store B's secret FAQ" not in owner_client.get(INDEX).content.decode()


def test_a_form_without_its_csrf_token_is_refused(owner, store):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert 'name="csrfmiddlewaretoken"' in client.get(INDEX).content.decode()
    response = client.post(add("faq"), {"title": "Q?", "content": "A."})
    assert response.status_code == 403
    assert docs_of(store) == []


def test_editing_a_web_page_refuses_a_private_address(owner_client, store):
    with unscoped("tests"):
        doc = TrainingDocFactory(
            store=store,
            type=DocType.URL,
            title="Care guide",
            content="",
            source_url="https://shop.example.com/care",
        )
    before = snapshot(doc)
    response = owner_client.post(
        doc_url(doc, "edit"), {"title": "Care guide", "source_url": "http://192.168.1.10/"}
    )
    assert response.status_code == 400
    assert "resolves to a private or reserved address" in response.content.decode()
    assert snapshot(doc) == before
    with unscoped("tests"):
        assert TrainingDoc.objects.get(pk=doc.pk).source_url == "https://shop.example.com/care"


def test_the_product_catalog_is_not_edited_by_hand(owner_client, store):
    with unscoped("tests"):
        doc = TrainingDocFactory(store=store, type=DocType.PRODUCT_CATALOG, title="Catalog", content="")
    response = owner_client.get(doc_url(doc, "edit"))
    assert response.status_code == 302 and response["Location"] == INDEX
    assert ">Edit</a>" not in owner_client.get(INDEX).content.decode()


def test_get_on_a_write_endpoint_is_not_allowed(owner_client, faq):
    assert owner_client.get(add("faq")).status_code == 405
    assert owner_client.get(doc_url(faq, "active")).status_code == 405
    assert owner_client.get(f"{INDEX}/retrain").status_code == 405


# --- query counts --------------------------------------------------------------------------------


def test_list_and_fragment_queries_do_not_grow_with_documents(
    owner_client, store, django_assert_max_num_queries, django_assert_num_queries
):
    with unscoped("tests"):
        TrainingDocFactory(store=store, status=DocStatus.QUEUED)
    owner_client.get(INDEX)  # session and caches warmed
    with django_assert_max_num_queries(12) as few:
        assert owner_client.get(INDEX).status_code == 200
    with unscoped("tests"):
        for index in range(40):
            TrainingDocFactory(store=store, title=f"Question {index}?", status=DocStatus.READY)
        TrainingJob.objects.create(store=store, status=JobStatus.RUNNING)
    with django_assert_num_queries(len(few.captured_queries)):
        assert owner_client.get(INDEX).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert owner_client.get(STATUS).status_code == 200
