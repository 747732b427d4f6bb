"""Writes to a store's knowledge: documents, their indexing, retraining.

Lifecycle of a document: ``QUEUED`` (created or edited; an ``ingest.index_doc`` task is
scheduled on commit) → ``INDEXING`` (``progress`` 0..100 while new text is embedded) →
``READY`` or ``FAILED`` with a ``status_reason`` a merchant can act on. Indexing is
idempotent: unchanged text is never embedded twice, and unchanged chunks keep their ids.
Deactivating or deleting a document takes it out of retrieval in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from apps.stores.models import Product, Store
from apps.training import ingestion, vector_index
from apps.training.models import DocStatus, DocType, TrainingChunk, TrainingDoc
from convix.ai import extract
from convix.ai.embeddings import EmbeddingError, get_embedder
from convix.http import FetchError

# Fields a merchant may change with doc_update, and those whose change needs re-indexing.
EDITABLE_FIELDS = {"title", "content", "source_url", "metadata", "is_active"}
REINDEX_FIELDS = {"title", "content", "source_url"}


class IngestionError(Exception):
    """Indexing a document failed. ``retryable`` errors (a fetch timeout, the embedding
    provider down) are worth another attempt later; the others need the merchant."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


# --- scheduling ----------------------------------------------------------------------------


def _schedule_index(doc: TrainingDoc) -> None:
    """Queue ``ingest.index_doc`` once the current transaction commits.

    ``robust``: a broker outage must not fail the merchant's save; the document stays QUEUED
    and ``ingest.requeue_stuck`` picks it up.
    """
    from apps.training import tasks

    store_id, doc_id = str(doc.store_id), str(doc.id)
    transaction.on_commit(lambda: tasks.index_doc.delay(store_id, doc_id), robust=True)


# --- documents -----------------------------------------------------------------------------


def _check_plan_limit(store: Store) -> None:
    limit = store.limits.training_docs
    if limit is not None and TrainingDoc.objects.filter(store=store).count() >= limit:
        raise ValidationError(
            f"Your plan allows {limit} training documents. Delete one or upgrade to add more.",
            code="plan_limit",
        )


def doc_create(
    *,
    store: Store,
    type: str,  # noqa: A002 - the field's name
    title: str,
    content: str = "",
    source_url: str = "",
    file_name: str = "",
    file_bytes: bytes | None = None,
    content_type: str = "",
    metadata: dict | None = None,
    created_by=None,
) -> TrainingDoc:
    """Create a document and schedule its indexing on commit.

    - FAQ: ``title`` is the question, ``content`` the answer (both required).
    - POLICY: ``content`` is Markdown or plain text.
    - URL: ``source_url`` (http or https) is fetched by the task; a blank ``title`` takes the
      page's title.
    - MANUAL: ``file_bytes`` with ``file_name`` (.txt, .md, .html, .pdf, .docx), or ``content``.
      The file's text is extracted here, so the upload itself is not stored; a file that cannot
      be read gives a document in ``FAILED`` with the reason (nothing is scheduled).
    - PRODUCT_CATALOG: built from the store's products; use :func:`catalog_sync_doc`.

    Raises ValidationError for invalid input or when the store's plan limit is reached.
    """
    if type not in DocType.values:
        raise ValidationError(f"Unknown document type {type!r}.", code="invalid")
    _check_plan_limit(store)
    title = (title or "").strip()
    metadata = dict(metadata or {})
    fields = {"content": content or "", "source_url": "", "file_name": "", "content_type": ""}
    failure = ""
    if type == DocType.FAQ:
        if not title or not content.strip():
            raise ValidationError("An FAQ needs a question and an answer.", code="required")
    elif type == DocType.POLICY:
        if not title or not content.strip():
            raise ValidationError("A policy needs a title and its text.", code="required")
        fields["content_type"] = extract.MARKDOWN
    elif type == DocType.URL:
        source_url = (source_url or "").strip()
        try:
            URLValidator(schemes=["http", "https"])(source_url)
        except ValidationError:
            raise ValidationError(
                "Enter a web address starting with http:// or https://.", code="invalid"
            ) from None
        fields["source_url"] = source_url
        if not title:
            title = source_url[:500]
            metadata["title_from_page"] = True
    elif type == DocType.MANUAL:
        if file_bytes is not None:
            fields["file_name"] = (file_name or "upload")[:255]
            try:
                parsed = extract.extract_file(data=file_bytes, file_name=file_name, content_type=content_type)
            except extract.ExtractionError as error:
                failure = str(error)
                fields["content"] = ""
                fields["content_type"] = content_type[:120]
            else:
                kind = extract.detect_format(file_name=file_name, content_type=content_type)
                if kind == extract.PLAIN_TEXT:
                    fields["content"] = "\n\n".join(p for s in parsed.sections for p in s.paragraphs)
                    fields["content_type"] = extract.PLAIN_TEXT
                else:
                    fields["content"] = parsed.to_markdown()
                    fields["content_type"] = extract.MARKDOWN
                title = title or parsed.title
            title = title or fields["file_name"]
        elif not content.strip():
            raise ValidationError("Upload a file or paste the text.", code="required")
        else:
            fields["content_type"] = extract.MARKDOWN
        if not title:
            raise ValidationError("Give the document a title.", code="required")
    elif type == DocType.PRODUCT_CATALOG:
        fields["content"] = ""
        title = title or f"{store.name} product catalog"
    with transaction.atomic():
        doc = TrainingDoc.objects.create(
            store=store,
            type=type,
            title=title[:500],
            metadata=metadata,
            created_by=created_by,
            status=DocStatus.FAILED if failure else DocStatus.QUEUED,
            status_reason=failure,
            **fields,
        )
        if not failure:
            _schedule_index(doc)
    return doc


