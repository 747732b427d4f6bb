"""The knowledge a store teaches its agent: documents and their embedded chunks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

from apps.stores.models import Store
from convix.tenancy import StoreScopedManager

EMBEDDING_DIMENSIONS = 384


class DocType(models.TextChoices):
    FAQ = "FAQ", "FAQ"
    POLICY = "POLICY", "Policy"
    PRODUCT_CATALOG = "PRODUCT_CATALOG", "Product catalog"
    URL = "URL", "Web page"
    MANUAL = "MANUAL", "Uploaded file"


class DocStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    INDEXING = "INDEXING", "Indexing"
    READY = "READY", "Ready"
    FAILED = "FAILED", "Failed"


class TrainingDoc(models.Model):
    """One source of knowledge. For an FAQ, ``title`` is the question and ``content`` the answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="training_docs")
    type = models.CharField(max_length=20, choices=DocType.choices)
    title = models.CharField(max_length=500)
    content = models.TextField(blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    # The uploaded original (MANUAL documents uploaded as a file); its text is in ``content``.
    file = models.FileField(upload_to="training/%Y/%m/", max_length=500, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=120, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=DocStatus.choices, default=DocStatus.QUEUED)
    status_reason = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [models.Index(fields=["store", "type", "is_active"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class TrainingChunk(models.Model):
    """A retrievable piece of a document: text, a 384-d embedding and a full-text vector.

    Vector indexing is per store (see ``apps.training.vector_index``): a store large enough for
    an approximate index gets its own partial HNSW and GIN indexes (``WHERE store_id = ...``),
    so its recall never depends on the other stores in the table; smaller stores are scanned
    exactly through the ``store`` b-trees. There is deliberately no GIN index over every store's
    full-text vectors (migration 0005): the planner would read a common word's rows in every store.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="training_chunks")
    doc = models.ForeignKey(TrainingDoc, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=500, blank=True)
    section = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    token_count = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    search_vector = SearchVectorField(null=True)
    # What the chunk is about beyond its text: {"product_id": ..., "sku": ..., "question": ...}.
    metadata = models.JSONField(default=dict, blank=True)
    # Copied from the document so retrieval filters on one table.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["store", "doc", "ordinal"], name="chunk_store_doc_ordinal"),
            models.Index(fields=["store", "content_hash"], name="chunk_store_hash"),
        ]
        ordering = ["doc", "ordinal"]

    def __str__(self) -> str:
        return f"{self.title} #{self.ordinal}"


class JobStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class TrainingJob(models.Model):
    """One retraining of a store's knowledge, which callers can poll until it ends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="training_jobs")
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # The counts of ``services.store_retrain``: docs, ready, failed, unchanged, chunks, ...
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedManager()

    class Meta:
        indexes = [models.Index(fields=["store", "-created_at"], name="training_job_store_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Retrain {self.store_id} · {self.status}"
