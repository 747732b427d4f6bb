"""WSGI entry point: plain HTTP under gunicorn in the distributed mode (see DESIGN.md on WSGI vs ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")

application = get_wsgi_application()
