#!/usr/bin/env python
"""Django's command-line utility for Convix.

With DATABASE_URL unset, the embedded PostgreSQL is started first (and left running; the run
command stops it).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "convix.settings")
    if not os.environ.get("DATABASE_URL", "").strip():
        from convix import embedded_pg

        embedded_pg.start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
