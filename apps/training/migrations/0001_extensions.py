"""Create the PostgreSQL extensions Convix needs: pgvector (``vector``) and ``pg_trgm``."""

from django.db import migrations

REQUIRED = {
    "vector": "pgvector",
    "pg_trgm": "pg_trgm (PostgreSQL contrib)",
}


class MissingExtension(RuntimeError):
    pass


def create_extensions(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", [list(REQUIRED)])
        available = {row[0] for row in cursor.fetchall()}
        missing = [name for name in REQUIRED if name not in available]
        if missing:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            major = version.split(".")[0]
            names = ", ".join(REQUIRED[name] for name in missing)
            raise MissingExtension(
                f"The PostgreSQL server at DATABASE_URL (version {version}) does not have {names}, which Convix "
                f"needs for vector search. Fix: install it on that server (Debian/Ubuntu: "
                f"`apt-get install postgresql-{major}-pgvector`; Docker: the `pgvector/pgvector` image; managed "
                f"PostgreSQL: enable the extension), or unset DATABASE_URL to use Convix's embedded PostgreSQL, "
                f"which ships pgvector."
            )
        for name in REQUIRED:
            cursor.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}"')


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [migrations.RunPython(create_extensions, migrations.RunPython.noop)]
