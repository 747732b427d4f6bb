"""Celery tasks of the ``ingest`` queue. Each takes ids, switches on its store's scope itself,
and is safe to run twice (indexing is idempotent; a retrain skips unchanged documents)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.stores.models import Store
from apps.training import services
from apps.training.models import DocStatus, TrainingDoc
from convix.tenancy import store_scope, unscoped

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
# A document QUEUED or INDEXING without any update for this long lost its task (a worker was
# killed, the broker restarted): ``ingest.requeue_stuck`` queues it again.
STUCK_AFTER = timedelta(minutes=15)


def _active_store(store_id) -> Store | None:
    return Store.objects.filter(pk=store_id, is_active=True).first()


@shared_task(name="ingest.index_doc", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def index_doc(self, store_id: str, doc_id: str) -> str | None:
    """Index one document (``services.doc_index``). Retries transient failures with backoff."""
    store = _active_store(store_id)
    if store is None:
        return None
    # Run in-process (no broker), a retry would block the caller: the first failure is final.
    final_attempt = bool(self.request.is_eager) or self.request.retries >= self.max_retries
    with store_scope(store):
        try:
            doc = services.doc_index(store=store, doc_id=doc_id, final_attempt=final_attempt)
        except TrainingDoc.DoesNotExist:
            return None  # deleted since it was queued
        except services.IngestionError as error:
            if not error.retryable:
                raise
            raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from error
    return doc.status


@shared_task(name="ingest.retrain_store", acks_late=True)
def retrain_store(store_id: str) -> dict | None:
    """Re-index every document of a store (``services.store_retrain``)."""
    store = _active_store(store_id)
    if store is None:
        return None
    with store_scope(store):
        return services.store_retrain(store=store)


@shared_task(name="ingest.requeue_stuck", acks_late=True)
def requeue_stuck() -> int:
    """Queue again every document left QUEUED or INDEXING for longer than ``STUCK_AFTER``.
    Run it periodically (Celery beat, every few minutes). Returns how many were queued."""
    cutoff = timezone.now() - STUCK_AFTER
    with unscoped("maintenance"):
        stuck = list(
            TrainingDoc.objects.filter(
                status__in=[DocStatus.QUEUED, DocStatus.INDEXING],
                updated_at__lt=cutoff,
                store__is_active=True,
            ).values_list("store_id", "id")
        )
        # Touch them so the next sweep does not queue them again before their tasks run.
        TrainingDoc.objects.filter(pk__in=[doc_id for _, doc_id in stuck]).update(updated_at=timezone.now())
    for store_id, doc_id in stuck:
        index_doc.delay(str(store_id), str(doc_id))
    if stuck:
        logger.info("Re-queued %d stuck training documents.", len(stuck))
    return len(stuck)


@shared_task(name="ingest.retrain_job", acks_late=True)
def retrain_job(store_id: str, job_id: str) -> None:
    """Run one polled retraining job (``services.training_job_run``)."""
    store = _active_store(store_id)
    if store is None:
        return None
    with store_scope(store):
        services.training_job_run(store=store, job_id=job_id)
    return None