def doc_update(*, store: Store, doc: TrainingDoc, **fields) -> TrainingDoc:
    """Change a document's ``title``, ``content``, ``source_url``, ``metadata`` or ``is_active``.
    A change of text re-queues indexing (only changed chunks are re-embedded); ``is_active``
    goes through :func:`doc_set_active`. Raises ValidationError for other fields."""
    _check_owned(store, doc)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="invalid"
        )
    if doc.type == DocType.URL and "source_url" in fields:
        try:
            URLValidator(schemes=["http", "https"])(fields["source_url"])
        except ValidationError:
            raise ValidationError(
                "Enter a web address starting with http:// or https://.", code="invalid"
            ) from None
    with transaction.atomic():
        doc = TrainingDoc.objects.select_for_update().get(store=store, pk=doc.pk)
        changed = []
        for name in ("title", "content", "source_url", "metadata"):
            if name in fields and getattr(doc, name) != fields[name]:
                setattr(doc, name, fields[name])
                changed.append(name)
        if "title" in changed:
            doc.metadata.pop("title_from_page", None)
        if changed:
            if REINDEX_FIELDS & set(changed):
                doc.status, doc.status_reason, doc.progress = DocStatus.QUEUED, "", 0
                changed += ["status", "status_reason", "progress", "metadata"]
            doc.save(update_fields=sorted(set(changed)) + ["updated_at"])
            if REINDEX_FIELDS & set(changed):
                _schedule_index(doc)
        if "is_active" in fields:
            doc = doc_set_active(store=store, doc=doc, is_active=bool(fields["is_active"]))
    return doc


def doc_set_active(*, store: Store, doc: TrainingDoc, is_active: bool) -> TrainingDoc:
    """Turn a document on or off for retrieval. Its chunks change in the same transaction, so an
    inactive document's text is never retrieved after this commits."""
    _check_owned(store, doc)
    with transaction.atomic():
        doc = TrainingDoc.objects.select_for_update().get(store=store, pk=doc.pk)
        doc.is_active = is_active
        doc.save(update_fields=["is_active", "updated_at"])
        TrainingChunk.objects.filter(store=store, doc=doc).exclude(is_active=is_active).update(
            is_active=is_active
        )
    return doc


def doc_delete(*, store: Store, doc: TrainingDoc) -> None:
    """Delete a document, its chunks and its uploaded original (once the deletion commits). A
    running indexing of it finds it gone and stops."""
    _check_owned(store, doc)
    with transaction.atomic():
        TrainingChunk.objects.filter(store=store, doc_id=doc.pk).delete()
        TrainingDoc.objects.filter(store=store, pk=doc.pk).delete()
        if doc.file:
            storage, name = doc.file.storage, doc.file.name
            transaction.on_commit(lambda: storage.delete(name), robust=True)


def _check_owned(store: Store, doc: TrainingDoc) -> None:
    if doc.store_id != store.id:
        raise TrainingDoc.DoesNotExist("No such document.")


# --- indexing ------------------------------------------------------------------------------


@dataclass
class IndexOutcome:
    doc: TrainingDoc
    embedded: int = 0  # texts sent to the embedder
    reused: int = 0  # new rows whose embedding was reused from the store
    unchanged: bool = False  # the document's chunks were already indexed as they are


