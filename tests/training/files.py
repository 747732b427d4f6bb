"""Real files made in tests: a PDF (fpdf2) and a DOCX (python-docx)."""

from __future__ import annotations

import io

CARE_GUIDE_SECTIONS = [
    (
        "Washing your down jacket",
        "Wash the jacket in a front-loading machine on a gentle cycle with warm water and a down-specific "
        "soap. Never use fabric softener or bleach, because they strip the natural oils from the down.",
    ),
    (
        "Drying",
        "Tumble dry on low heat with two clean tennis balls for about three hours, until no clumps remain. "
        "Damp down grows mildew, so make sure the jacket is completely dry before you store it.",
    ),
]


def make_pdf(*, title: str = "Down Care Guide", sections=CARE_GUIDE_SECTIONS) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for heading, text in sections:
        pdf.set_font("helvetica", style="B", size=13)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    return bytes(pdf.output())


def make_docx(*, title: str = "Stove Manual", sections=None, table=None, bullets=()) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, 0)
    for heading, text in sections or []:
        document.add_heading(heading, 1)
        document.add_paragraph(text)
    for bullet in bullets:
        document.add_paragraph(bullet, style="List Bullet")
    if table:
        rows = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                rows.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
