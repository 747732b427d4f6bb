"""``manage.py run_periodic``: the schedule of Celery beat, for the embedded default.

Without a broker there is no beat, so the run command starts this loop beside the web server:
it runs each task of ``CELERY_BEAT_SCHEDULE`` in-process at its interval (the inbound sweeper
that answers messages a failure left unanswered, and the re-queue of stuck ingestion).
``--once`` runs every task once and exits. Ctrl-C or SIGTERM stops the loop quietly.
"""

from __future__ import annotations

import logging
import signal
import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the periodic tasks in-process (the embedded default has no Celery beat)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every periodic task once, then exit")

    def handle(self, *args, once: bool = False, **options):
        if once:
            self._run(once=True)
            return
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._run(once=False)
        except KeyboardInterrupt:
            pass  # stopped by Ctrl-C or by scripts/run on its way out
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _run(self, *, once: bool) -> None:
        schedule = {
            entry["task"]: float(entry["schedule"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()
        }
        due = dict.fromkeys(schedule, 0.0)
        while True:
            now = time.monotonic()
            for name, interval in schedule.items():
                if once or now >= due[name]:
                    due[name] = now + interval
                    try:
                        result = current_app.tasks[name].apply().get(propagate=True)
                        self.stdout.write(f"{name}: {result}")
                    except Exception:  # noqa: BLE001 - one failing run must not stop the schedule
                        logger.exception("periodic task %s failed", name)
            if once:
                return
            time.sleep(1.0)