def _set_progress(doc: TrainingDoc, progress: int) -> None:
    # A plain UPDATE (committed on its own when no transaction is open) so the dashboard sees
    # progress while the embedding runs.
    TrainingDoc.objects.filter(store_id=doc.store_id, pk=doc.pk).update(
        progress=progress, updated_at=timezone.now()
    )
    doc.progress = progress


def _fail(doc: TrainingDoc, reason: str, *, retrying: bool) -> None:
    status = DocStatus.QUEUED if retrying else DocStatus.FAILED
    if retrying:
        reason = f"{reason} Retrying shortly."
    elif doc.chunk_count:
        # The chunks of the last successful indexing are left in place.
        reason = f"{reason} The previously indexed version is still used."
    TrainingDoc.objects.filter(store_id=doc.store_id, pk=doc.pk).update(
        status=status, status_reason=reason[:2000], updated_at=timezone.now()
    )
    doc.status, doc.status_reason = status, reason


def doc_index(*, store: Store, doc_id, embedder=None, final_attempt: bool = True) -> TrainingDoc:
    """Index one document (the body of ``ingest.index_doc``). Returns it in READY or FAILED.

    Raises TrainingDoc.DoesNotExist when the document is gone. A retryable failure (fetch
    timeout, embedding provider down) raises IngestionError(retryable=True) after leaving the
    document QUEUED with the reason, unless ``final_attempt``, which marks it FAILED instead.
    Run it outside a transaction in production so progress is visible.
    """
    return index_document(store=store, doc_id=doc_id, embedder=embedder, final_attempt=final_attempt).doc


def index_document(
    *,
    store: Store,
    doc_id,
    embedder=None,
    final_attempt: bool = True,
    prebuilt: ingestion.BuiltChunks | None = None,
    vectors: dict | None = None,
) -> IndexOutcome:
    """:func:`doc_index` with counts of what was embedded and reused. ``prebuilt`` (the
    document's chunks, already built) and ``vectors`` (embeddings by stored hash, already
    computed) let :func:`store_retrain` batch the embedding of many small documents."""
    embedder = embedder or get_embedder()
    try:
        doc = TrainingDoc.objects.get(store=store, pk=uuid.UUID(str(doc_id)))
    except ValueError:
        raise TrainingDoc.DoesNotExist("No such document.") from None
    was_ready = doc.status == DocStatus.READY
    TrainingDoc.objects.filter(store=store, pk=doc.pk).update(
        status=DocStatus.INDEXING, status_reason="", progress=0, updated_at=timezone.now()
    )
    try:
        built = prebuilt or ingestion.build_chunks(store=store, doc=doc, embedder=embedder)
    except (extract.ExtractionError, FetchError) as error:
        retryable = getattr(error, "retryable", False)
        _fail(doc, str(error), retrying=retryable and not final_attempt)
        if retryable and not final_attempt:
            raise IngestionError(str(error), retryable=True) from error
        return IndexOutcome(doc=doc)
    except Exception as error:
        _fail(
            doc,
            f"Indexing failed unexpectedly ({type(error).__name__}). Try again or contact support.",
            retrying=False,
        )
        raise
    if not built.chunks:
        _fail(doc, "No text to index was found.", retrying=False)
        return IndexOutcome(doc=doc)

    hashes = [ingestion.stored_hash(chunk, embedder.model_id) for chunk in built.chunks]
    new_doc_hash = ingestion.doc_hash(hashes)
    if (
        was_ready
        and doc.content_hash == new_doc_hash
        and TrainingChunk.objects.filter(store=store, doc=doc).count() == len(hashes)
    ):
        TrainingDoc.objects.filter(store=store, pk=doc.pk).update(
            status=DocStatus.READY, progress=100, updated_at=timezone.now()
        )
        doc.status, doc.progress = DocStatus.READY, 100
        return IndexOutcome(doc=doc, unchanged=True)
    _set_progress(doc, 5)

    # Embed only what neither this document nor another of the store's has embedded already.
    own = set(TrainingChunk.objects.filter(store=store, doc=doc).values_list("content_hash", flat=True))
    wanted = {key for key in hashes if key not in own}
    given = {key: vectors[key] for key in wanted if vectors and key in vectors}
    found = ingestion.reusable_embeddings(store=store, hashes=wanted - given.keys())
    vectors = {**found, **given}
    texts = {
        key: chunk.embed_text
        for chunk, key in zip(built.chunks, hashes, strict=True)
        if key in wanted and key not in vectors
    }
    reused = len(found)

    def on_progress(done: int, total: int) -> None:
        _set_progress(doc, 5 + int(90 * done / total))

    try:
        vectors.update(ingestion.embed_in_batches(texts, embedder=embedder, on_progress=on_progress))
    except EmbeddingError as error:
        _fail(doc, f"The embedding provider failed: {error}.", retrying=not final_attempt)
        if not final_attempt:
            raise IngestionError(str(error), retryable=True) from error
        return IndexOutcome(doc=doc)

    with transaction.atomic():
        # Raises DoesNotExist if the document was deleted while embedding: nothing to write.
        doc = TrainingDoc.objects.select_for_update().get(store=store, pk=doc.pk)
        ingestion.replace_chunks(
            store=store, doc=doc, chunks=built.chunks, hashes=hashes, vectors=vectors, is_active=doc.is_active
        )
        for name, value in built.doc_updates.items():
            setattr(doc, name, value)
        doc.status, doc.status_reason, doc.progress = DocStatus.READY, "", 100
        doc.chunk_count = len(hashes)
        doc.content_hash = new_doc_hash
        doc.indexed_at = timezone.now()
        doc.save(
            update_fields=[
                "status",
                "status_reason",
                "progress",
                "chunk_count",
                "content_hash",
                "indexed_at",
                "updated_at",
                *built.doc_updates,
            ]
        )
    vector_index.ensure_store_indexes(store.id)
    return IndexOutcome(doc=doc, embedded=len(texts), reused=reused)


