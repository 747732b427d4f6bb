"""The Celery app. Workers: ``celery -A convix worker -Q ai,outbound,ingest,default``."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")

app = Celery("convix")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def load_models(**kwargs):
    """Load the offline models when a worker process starts, not on its first message."""
    from convix.ai.understanding import warm_up

    warm_up()
