"""Drop the GIN index over every store's full-text vectors.

A store's full-text query always names the store. With one GIN index over all 1M chunks, the
planner read a common word's posting list for every store (840,000 rows for ``gear``, 430 ms)
to answer a store of 2,000 chunks. Without it, a store below ``VECTOR_INDEX_MIN_CHUNKS`` is
filtered through its ``store_id`` b-tree (2,000 rows in about 2 ms) and a larger store uses its
own partial GIN index (``apps.training.vector_index``). Dropped concurrently: ingestion and
retrieval go on meanwhile.
"""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("training", "0004_upload_file_and_jobs"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="trainingchunk", name="chunk_search_vector"),
    ]
