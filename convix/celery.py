"""The Celery app. Workers: ``celery -A convix worker -Q ai,outbound,ingest,default``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")

app = Celery("convix")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
