"""Ingestion of every DocType through the services and the Celery tasks: statuses, progress,
idempotency, deactivation and deletion, store isolation. Real embeddings, real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from apps.stores.models import Product
from apps.training import selectors, services, tasks
from apps.training.models import DocStatus, DocType, TrainingChunk, TrainingDoc
from convix.ai.embeddings import get_embedder
from convix.tenancy import store_scope, unscoped
from tests.factories import ProductFactory, VariantFactory
from tests.training.conftest import CountingEmbedder
from tests.training.files import make_docx, make_pdf

pytestmark = pytest.mark.django_db

RETURNS_POLICY = """# Returns Policy

## The return window

You can return most items within 45 days of delivery. Holiday orders placed between November 1
and December 24 can be returned until January 31.

## Final sale

Fuel canisters, bear spray and personalised items are final sale and cannot be returned.
"""


def chunks_of(doc) -> list[TrainingChunk]:
    return list(TrainingChunk.objects.filter(store_id=doc.store_id, doc=doc).order_by("ordinal"))


def create(store, capture, **fields) -> TrainingDoc:
    """doc_create, then run the on-commit indexing task as the commit would."""
    with capture(execute=True):
        doc = services.doc_create(store=store, **fields)
    doc.refresh_from_db()
    return doc


def assert_ready(doc, chunk_count):
    assert (doc.status, doc.status_reason, doc.progress, doc.chunk_count) == (
        DocStatus.READY,
        "",
        100,
        chunk_count,
    )
    assert doc.indexed_at is not None
    assert len(doc.content_hash) == 64
    assert TrainingChunk.objects.filter(store_id=doc.store_id, doc=doc).count() == chunk_count


def test_faq_is_indexed_as_one_chunk_with_embedding_and_full_text(
    in_store, django_capture_on_commit_callbacks
):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.FAQ,
        title="Do you ship to Canada?",
        content="Yes. Canadian orders ship by UPS Standard for $19.95, free from $199.",
        metadata={"category": "shipping"},
    )
    assert_ready(doc, 1)
    (chunk,) = chunks_of(doc)
    assert (chunk.title, chunk.section, chunk.text, chunk.metadata, chunk.is_active) == (
        "Do you ship to Canada?",
        "",
        "Yes. Canadian orders ship by UPS Standard for $19.95, free from $199.",
        {"category": "shipping", "question": "Do you ship to Canada?"},
        True,
    )
    expected = get_embedder().embed(
        ["Do you ship to Canada? Yes. Canadian orders ship by UPS Standard for $19.95, free from $199."]
    )[0]
    assert float(np.dot(np.asarray(chunk.embedding), expected)) > 0.9999
    # The full-text vector weights the title (A) above the text (C).
    assert chunk.search_vector == (
        "'19.95':14C '199':17C 'canada':5A 'canadian':7C 'free':15C 'order':8C 'ship':3A,9C 'standard':12C "
        "'up':11C 'yes':6C"
    )


def test_policy_is_chunked_by_section(in_store, django_capture_on_commit_callbacks):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.POLICY,
        title="Returns Policy",
        content=RETURNS_POLICY,
    )
    assert_ready(doc, 2)
    assert [(c.title, c.section, c.text) for c in chunks_of(doc)] == [
        (
            "Returns Policy",
            "The return window",
            "You can return most items within 45 days of delivery. Holiday orders placed between November 1 "
            "and December 24 can be returned until January 31.",
        ),
        (
            "Returns Policy",
            "Final sale",
            "Fuel canisters, bear spray and personalised items are final sale and cannot be returned.",
        ),
    ]


def test_product_catalog_is_one_chunk_per_active_product(in_store, django_capture_on_commit_callbacks):
    tent = ProductFactory(
        store=in_store,
        sku="TENT-1",
        title="Juniper 1P Tent",
        category="Tents",
        price=Decimal("329.00"),
        url="https://shop.example/p/juniper",
    )
    VariantFactory(product=tent, sku="TENT-1-MOSS", title="Moss", price=Decimal("329.00"), stock=2)
    VariantFactory(product=tent, sku="TENT-1-SAND", title="Sand", price=Decimal("339.00"), stock=0)
    stove = ProductFactory(
        store=in_store, sku="STOVE-1", title="Pocket Stove", category="Stoves", price=Decimal("49.00")
    )
    VariantFactory(product=stove, sku="STOVE-1-STD", title="Default", price=Decimal("49.00"), stock=50)
    ProductFactory(store=in_store, sku="OLD-1", title="Discontinued Lantern", is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        doc = services.catalog_sync_doc(store=in_store)
    doc.refresh_from_db()
    assert_ready(doc, 2)
    assert doc.title == "Store A product catalog"
    stove_chunk, tent_chunk = chunks_of(doc)  # ordered by SKU
    assert tent_chunk.metadata == {"product_id": str(tent.id), "sku": "TENT-1"}
    assert stove_chunk.metadata == {"product_id": str(stove.id), "sku": "STOVE-1"}
    assert (tent_chunk.title, tent_chunk.section) == ("Juniper 1P Tent", "Tents")
    assert tent_chunk.text == (
        "Price: $329.00 to $339.00 depending on the option.\n"
        "Availability: in stock. Options: Moss $329.00 (only 2 left); Sand $339.00 (out of stock).\n"
        "Link: https://shop.example/p/juniper"
    )
    assert stove_chunk.text == "Price: $49.00.\nAvailability: in stock."

    # A sync after a price change re-embeds that product only, and keeps the other chunk.
    Product.objects.filter(pk=stove.pk).update(price=Decimal("45.00"))
    stove.variants.update(price=Decimal("45.00"))
    embedder = _counting()
    doc = services.doc_index(store=in_store, doc_id=doc.id, embedder=embedder)
    assert embedder.texts == ["Pocket Stove — Stoves: Price: $45.00.\nAvailability: in stock."]
    assert chunks_of(doc)[1].id == tent_chunk.id


def _counting() -> CountingEmbedder:
    return CountingEmbedder(get_embedder())


PAGE = """<html><head><title>Trail care | Shop</title></head><body>
<nav><a href="/">Home</a></nav>
<article><h1>Caring for trail runners</h1>
<p>Rinse mud off with cold water after every run and let the shoes dry away from heaters.</p>
<h2>Insoles</h2><p>Take the insoles out to dry; replace them every 500 km.</p></article>
<footer>Copyright</footer></body></html>"""


def test_url_page_is_fetched_and_its_main_text_indexed(
    in_store, page_server, allow_private_urls, django_capture_on_commit_callbacks
):
    page_server.add("/care", PAGE)
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.URL,
        title="",
        source_url=page_server.url("/care"),
    )
    assert_ready(doc, 2)
    assert doc.title == "Caring for trail runners"
    assert doc.content == (
        "Rinse mud off with cold water after every run and let the shoes dry away from heaters.\n\n"
        "## Insoles\n\nTake the insoles out to dry; replace them every 500 km.\n"
    )
    assert [(c.title, c.section) for c in chunks_of(doc)] == [
        ("Caring for trail runners", ""),
        ("Caring for trail runners", "Insoles"),
    ]


def test_url_on_a_private_address_fails_with_the_reason(
    in_store, page_server, settings, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_URLS = False
    page_server.add("/care", PAGE)
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.URL,
        title="Care",
        source_url=page_server.url("/care"),
    )
    assert (doc.status, doc.status_reason, doc.chunk_count) == (
        DocStatus.FAILED,
        "127.0.0.1 resolves to a private or reserved address (127.0.0.1); Convix only fetches public web pages.",
        0,
    )
    assert page_server.hits["/care"] == 0
    assert not TrainingChunk.objects.filter(store=in_store).exists()


def test_url_page_over_the_size_limit_fails(
    in_store, page_server, allow_private_urls, settings, django_capture_on_commit_callbacks
):
    settings.FETCH_MAX_BYTES = 64 * 1024
    page_server.add_stream("/huge", size=1_000_000)
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.URL,
        title="Huge",
        source_url=page_server.url("/huge"),
    )
    assert (doc.status, doc.status_reason) == (DocStatus.FAILED, "The page is larger than the 64 KB limit.")


def test_transient_fetch_failure_is_retried_by_a_worker_and_final_in_process(
    in_store, page_server, allow_private_urls, django_capture_on_commit_callbacks
):
    page_server.add("/down", "maintenance", status=503)
    doc = services.doc_create(
        store=in_store, type=DocType.URL, title="Down", source_url=page_server.url("/down")
    )
    # A worker's attempt before the last leaves the document queued and asks for a retry.
    with pytest.raises(services.IngestionError) as caught:
        services.doc_index(store=in_store, doc_id=doc.id, final_attempt=False)
    assert caught.value.retryable is True
    doc.refresh_from_db()
    assert (doc.status, doc.status_reason) == (DocStatus.QUEUED, "127.0.0.1 answered 503. Retrying shortly.")
    # Run in-process (eager, no broker), the task does not retry: the failure is final at once.
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.URL,
        title="Down",
        source_url=page_server.url("/down"),
    )
    assert page_server.hits["/down"] == 2
    assert (doc.status, doc.status_reason) == (DocStatus.FAILED, "127.0.0.1 answered 503.")


def test_failed_refetch_keeps_the_indexed_version(
    in_store, page_server, allow_private_urls, django_capture_on_commit_callbacks
):
    page_server.add("/care", PAGE)
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.URL,
        title="",
        source_url=page_server.url("/care"),
    )
    before = [c.id for c in chunks_of(doc)]
    page_server.add("/care", "gone", status=404)
    doc = services.doc_index(store=in_store, doc_id=doc.id)
    assert (doc.status, doc.status_reason) == (
        DocStatus.FAILED,
        "127.0.0.1 answered 404. The previously indexed version is still used.",
    )
    assert [c.id for c in chunks_of(doc)] == before


@pytest.mark.parametrize(
    ("file_name", "data", "title", "sections"),
    [
        (
            "opening-hours.txt",
            b"Our Golden shop is open 10 am to 6 pm.\n\nClosed on Sundays.",
            "opening-hours",
            [""],
        ),
        (
            "sizing.md",
            b"# Boot sizing\n\n## Women's\n\nRuns true to size.\n\n## Men's\n\nGo up half a size.",
            "Boot sizing",
            ["Women's", "Men's"],
        ),
        (
            "care.html",
            b"<html><body><main><h1>Jacket care</h1><h2>Washing</h2><p>Cold, gentle cycle.</p></main></body></html>",
            "Jacket care",
            ["Washing"],
        ),
        ("down-care.pdf", make_pdf(), "Down Care Guide", ["Washing your down jacket", "Drying"]),
        (
            "stove.docx",
            make_docx(
                title="Stove Manual", sections=[("Lighting", "Open the valve, then press the igniter.")]
            ),
            "Stove Manual",
            ["Lighting"],
        ),
    ],
)
def test_uploaded_files_are_extracted_and_indexed(
    in_store, django_capture_on_commit_callbacks, file_name, data, title, sections
):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.MANUAL,
        title="",
        file_name=file_name,
        file_bytes=data,
    )
    assert_ready(doc, len(sections))
    assert (doc.title, doc.file_name) == (title, file_name)
    assert [c.section for c in chunks_of(doc)] == sections
    assert all(c.title == title for c in chunks_of(doc))


def test_corrupt_upload_is_failed_with_the_reason_and_not_queued(
    in_store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        doc = services.doc_create(
            store=in_store,
            type=DocType.MANUAL,
            title="Manual",
            file_name="manual.pdf",
            file_bytes=b"%PDF-1.4 truncated",
        )
    assert callbacks == []
    doc.refresh_from_db()
    assert doc.status == DocStatus.FAILED
    assert doc.status_reason.startswith("This PDF could not be read; it may be damaged (")
    assert doc.chunk_count == 0


def test_indexing_twice_reuses_everything(in_store, django_capture_on_commit_callbacks):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.POLICY,
        title="Returns Policy",
        content=RETURNS_POLICY,
    )
    first = [(c.id, c.content_hash, list(c.embedding)) for c in chunks_of(doc)]
    embedder = _counting()
    doc = services.doc_index(store=in_store, doc_id=doc.id, embedder=embedder)
    assert embedder.calls == 0
    assert_ready(doc, 2)
    assert [(c.id, c.content_hash, list(c.embedding)) for c in chunks_of(doc)] == first

    # Re-indexing after the document was marked for a retrain takes the full path and still
    # embeds nothing.
    TrainingDoc.objects.filter(pk=doc.pk).update(status=DocStatus.QUEUED)
    doc = services.doc_index(store=in_store, doc_id=doc.id, embedder=embedder)
    assert embedder.calls == 0
    assert [(c.id, c.content_hash, list(c.embedding)) for c in chunks_of(doc)] == first


def test_editing_one_section_re_embeds_only_that_section(in_store, django_capture_on_commit_callbacks):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.POLICY,
        title="Returns Policy",
        content=RETURNS_POLICY,
    )
    window, final_sale = chunks_of(doc)
    edited = RETURNS_POLICY.replace("within 45 days", "within 60 days")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        doc = services.doc_update(store=in_store, doc=doc, content=edited)
    assert (doc.status, len(callbacks)) == (DocStatus.QUEUED, 1)
    embedder = _counting()
    doc = services.doc_index(store=in_store, doc_id=doc.id, embedder=embedder)
    assert len(embedder.texts) == 1
    assert embedder.texts[0].startswith(
        "Returns Policy — The return window: You can return most items within 60 days"
    )
    new_window, same_final_sale = chunks_of(doc)
    assert same_final_sale.id == final_sale.id
    assert new_window.id != window.id
    assert not TrainingChunk.objects.filter(pk=window.pk).exists()


def test_identical_text_in_another_document_of_the_store_is_not_re_embedded(in_store):
    embedder = _counting()
    first = services.doc_create(
        store=in_store, type=DocType.FAQ, title="Do you ship to PO boxes?", content="Yes, by USPS."
    )
    services.doc_index(store=in_store, doc_id=first.id, embedder=embedder)
    second = services.doc_create(
        store=in_store, type=DocType.FAQ, title="Do you ship to PO boxes?", content="Yes, by USPS."
    )
    doc = services.doc_index(store=in_store, doc_id=second.id, embedder=embedder)
    assert embedder.calls == 1
    assert_ready(doc, 1)
    assert list(chunks_of(doc)[0].embedding) == list(chunks_of(first)[0].embedding)


def test_progress_is_reported_while_embedding_in_batches(in_store):
    sections = "\n\n".join(
        f"## Part {n}\n\nStep {n}: tighten bolt {n} a quarter turn, then check the seal." for n in range(150)
    )
    doc = services.doc_create(store=in_store, type=DocType.MANUAL, title="Assembly", content=sections)
    seen = []

    class Watching:
        model_id = get_embedder().model_id

        def count_tokens(self, text):
            return get_embedder().count_tokens(text)

        def embed(self, texts):
            row = TrainingDoc.objects.filter(pk=doc.pk).values("status", "progress").get()
            seen.append((row["status"], row["progress"], len(texts)))
            return get_embedder().embed(texts)

    doc = services.doc_index(store=in_store, doc_id=doc.id, embedder=Watching())
    assert seen == [(DocStatus.INDEXING, 5, 64), (DocStatus.INDEXING, 43, 64), (DocStatus.INDEXING, 81, 22)]
    assert_ready(doc, 150)


def test_deactivating_and_deleting_take_effect_in_retrieval_at_once(
    in_store, django_capture_on_commit_callbacks
):
    doc = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.POLICY,
        title="Returns Policy",
        content=RETURNS_POLICY,
    )
    other = create(
        in_store,
        django_capture_on_commit_callbacks,
        type=DocType.FAQ,
        title="Do you have a shop?",
        content="Yes, in Golden.",
    )

    def found() -> set:
        return {
            r.doc_id
            for r in selectors.knowledge_search(
                store=in_store, query="can I return my order after 45 days", k=10
            )
        }

    assert found() == {doc.id, other.id}
    services.doc_set_active(store=in_store, doc=doc, is_active=False)
    assert found() == {other.id}
    assert set(TrainingChunk.objects.filter(doc=doc).values_list("is_active", flat=True)) == {False}
    # Re-indexing an inactive document keeps its chunks out of retrieval, new ones included (an
    # edit, so the indexing writes a new chunk rather than finding the document unchanged).
    services.doc_update(store=in_store, doc=doc, content=RETURNS_POLICY.replace("45 days", "60 days"))
    doc = services.doc_index(store=in_store, doc_id=doc.id)
    assert doc.status == DocStatus.READY
    assert found() == {other.id}
    assert set(TrainingChunk.objects.filter(doc=doc).values_list("is_active", flat=True)) == {False}
    services.doc_update(store=in_store, doc=doc, is_active=True)
    assert found() == {doc.id, other.id}
    services.doc_delete(store=in_store, doc=doc)
    assert found() == {other.id}
    assert not TrainingChunk.objects.filter(doc_id=doc.id).exists()


def test_deleting_an_uploaded_document_deletes_its_file(
    in_store, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    doc = services.doc_create_from_upload(
        store=in_store, file_name="care.txt", file_bytes=b"Wash cold. Dry flat."
    )
    storage, name = doc.file.storage, doc.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.doc_delete(store=in_store, doc=doc)
    assert not storage.exists(name)
    assert not TrainingDoc.objects.filter(pk=doc.pk).exists()


def test_task_for_a_deleted_document_does_nothing(in_store):
    doc = services.doc_create(store=in_store, type=DocType.FAQ, title="Q?", content="A.")
    doc_id = doc.id
    services.doc_delete(store=in_store, doc=doc)
    assert tasks.index_doc.delay(str(in_store.id), str(doc_id)).get() is None


def test_task_never_indexes_another_stores_document(store, other_store):
    with store_scope(other_store):
        theirs = services.doc_create(
            store=other_store, type=DocType.FAQ, title="Their question?", content="Their answer."
        )
    # A task for store A naming store B's document finds nothing and changes nothing.
    assert tasks.index_doc.delay(str(store.id), str(theirs.id)).get() is None
    with unscoped("tests"):
        theirs.refresh_from_db()
        assert (theirs.status, theirs.chunk_count) == (DocStatus.QUEUED, 0)
        assert not TrainingChunk.objects.filter(store=other_store).exists()


def test_another_stores_chunks_are_never_returned_even_for_identical_text(store, other_store):
    ids = {}
    for owner in (store, other_store):
        with store_scope(owner):
            doc = services.doc_create(
                store=owner, type=DocType.FAQ, title="Do you ship to Canada?", content="Yes, for $19.95."
            )
            embedder = _counting()
            services.doc_index(store=owner, doc_id=doc.id, embedder=embedder)
            assert embedder.calls == 1  # another store's identical embedding is not reused
            ids[owner.id] = doc.id
    for owner in (store, other_store):
        with store_scope(owner):
            results = selectors.knowledge_search(store=owner, query="Do you ship to Canada?", k=10)
            assert [r.doc_id for r in results] == [ids[owner.id]]


def test_retrain_indexes_every_document_and_then_skips_them(in_store):
    services.doc_create(store=in_store, type=DocType.POLICY, title="Returns Policy", content=RETURNS_POLICY)
    services.doc_create(store=in_store, type=DocType.FAQ, title="Q?", content="A.")
    product = ProductFactory(store=in_store, sku="P-1", title="Camp Mug")
    VariantFactory(product=product, sku="P-1-STD", title="Default", stock=3)
    embedder = _counting()
    assert services.store_retrain(store=in_store, embedder=embedder) == {
        "docs": 3,
        "ready": 3,
        "failed": 0,
        "unchanged": 0,
        "chunks": 4,
        "embedded": 4,
        "reused": 0,
    }
    assert TrainingDoc.objects.filter(store=in_store, type=DocType.PRODUCT_CATALOG).count() == 1
    assert services.store_retrain(store=in_store, embedder=embedder) == {
        "docs": 3,
        "ready": 3,
        "failed": 0,
        "unchanged": 3,
        "chunks": 4,
        "embedded": 0,
        "reused": 0,
    }
    # The three documents' new texts went to the embedder in one batch; nothing the second time.
    assert (embedder.calls, len(embedder.texts)) == (1, 4)


def test_plan_limit_on_documents(in_store):
    in_store.plan_tier = "STARTER"
    for n in range(in_store.limits.training_docs):
        TrainingDoc.objects.create(store=in_store, type=DocType.FAQ, title=f"Q{n}?", content="A.")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.doc_create(store=in_store, type=DocType.FAQ, title="One more?", content="A.")
    assert caught.value.messages == [
        "Your plan allows 50 training documents. Delete one or upgrade to add more."
    ]
    assert TrainingDoc.objects.filter(store=in_store).count() == 50


def test_task_with_a_malformed_id_does_nothing(store):
    assert tasks.index_doc.delay(str(store.id), "not-a-uuid").get() is None


def test_stuck_documents_are_queued_again(in_store):
    from datetime import timedelta

    from django.utils import timezone

    stuck = services.doc_create(store=in_store, type=DocType.FAQ, title="Stuck?", content="Yes.")
    fresh = services.doc_create(store=in_store, type=DocType.FAQ, title="Fresh?", content="Yes.")
    TrainingDoc.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert tasks.requeue_stuck.delay().get() == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, stuck.chunk_count) == (DocStatus.READY, 1)
    assert (fresh.status, fresh.chunk_count) == (DocStatus.QUEUED, 0)
