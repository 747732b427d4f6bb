"""Text extraction from plain text, Markdown, HTML, PDF and DOCX, and its errors."""

from __future__ import annotations

import pytest

from convix.ai import extract
from convix.ai.extract import ExtractionError, extract_file
from tests.training.files import CARE_GUIDE_SECTIONS, make_docx, make_pdf


def outline(document) -> list[tuple[str, list[str]]]:
    return [(section.heading, section.paragraphs) for section in document.sections]


def test_plain_text_keeps_paragraphs_and_joins_wrapped_lines():
    data = b"Our shop opens at 9 am\nand closes at 6 pm.\n\n\nWe are closed on Sundays.\n"
    document = extract_file(data=data, file_name="hours.txt")
    assert document.title == "hours"
    assert outline(document) == [
        ("", ["Our shop opens at 9 am and closes at 6 pm.", "We are closed on Sundays."])
    ]


def test_plain_text_in_windows_1252_is_decoded():
    document = extract_file(data="Caf\u00e9 hours: 9\u201317".encode("cp1252"), file_name="cafe.txt")
    assert outline(document) == [("", ["Caf\u00e9 hours: 9\u201317"])]


def test_markdown_sections_tables_and_inline_markup():
    text = """# Shipping Policy

We ship **all over** the US.

## Rates

| Method | Cost |
|---|---|
| Standard | $7.95 |
| Overnight | $34.95 |

### Alaska

Allow [4-10 days](https://example.com/ak).

- PO boxes by USPS only
- No fuel canisters
"""
    document = extract_file(data=text.encode(), file_name="shipping.md")
    assert document.title == "Shipping Policy"
    assert outline(document) == [
        ("", ["We ship all over the US."]),
        ("Rates", ["Method: Standard; Cost: $7.95\nMethod: Overnight; Cost: $34.95"]),
        (
            "Rates / Alaska",
            ["Allow 4-10 days (https://example.com/ak).", "- PO boxes by USPS only\n- No fuel canisters"],
        ),
    ]


def test_markdown_first_heading_becomes_the_title_when_none_is_given():
    document = extract.from_markdown("# Returns\n\nWithin 45 days.\n", title="")
    assert document.title == "Returns"
    assert outline(document) == [("", ["Within 45 days."])]


def test_html_keeps_main_text_and_headings_only():
    html = """<!doctype html><html><head><title>Care | Alder &amp; Pine</title>
<style>p { color: red }</style><script>var tracking = "do not index";</script></head>
<body>
<header><a href="/">Home</a> <a href="/shop">Shop</a></header>
<nav><ul><li>Tents</li><li>Jackets</li></ul></nav>
<div class="cookie-banner">We use cookies. Accept?</div>
<main>
  <h1>Caring for your tent</h1>
  <p>Dry your tent fully before storing it.</p>
  <h2>Cleaning</h2>
  <p>Use a sponge and
     cold water.</p>
  <ul><li>No detergent</li><li>No washing machine</li></ul>
  <table><tr><th>Part</th><th>Fix</th></tr><tr><td>Pole</td><td>Splint</td></tr></table>
  <aside>Related: our best tents</aside>
</main>
<footer>&copy; 2026 Alder &amp; Pine · Privacy</footer>
</body></html>"""
    document = extract_file(data=html.encode(), file_name="care.html")
    assert document.title == "Caring for your tent"
    assert outline(document) == [
        ("", ["Dry your tent fully before storing it."]),
        (
            "Cleaning",
            [
                "Use a sponge and cold water.",
                "- No detergent\n- No washing machine",
                "Part: Pole; Fix: Splint",
            ],
        ),
    ]


def test_html_without_main_uses_the_body_and_page_title():
    html = (
        "<html><head><title>Size guide</title></head><body><div>Boots run true to size.</div></body></html>"
    )
    document = extract.from_html(html)
    assert document.title == "Size guide"
    assert outline(document) == [("", ["Boots run true to size."])]


def test_pdf_text_with_headings_from_font_size():
    document = extract_file(data=make_pdf(), file_name="down-care.pdf")
    assert document.title == "Down Care Guide"
    assert outline(document) == [(heading, [text]) for heading, text in CARE_GUIDE_SECTIONS]


def test_docx_headings_lists_and_tables():
    data = make_docx(
        title="Stove Manual",
        sections=[("Lighting", "Open the valve a quarter turn, then press the igniter.")],
        bullets=["Use outdoors only.", "Keep away from tent walls."],
        table=[["Fuel", "Burn time"], ["230 g", "70 minutes"]],
    )
    document = extract_file(data=data, file_name="stove.docx")
    assert document.title == "Stove Manual"
    assert outline(document) == [
        (
            "Lighting",
            [
                "Open the valve a quarter turn, then press the igniter.",
                "- Use outdoors only.\n- Keep away from tent walls.",
                "Fuel: 230 g; Burn time: 70 minutes",
            ],
        )
    ]


def test_extracted_document_round_trips_through_markdown():
    document = extract_file(data=make_pdf(), file_name="down-care.pdf")
    again = extract.from_markdown(document.to_markdown(), title=document.title)
    assert outline(again) == outline(document)


@pytest.mark.parametrize(
    ("file_name", "data", "message"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "This PDF could not be read"),
        ("fake.pdf", b"PK\x03\x04 not a pdf", "This file is not a valid PDF"),
        ("broken.docx", b"PK\x03\x04 truncated zip", "This DOCX file could not be read"),
        ("notes.txt", b"\x00\x01\x02binary\x00", "This file looks binary, not text."),
        ("sheet.xlsx", b"PK\x03\x04", "Unsupported file type (.xlsx)."),
        ("letter.doc", b"\xd0\xcf\x11\xe0", "Old Word .doc files are not supported"),
        ("empty.txt", b"   \n\n  ", "No text could be found in this file."),
    ],
)
def test_unreadable_files_raise_a_clear_error(file_name, data, message):
    with pytest.raises(ExtractionError) as caught:
        extract_file(data=data, file_name=file_name)
    assert str(caught.value).startswith(message)


def test_scanned_pdf_without_text_is_refused():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50, style="F")  # a drawing, no text
    with pytest.raises(ExtractionError) as caught:
        extract_file(data=bytes(pdf.output()), file_name="scan.pdf")
    assert str(caught.value) == "This PDF has no text layer (is it a scan?). Upload a text PDF or a DOCX."


def test_files_over_the_size_limit_are_refused_before_parsing():
    data = b"a" * (extract.MAX_FILE_BYTES + 1)
    with pytest.raises(ExtractionError) as caught:
        extract_file(data=data, file_name="huge.txt")
    assert str(caught.value) == "The file is 10.0 MB; the limit is 10 MB."