def _catalog_doc(store: Store) -> TrainingDoc:
    doc = TrainingDoc.objects.filter(store=store, type=DocType.PRODUCT_CATALOG).order_by("created_at").first()
    if doc is None:
        doc = TrainingDoc.objects.create(
            store=store,
            type=DocType.PRODUCT_CATALOG,
            title=f"{store.name} product catalog",
            metadata={"source": "store products"},
        )
    return doc


def catalog_sync_doc(*, store: Store) -> TrainingDoc:
    """The store's PRODUCT_CATALOG document (created if missing), queued for re-indexing from
    the current products. Call it after a product sync; only changed products are re-embedded."""
    with transaction.atomic():
        doc = _catalog_doc(store)
        TrainingDoc.objects.filter(store=store, pk=doc.pk).update(
            status=DocStatus.QUEUED, updated_at=timezone.now()
        )
        doc.status = DocStatus.QUEUED
        _schedule_index(doc)
    return doc


def store_retrain(*, store: Store, embedder=None) -> dict:
    """Re-index every document of the store, now (the body of ``ingest.retrain_store``).

    Creates the catalog document when the store has active products and none exists. Unchanged
    documents are skipped and unchanged chunks are not re-embedded. The new text of many small
    documents (FAQs) is embedded together in full batches rather than one document at a time;
    a document with much new text is indexed on its own, with progress. Returns counts:
    ``{"docs", "ready", "failed", "unchanged", "chunks", "embedded", "reused"}``.
    """
    embedder = embedder or get_embedder()
    if Product.objects.filter(store=store, is_active=True).exists():
        _catalog_doc(store)
    totals = {"docs": 0, "ready": 0, "failed": 0, "unchanged": 0, "chunks": 0, "embedded": 0, "reused": 0}

    def run(doc_id, **batched) -> None:
        try:
            outcome = index_document(store=store, doc_id=doc_id, embedder=embedder, **batched)
        except TrainingDoc.DoesNotExist:
            return  # deleted meanwhile
        totals["docs"] += 1
        totals["embedded"] += outcome.embedded
        totals["reused"] += outcome.reused
        totals["unchanged"] += int(outcome.unchanged)
        if outcome.doc.status == DocStatus.READY:
            totals["ready"] += 1
            totals["chunks"] += outcome.doc.chunk_count
        else:
            totals["failed"] += 1

    group: list[tuple] = []
    texts: dict[str, str] = {}

    def flush() -> None:
        try:
            vectors = ingestion.embed_in_batches(texts, embedder=embedder)
        except EmbeddingError:
            vectors = {}  # each document then tries on its own and records the failure
        totals["embedded"] += len(vectors)
        for doc_id, built in group:
            run(doc_id, prebuilt=built, vectors=vectors)
        group.clear()
        texts.clear()

    for doc in TrainingDoc.objects.filter(store=store).order_by("created_at"):
        if doc.type == DocType.URL:
            run(doc.id)  # fetched once, inside its own indexing
            continue
        try:
            built = ingestion.build_chunks(store=store, doc=doc, embedder=embedder)
        except (extract.ExtractionError, FetchError):
            run(doc.id)  # records the failure
            continue
        keys = {ingestion.stored_hash(c, embedder.model_id): c.embed_text for c in built.chunks}
        known = set(
            TrainingChunk.objects.filter(store=store, content_hash__in=list(keys)).values_list(
                "content_hash", flat=True
            )
        )
        new = {key: text for key, text in keys.items() if key not in known and key not in texts}
        if len(new) > ingestion.EMBED_BATCH:
            run(doc.id, prebuilt=built)
            continue
        group.append((doc.id, built))
        texts.update(new)
        if len(texts) >= 4 * ingestion.EMBED_BATCH:
            flush()
    flush()
    return totals


