"""Chunking: sizes, boundaries, title and section context, FAQs and product catalog text."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from convix.ai.chunking import (
    MAX_TOKENS,
    ProductFacts,
    VariantFacts,
    catalog_chunks,
    chunk_document,
    chunk_faq,
    content_hash,
    estimate_tokens,
    product_text,
)
from convix.ai.embeddings import get_embedder
from convix.ai.extract import ExtractedDocument, Section, from_markdown

DEMO = Path(settings.BASE_DIR) / "fixtures" / "demo"


def demo_policies() -> list[dict]:
    return json.loads((DEMO / "policies.json").read_text())


def test_demo_policies_chunk_on_section_boundaries_within_the_size_limit():
    count_tokens = get_embedder().count_tokens
    for policy in demo_policies():
        document = from_markdown(policy["content"], title=policy["title"])
        chunks = chunk_document(document, count_tokens=count_tokens)
        sections_in_order = list(dict.fromkeys(c.section for c in chunks))
        assert sections_in_order == [s.heading for s in document.sections]
        for section in document.sections:  # no text lost or repeated
            pieces = [c.text for c in chunks if c.section == section.heading]
            assert " ".join(" ".join(pieces).split()) == " ".join(" ".join(section.paragraphs).split())
        assert all(c.title == policy["title"] for c in chunks)
        assert all(0 < c.token_count <= MAX_TOKENS for c in chunks)
        assert all(c.token_count == count_tokens(c.text) for c in chunks)


def test_long_section_splits_into_even_chunks_on_sentence_boundaries():
    sentences = [f"Rule {n} says that tents number {n} must be dried before storage." for n in range(60)]
    document = ExtractedDocument("Tent care", [Section("Storage", [" ".join(sentences)])])
    chunks = chunk_document(document)
    assert len(chunks) == 5
    sizes = [c.token_count for c in chunks]
    assert max(sizes) <= MAX_TOKENS
    assert min(sizes) >= 80
    assert " ".join(c.text for c in chunks) == " ".join(sentences)  # nothing lost, nothing repeated
    assert all(c.text.startswith("Rule ") and c.text.endswith("storage.") for c in chunks)


def test_paragraphs_are_kept_whole_when_they_fit():
    paragraphs = [
        " ".join(["word"] * 70) + ".",
        " ".join(["other"] * 70) + ".",
        " ".join(["third"] * 70) + ".",
    ]
    document = ExtractedDocument("Doc", [Section("Part", paragraphs)])
    chunks = chunk_document(document)
    assert [c.text for c in chunks] == [paragraphs[0] + "\n\n" + paragraphs[1], paragraphs[2]]


def test_a_run_on_paragraph_without_sentences_is_cut_by_words():
    document = ExtractedDocument("Doc", [Section("", [" ".join(f"w{n}" for n in range(600))])])
    chunks = chunk_document(document)
    assert all(c.token_count <= MAX_TOKENS for c in chunks)
    assert " ".join(c.text for c in chunks) == " ".join(f"w{n}" for n in range(600))


def test_embedded_text_carries_title_and_section_and_is_hashed():
    document = ExtractedDocument("Returns Policy", [Section("The return window", ["You have 45 days."])])
    (chunk,) = chunk_document(document)
    assert chunk.embed_text == "Returns Policy — The return window: You have 45 days."
    assert chunk.content_hash == content_hash("Returns Policy — The return window: You have 45 days.")
    (untitled,) = chunk_document(ExtractedDocument("Returns Policy", [Section("", ["You have 45 days."])]))
    assert untitled.embed_text == "Returns Policy: You have 45 days."
    assert untitled.content_hash != chunk.content_hash


def test_faq_is_one_chunk_with_the_question():
    (chunk,) = chunk_faq(
        question="Do you ship to Canada?",
        answer="Yes, by UPS Standard for $19.95.",
        metadata={"category": "shipping"},
    )
    assert chunk.title == "Do you ship to Canada?"
    assert chunk.section == ""
    assert chunk.text == "Yes, by UPS Standard for $19.95."
    assert chunk.embed_text == "Do you ship to Canada? Yes, by UPS Standard for $19.95."
    assert chunk.metadata == {"category": "shipping", "question": "Do you ship to Canada?"}


def test_estimate_is_close_to_the_real_tokenizer_on_demo_text():
    count_tokens = get_embedder().count_tokens
    text = demo_policies()[1]["content"]
    real, estimate = count_tokens(text), estimate_tokens(text)
    assert abs(estimate - real) / real < 0.1


def jacket(**changes) -> ProductFacts:
    facts = {
        "id": "6b0e3c59-0c55-4a5e-9d1c-3a0d0f1a2b3c",
        "sku": "AP-JKT-1",
        "title": "Ridgeline Rain Jacket",
        "price": Decimal("149.00"),
        "category": "Jackets",
        "vendor": "Alder & Pine",
        "description": "A 2.5-layer waterproof shell.",
        "url": "https://shop.example/products/ridgeline",
        "attributes": {"weight_g": 310, "waterproof": True, "pit_zips": ["left", "right"]},
        "tags": ("rain", "hiking"),
        "variants": (
            VariantFacts("S / Teal", "AP-JKT-1-S", Decimal("149.00"), 12),
            VariantFacts("M / Teal", "AP-JKT-1-M", Decimal("149.00"), 3),
            VariantFacts("L / Teal", "AP-JKT-1-L", Decimal("159.00"), 0),
        ),
        "bulk_prices": ((10, Decimal("127.00")),),
    }
    facts.update(changes)
    return ProductFacts(**facts)


def test_product_text_states_price_range_stock_per_variant_attributes_and_link():
    assert product_text(jacket()) == (
        "Price: $149.00 to $159.00 depending on the option.\n"
        "Brand: Alder & Pine.\n"
        "A 2.5-layer waterproof shell.\n"
        "Key attributes: weight: 310 g; waterproof: yes; pit zips: left, right.\n"
        "Tags: rain, hiking.\n"
        "Availability: in stock. Options: S / Teal $149.00 (in stock); M / Teal $149.00 (only 3 left); "
        "L / Teal $159.00 (out of stock).\n"
        "Bulk (B2B) pricing: 10+ units $127.00 each.\n"
        "Link: https://shop.example/products/ridgeline"
    )


def test_product_text_single_default_variant_and_sale_price():
    product = jacket(
        variants=(VariantFacts("Default", "AP-JKT-1-STD", Decimal("99.00"), 0),),
        compare_at_price=Decimal("149.00"),
        attributes={},
        tags=(),
        bulk_prices=(),
        vendor="",
        url="",
    )
    assert product_text(product) == (
        "Price: $99.00 (on sale, was $149.00).\nA 2.5-layer waterproof shell.\nAvailability: out of stock."
    )


def test_many_variants_are_grouped_by_availability():
    variants = tuple(
        VariantFacts(f"Size {n}", f"S-{n}", Decimal("20.00"), stock)
        for n, stock in enumerate([9, 0, 2, 9, 9, 0, 1])
    )
    text = product_text(jacket(variants=variants, bulk_prices=()))
    assert (
        "Availability: in stock (7 options). In stock: Size 0, Size 3, Size 4. "
        "Low stock: Size 2 (only 2 left), Size 6 (only 1 left). Out of stock: Size 1, Size 5." in text
    )


def test_catalog_is_one_chunk_per_product_with_ids():
    chunks = catalog_chunks(
        [jacket(), jacket(id="7c1f", sku="AP-JKT-2", title="Ridgeline Rain Jacket - Women's")]
    )
    assert [(c.title, c.section, c.metadata) for c in chunks] == [
        (
            "Ridgeline Rain Jacket",
            "Jackets",
            {"product_id": "6b0e3c59-0c55-4a5e-9d1c-3a0d0f1a2b3c", "sku": "AP-JKT-1"},
        ),
        ("Ridgeline Rain Jacket - Women's", "Jackets", {"product_id": "7c1f", "sku": "AP-JKT-2"}),
    ]
    assert chunks[0].embed_text.startswith("Ridgeline Rain Jacket — Jackets: Price: $149.00 to $159.00")


def test_stock_changes_above_the_low_stock_line_do_not_change_the_hash():
    base = jacket()
    more = jacket(
        variants=(VariantFacts("S / Teal", "AP-JKT-1-S", Decimal("149.00"), 40), *base.variants[1:])
    )
    fewer = jacket(
        variants=(VariantFacts("S / Teal", "AP-JKT-1-S", Decimal("149.00"), 4), *base.variants[1:])
    )
    hashes = [catalog_chunks([p])[0].content_hash for p in (base, more, fewer)]
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]
