"""Training: list, add (FAQ, URL, file upload), update, delete, retrain as a pollable job."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.training.models import DocStatus, JobStatus, TrainingChunk, TrainingDoc, TrainingJob
from convix.tenancy import unscoped
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def url(store, suffix=""):
    return f"/v1/stores/{store.pk}/training{suffix}"


def test_faq_is_indexed_on_commit(admin_client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(store),
            {"type": "FAQ", "title": "Do you ship to Canada?", "content": "Yes, in 5-8 days."},
            format="json",
        )
    assert response.status_code == 201
    doc_id = response.json()["id"]
    body = admin_client.get(url(store, f"/{doc_id}")).json()
    assert body["status"] == "READY" and body["chunk_count"] >= 1
    assert [d["id"] for d in admin_client.get(url(store), {"type": "FAQ"}).json()["results"]] == [doc_id]
    assert admin_client.get(url(store), {"type": "URL"}).json()["results"] == []


def test_upload_a_file_keeps_the_original(admin_client, store, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile(
        "returns.md", b"# Returns\n\nReturn within 30 days for a full refund.\n", "text/markdown"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(store), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["title"], body["has_file"], body["file_size"]) == (
        "MANUAL",
        "Returns",
        True,
        52,
    )
    with unscoped("tests"):
        doc = TrainingDoc.objects.get(pk=body["id"])
        assert doc.file.read().startswith(b"# Returns")
        assert doc.status == DocStatus.READY


def test_validation_errors_create_nothing(admin_client, store):
    assert error_of(admin_client.post(url(store), {"type": "FAQ", "title": "Q?"}, format="json"))[
        "fields"
    ] == {"non_field_errors": ["An FAQ needs a question and an answer."]}
    bad = admin_client.post(url(store), {"type": "URL", "source_url": "ftp://x"}, format="json")
    assert set(error_of(bad)["fields"]) == {"source_url"}
    bad = admin_client.post(url(store), {"type": "PRODUCT_CATALOG"}, format="json")
    assert set(error_of(bad)["fields"]) == {"type"}
    bad = admin_client.post(url(store), {"title": "no file"}, format="multipart")
    assert set(error_of(bad)["fields"]) == {"file"}
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(store=store).exists()


def test_update_and_deactivate_and_delete(admin_client, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        doc_id = admin_client.post(
            url(store), {"type": "FAQ", "title": "Q?", "content": "A."}, format="json"
        ).json()["id"]
        response = admin_client.patch(
            url(store, f"/{doc_id}"), {"content": "A, longer.", "is_active": False}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["content"] == "A, longer." and response.json()["is_active"] is False
    with unscoped("tests"):
        assert not TrainingChunk.objects.filter(doc_id=doc_id, is_active=True).exists()
    bad = admin_client.patch(url(store, f"/{doc_id}"), {"type": "URL"}, format="json")
    assert error_of(bad)["fields"] == {"type": ["This field is not accepted here."]}
    assert admin_client.delete(url(store, f"/{doc_id}")).status_code == 204
    with unscoped("tests"):
        assert not TrainingDoc.objects.filter(pk=doc_id).exists()
        assert not TrainingChunk.objects.filter(doc_id=doc_id).exists()


def test_retrain_returns_a_job_to_poll(admin_client, agent_client, store, django_capture_on_commit_callbacks):
    with unscoped("tests"):
        from tests.factories import TrainingDocFactory

        TrainingDocFactory(store=store)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(store, "/retrain"), {}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "QUEUED"
    job = agent_client.get(url(store, f"/jobs/{response.json()['id']}")).json()
    assert job["status"] == "DONE" and job["result"]["ready"] == 1 and job["finished_at"]


def test_retrain_while_one_is_queued_returns_it(admin_client, store):
    with unscoped("tests"):
        queued = TrainingJob.objects.create(store=store, status=JobStatus.QUEUED)
    response = admin_client.post(url(store, "/retrain"), {}, format="json")
    assert response.json()["id"] == str(queued.pk)
    with unscoped("tests"):
        assert TrainingJob.objects.count() == 1