def store_retrain_request(*, store: Store) -> None:
    """Queue ``ingest.retrain_store`` on commit (what the dashboard's "Retrain" button calls)."""
    from apps.training import tasks

    store_id = str(store.id)
    transaction.on_commit(lambda: tasks.retrain_store.delay(store_id), robust=True)


# --- uploads and retraining jobs (REST API, dashboard) ----------------------------------------


def doc_create_from_upload(
    *,
    store: Store,
    file_name: str,
    file_bytes: bytes,
    content_type: str = "",
    title: str = "",
    created_by=None,
) -> TrainingDoc:
    """A MANUAL document from an uploaded file (.txt, .md, .html, .pdf, .docx): its text is
    extracted as :func:`doc_create` does, and the original is kept in ``TrainingDoc.file``."""
    from django.core.files.base import ContentFile

    with transaction.atomic():
        doc = doc_create(
            store=store,
            type=DocType.MANUAL,
            title=title,
            file_name=file_name,
            file_bytes=file_bytes,
            content_type=content_type,
            created_by=created_by,
        )
        doc.file.save(f"{store.id}/{doc.id}/{doc.file_name}", ContentFile(file_bytes), save=False)
        doc.file_size = len(file_bytes)
        TrainingDoc.objects.filter(store=store, pk=doc.pk).update(file=doc.file.name, file_size=doc.file_size)
    return doc


def training_job_request(*, store: Store, requested_by=None):
    """Queue a retraining of the whole store (``ingest.retrain_job``) and return its job, which
    callers poll. A job already queued or running is returned instead of a second one."""
    from apps.training import tasks
    from apps.training.models import JobStatus, TrainingJob

    with transaction.atomic():
        running = (
            TrainingJob.objects.select_for_update()
            .filter(store=store, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .order_by("-created_at")
            .first()
        )
        if running is not None:
            return running
        job = TrainingJob.objects.create(store=store, requested_by=requested_by)
        store_id, job_id = str(store.id), str(job.id)
        transaction.on_commit(lambda: tasks.retrain_job.delay(store_id, job_id), robust=True)
    return job


def training_job_run(*, store: Store, job_id) -> None:
    """Run a queued retraining job (the body of ``ingest.retrain_job``), recording its outcome."""
    from apps.training.models import JobStatus, TrainingJob

    updated = TrainingJob.objects.filter(store=store, pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not updated:
        return  # already run, or gone
    try:
        result = store_retrain(store=store)
    except Exception as error:
        TrainingJob.objects.filter(store=store, pk=job_id).update(
            status=JobStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    TrainingJob.objects.filter(store=store, pk=job_id).update(
        status=JobStatus.DONE, result=result, finished_at=timezone.now()
    )


# --- dashboard: retrain one document -----------------------------------------------------------


def doc_reindex_request(*, store: Store, doc: TrainingDoc) -> TrainingDoc:
    """Queue one document's indexing again (the training manager's "Retrain" on a row): it goes
    back to QUEUED and ``ingest.index_doc`` runs on commit. Unchanged chunks keep their
    embeddings; a FAILED document (an unreachable page, say) gets another attempt."""
    _check_owned(store, doc)
    with transaction.atomic():
        TrainingDoc.objects.filter(store=store, pk=doc.pk).update(
            status=DocStatus.QUEUED, status_reason="", progress=0, updated_at=timezone.now()
        )
        doc.status, doc.status_reason, doc.progress = DocStatus.QUEUED, "", 0
        _schedule_index(doc)
    return doc
