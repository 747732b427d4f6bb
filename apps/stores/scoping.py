"""Entry-point helpers that switch a store's scope on: Celery tasks and by-name enqueueing.

(The dashboard's is ``apps.stores.middleware``; the API, webhook and WebSocket helpers live with
those entry points and all use ``convix.tenancy.store_scope``.)
"""

from __future__ import annotations

import functools

from celery import current_app, shared_task
from django.db import transaction

from apps.stores.models import Store
from convix.tenancy import store_scope


def store_task(name: str, **options):
    """A Celery task that takes ``store_id`` and runs inside that store's scope.

    The wrapped function receives ``store=`` (an active Store) instead of ``store_id``. A deleted
    or deactivated store ends the task quietly: there is nothing left to do for it.
    Tasks are acks_late (set project-wide) and must be idempotent.
    """

    def decorator(function):
        @shared_task(name=name, bind=False, **options)
        @functools.wraps(function)
        def task(store_id, **kwargs):
            store = Store.objects.filter(pk=store_id, is_active=True).first()
            if store is None:
                return None
            with store_scope(store):
                return function(store=store, **kwargs)

        return task

    return decorator


def enqueue_on_commit(name: str, *, robust: bool = False, **kwargs) -> None:
    """Queue the task ``name`` once the current transaction commits.

    By name, so a lower app can trigger a higher one without importing it (STYLE.md). With
    ``robust``, a broker that cannot take the task (Redis down) is logged instead of raised: for
    work that a sweeper finds again, so the committed write is not reported as a failure.
    """

    def send():
        current_app.tasks[name].apply_async(kwargs=kwargs)

    transaction.on_commit(send, robust=robust)
