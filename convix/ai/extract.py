"""Text extraction from the files and pages a store teaches its agent.

Every format ends up as an :class:`ExtractedDocument`: a title and a list of sections, each a
heading and its paragraphs. Headings survive extraction on purpose: a chunk that knows it comes
from "Returns Policy — Final sale items" retrieves far better than the bare paragraph.

Supported: plain text, Markdown, HTML (main text only), PDF (pypdf) and DOCX (python-docx).
Every failure raises :class:`ExtractionError` with a message a merchant can act on. This module
is pure: no database, no network, no Django.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# An upload larger than this is refused before parsing (a 10 MB PDF is hundreds of pages).
MAX_FILE_BYTES = 10 * 1024 * 1024
# Extracted text beyond this is refused: about 300 pages, or thousands of chunks to embed.
MAX_TEXT_CHARS = 1_000_000


class ExtractionError(ValueError):
    """The file or page cannot be turned into text. The message is shown to the merchant."""


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass
class ExtractedDocument:
    title: str
    sections: list[Section]

    @property
    def char_count(self) -> int:
        return sum(len(p) for s in self.sections for p in s.paragraphs)

    def to_markdown(self) -> str:
        """The document as Markdown (``## heading`` per section), which :func:`from_markdown`
        reads back into the same sections. Used to keep extracted text in ``TrainingDoc.content``."""
        parts: list[str] = []
        for section in self.sections:
            if section.heading:
                parts.append(f"## {section.heading}")
            parts.extend(section.paragraphs)
        return "\n\n".join(parts).strip() + "\n"


# --- formats -------------------------------------------------------------------------------

PLAIN_TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_EXTENSIONS = {
    ".txt": PLAIN_TEXT,
    ".text": PLAIN_TEXT,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".html": HTML,
    ".htm": HTML,
    ".pdf": PDF,
    ".docx": DOCX,
}
SUPPORTED_EXTENSIONS = tuple(sorted(_EXTENSIONS))


def detect_format(*, file_name: str, content_type: str = "") -> str:
    """The format of an upload, from its extension (browsers send unreliable content types).

    Raises ExtractionError for anything not supported.
    """
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    base_type = content_type.split(";")[0].strip().lower()
    if base_type in _EXTENSIONS.values():
        return base_type
    if suffix == ".doc":
        raise ExtractionError("Old Word .doc files are not supported; save the file as .docx or PDF.")
    shown = suffix or "files without an extension"
    raise ExtractionError(
        f"Unsupported file type ({shown}). Upload one of: {', '.join(SUPPORTED_EXTENSIONS)}."
    )


def extract_file(*, data: bytes, file_name: str, content_type: str = "") -> ExtractedDocument:
    """Extract an uploaded file. The title defaults to the file name without its extension.

    Raises ExtractionError when the file is too large, of an unsupported type, corrupt, or has
    no text (for example a scanned PDF without a text layer).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ExtractionError(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB."
        )
    kind = detect_format(file_name=file_name, content_type=content_type)
    fallback_title = PurePosixPath(file_name.replace("\\", "/")).stem.replace("_", " ").strip()
    if kind == PDF:
        document = from_pdf(data, fallback_title=fallback_title)
    elif kind == DOCX:
        document = from_docx(data, fallback_title=fallback_title)
    else:
        text = decode_text(data)
        if kind == HTML:
            document = from_html(text, fallback_title=fallback_title)
        elif kind == MARKDOWN:
            document = from_markdown(text, title="")
            document.title = document.title or fallback_title
        else:
            document = from_plain_text(text, title=fallback_title)
    return _checked(document)


def _checked(document: ExtractedDocument) -> ExtractedDocument:
    document.sections = [s for s in document.sections if s.paragraphs]
    total = document.char_count
    if total == 0:
        raise ExtractionError("No text could be found in this file.")
    if total > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"The document has {total:,} characters of text; the limit is {MAX_TEXT_CHARS:,}. Split it up."
        )
    return document


def decode_text(data: bytes) -> str:
    """Bytes of a text file as str: UTF-8 (with or without BOM), else UTF-16 with a BOM, else
    Windows-1252. Binary data (NUL bytes without a UTF-16 BOM) raises ExtractionError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ExtractionError("This file looks binary, not text. Is the extension right?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_SPACES = re.compile(r"[ \t\u00a0\u200b]+")


def clean(text: str) -> str:
    """Collapse runs of spaces and tabs; strip each line; keep line breaks."""
    lines = (
        _SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    )
    return "\n".join(lines).strip()


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs. Inside one, lines that are list items stay on their own
    line; other wrapped lines are joined into one."""
    result = []
    for block in re.split(r"\n\s*\n", clean(text)):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        merged: list[str] = []
        for line in lines:
            if merged and not _LIST_ITEM.match(line) and not merged[-1].endswith(":"):
                merged[-1] = f"{merged[-1]} {line}"
            else:
                merged.append(line)
        result.append("\n".join(merged))
    return result


_LIST_ITEM = re.compile(r"^([-*+•]|\d+[.)])\s+")


def from_plain_text(text: str, *, title: str) -> ExtractedDocument:
    """Plain text: one untitled section of blank-line separated paragraphs."""
    return ExtractedDocument(title=title, sections=[Section("", _paragraphs(text))])


# --- Markdown ------------------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE_MARKUP = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)"), r"\1 (\2)"),  # links: text (url)
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
]


def strip_inline_markdown(text: str) -> str:
    for pattern, replacement in _INLINE_MARKUP:
        text = pattern.sub(replacement, text)
    return text


def _table_rows_as_sentences(rows: list[str]) -> list[str]:
    """A Markdown table as one line per row, "Header: value; Header: value", so each row's facts
    stay together in a chunk and read like prose to the embedder."""
    cells = [[strip_inline_markdown(c.strip()) for c in row.strip().strip("|").split("|")] for row in rows]
    if len(cells) >= 2 and _TABLE_SEPARATOR.match(rows[1]):
        header, body = cells[0], cells[2:]
    else:
        header, body = [], cells
    lines = []
    for row in body:
        if header and len(header) == len(row):
            lines.append("; ".join(f"{h}: {v}" for h, v in zip(header, row, strict=True) if v))
        else:
            lines.append("; ".join(v for v in row if v))
    return [line for line in lines if line]


def from_markdown(text: str, *, title: str) -> ExtractedDocument:
    """Markdown: a section per heading, named by the heading and its parent below level 2. A
    level-1 heading before any text is the document's own heading: it becomes the title when
    ``title`` is empty and is dropped otherwise. Tables become one "Header: value" line per
    row; inline markup is removed."""
    sections: list[Section] = [Section("")]
    lines = clean(text).split("\n")
    block: list[str] = []
    table: list[str] = []
    in_fence = False

    def flush_block() -> None:
        if block:
            sections[-1].paragraphs.extend(_paragraphs(strip_inline_markdown("\n".join(block))))
            block.clear()

    def flush_table() -> None:
        if table:
            rows = _table_rows_as_sentences(table)
            if rows:
                sections[-1].paragraphs.append("\n".join(rows))
            table.clear()

    # Open headings by level; a section is named by its heading and, below level 2, its parent
    # ("Returns / Final sale items"), so a deep heading keeps its context.
    open_headings: list[tuple[int, str]] = []

    def start_section(level: int, heading: str) -> None:
        nonlocal title
        heading = strip_inline_markdown(heading).strip()
        flush_block()
        flush_table()
        if level == 1 and not any(s.paragraphs for s in sections) and not open_headings:
            # The document's own heading: its title, not a section.
            title = title or heading
            return
        while open_headings and open_headings[-1][0] >= level:
            open_headings.pop()
        open_headings.append((level, heading))
        sections.append(Section(" / ".join(h for _, h in open_headings[-2:])))

    for index, line in enumerate(lines):
        if line.startswith("```") or line.startswith("~~~"):
            in_fence = not in_fence
            continue
        if in_fence:
            block.append(line)
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            start_section(len(heading.group(1)), heading.group(2))
            continue
        if (
            block
            and _SETEXT_UNDERLINE.match(line)
            and index > 0
            and lines[index - 1] == block[-1]
            and not _LIST_ITEM.match(block[-1])
        ):
            previous = block.pop()
            start_section(1 if line.startswith("=") else 2, previous)
            continue
        if line.startswith("|"):
            flush_block()
            table.append(line)
            continue
        flush_table()
        if re.fullmatch(r"(\*\s*){3,}|(-\s*){3,}|(_\s*){3,}", line):
            flush_block()  # a horizontal rule ends a paragraph
            continue
        block.append(line.lstrip(">").strip() if line.startswith(">") else line)
    flush_block()
    flush_table()
    return ExtractedDocument(title=title, sections=[s for s in sections if s.paragraphs])


# --- HTML ----------------------------------------------------------------------------------

# Elements that are never main text.
_HTML_DROP = [
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "canvas",
    "button",
    "select",
    "dialog",
]
# ARIA roles and class/id words of boilerplate blocks (cookie banners, menus, breadcrumbs).
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}
_BOILERPLATE_WORDS = re.compile(
    r"(^|[-_ ])(nav|navbar|menu|breadcrumbs?|cookie|consent|footer|header|sidebar|share|social|newsletter|skip-link)([-_ ]|$)",
    re.IGNORECASE,
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "li", "pre", "blockquote", "dd", "dt", "figcaption", "caption", "address", "summary"}


def from_html(html: str, *, fallback_title: str = "") -> ExtractedDocument:
    """The main text of an HTML page: navigation, headers, footers, sidebars, scripts, styles and
    forms are dropped; ``<main>`` or ``<article>`` is preferred when present. Headings start
    sections; paragraphs, list items and table rows become paragraphs."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, Tag

    soup = BeautifulSoup(html, "lxml")
    page_title = ""
    if soup.title and soup.title.string:
        page_title = clean(soup.title.string)
    for element in soup.find_all(_HTML_DROP):
        element.decompose()
    for element in soup.find_all(True):
        if element.decomposed:
            continue
        role = (element.get("role") or "").lower()
        marker = " ".join([element.get("id") or "", *(element.get("class") or [])])
        hidden = element.has_attr("hidden") or element.get("aria-hidden") == "true"
        if role in _BOILERPLATE_ROLES or hidden or (marker and _BOILERPLATE_WORDS.search(marker)):
            if element.name not in ("body", "html", "main", "article"):
                element.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup

    sections: list[Section] = [Section("")]
    first_h1 = ""

    def text_of(tag: Tag) -> str:
        # In HTML a line break in the source is just a space.
        return " ".join(tag.get_text(" ", strip=True).split())

    def walk(node: Tag) -> None:
        nonlocal first_h1
        for child in node.children:
            if isinstance(child, NavigableString):
                # Loose text directly inside a container (a <div> of text without <p>).
                text = " ".join(str(child).split())
                if text and child.parent is not None and child.parent.name not in _HEADINGS:
                    sections[-1].paragraphs.append(text)
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _HEADINGS:
                heading = text_of(child)
                if not heading:
                    continue
                if name == "h1" and not first_h1:
                    first_h1 = heading
                    if not any(s.paragraphs for s in sections):
                        continue
                sections.append(Section(heading))
            elif name == "table":
                rows = _html_table_rows(child)
                if rows:
                    sections[-1].paragraphs.append("\n".join(rows))
            elif name in _BLOCKS:
                if name == "li" and child.find(["ul", "ol"]):
                    # A list item with a nested list: its own text, then the nested items.
                    own = " ".join(" ".join(child.find_all(string=True, recursive=False)).split())
                    if own:
                        sections[-1].paragraphs.append(own)
                    walk(child)
                    continue
                text = text_of(child)
                if text:
                    sections[-1].paragraphs.append(f"- {text}" if name == "li" else text)
            elif name == "br":
                continue
            else:
                walk(child)

    walk(root)
    # Join consecutive list items into one paragraph, as in Markdown.
    for section in sections:
        merged: list[str] = []
        for paragraph in section.paragraphs:
            if merged and paragraph.startswith("- ") and merged[-1].startswith("- "):
                merged[-1] = f"{merged[-1]}\n{paragraph}"
            else:
                merged.append(paragraph)
        section.paragraphs = merged
    title = first_h1 or page_title or fallback_title
    return ExtractedDocument(title=title, sections=[s for s in sections if s.paragraphs])


def _html_table_rows(table) -> list[str]:
    rows = table.find_all("tr")
    header: list[str] = []
    lines = []
    for row in rows:
        cells = [" ".join(c.get_text(" ", strip=True).split()) for c in row.find_all(["th", "td"])]
        if not any(cells):
            continue
        if not header and row.find("th") and not row.find("td"):
            header = cells
            continue
        if header and len(header) == len(cells):
            lines.append("; ".join(f"{h}: {v}" for h, v in zip(header, cells, strict=True) if v))
        else:
            lines.append("; ".join(c for c in cells if c))
    return lines


# --- PDF -----------------------------------------------------------------------------------


def from_pdf(data: bytes, *, fallback_title: str = "") -> ExtractedDocument:
    """The text layer of a PDF, titled by the PDF's metadata title when it has one. Lines set
    clearly larger than the body text, or wholly in bold, become section headings. Encrypted,
    corrupt and image-only PDFs raise ExtractionError."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise ExtractionError("This file is not a valid PDF (it does not start with %PDF).")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("This PDF is password-protected; upload an unprotected copy.")
        title = ""
        if reader.metadata and reader.metadata.title:
            title = clean(str(reader.metadata.title))
        lines: list[_PdfLine] = []
        for page in reader.pages:
            lines.extend(_pdf_page_lines(page))
            lines.append(_PdfLine("", 0.0, False))  # a page break ends a paragraph
    except ExtractionError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ExtractionError(f"This PDF could not be read; it may be damaged ({error}).") from error
    sections = _pdf_sections(lines)
    if not any(s.paragraphs for s in sections):
        raise ExtractionError("This PDF has no text layer (is it a scan?). Upload a text PDF or a DOCX.")
    return ExtractedDocument(title=title or fallback_title, sections=[s for s in sections if s.paragraphs])


@dataclass
class _PdfLine:
    text: str
    size: float
    bold: bool


def _pdf_page_lines(page) -> list[_PdfLine]:
    """The page's visual lines with their font size and boldness, from pypdf's text visitor."""
    import math

    lines: list[_PdfLine] = []
    current: list[tuple[str, float, bool]] = []

    def close_line() -> None:
        text = clean("".join(part for part, _, _ in current))
        if text:
            sized = [(len(part.strip()), size, bold) for part, size, bold in current if part.strip()]
            size = max(size for _, size, _ in sized)
            bold = all(bold for _, _, bold in sized)
            lines.append(_PdfLine(text, size, bold))
        current.clear()

    def visit(text, cm, tm, font_dict, font_size) -> None:
        scale = math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]) or 1.0
        size = round(float(font_size or 0) * scale, 1)
        name = str(font_dict.get("/BaseFont", "")) if font_dict else ""
        bold = "bold" in name.lower() or "black" in name.lower()
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                close_line()
            if part:
                current.append((part, size, bold))

    page.extract_text(visitor_text=visit)
    close_line()
    return lines


def _pdf_sections(lines: list[_PdfLine]) -> list[Section]:
    from collections import Counter

    weights: Counter = Counter()
    for line in lines:
        if line.text:
            weights[line.size] += len(line.text)
    body_size = weights.most_common(1)[0][0] if weights else 0.0
    sections = [Section("")]
    body: list[str] = []

    def flush() -> None:
        sections[-1].paragraphs.extend(_pdf_paragraphs("\n".join(body)))
        body.clear()

    for line in lines:
        is_heading = (
            line.text
            and len(line.text) <= 120
            and not line.text.endswith((".", ",", ";"))
            and (
                line.size >= body_size * 1.15
                or (line.bold and line.size >= body_size * 0.95 and len(line.text) <= 80)
            )
            and any(ch.isalpha() for ch in line.text)
        )
        if is_heading:
            flush()
            if sections[-1].heading and not sections[-1].paragraphs:
                sections[-1].heading = f"{sections[-1].heading} {line.text}"  # a heading over two lines
            else:
                sections.append(Section(line.text))
        else:
            body.append(line.text)
    flush()
    return sections


def _pdf_paragraphs(text: str) -> list[str]:
    """PDF text comes as visual lines. Join lines into paragraphs, breaking on blank lines and
    after a line that ends a sentence and is visibly shorter than the page's full lines."""
    lines = [line for line in clean(text).split("\n")]
    full_width = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and current[-1].endswith("-") and not current[-1].endswith(" -"):
            current[-1] = current[-1][:-1] + line  # a word hyphenated across lines
        else:
            current.append(line)
        if line.endswith((".", "!", "?", ":")) and len(line) < 0.7 * full_width:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return [p for p in paragraphs if p.strip()]


# --- DOCX ----------------------------------------------------------------------------------


def from_docx(data: bytes, *, fallback_title: str = "") -> ExtractedDocument:
    """A Word document: "Heading N" paragraphs start sections, "Title" names the document,
    list paragraphs become "- " items, and tables become "Header: value" rows, in document order."""
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ExtractionError(f"This DOCX file could not be read; it may be damaged ({error}).") from error
    except Exception as error:  # python-docx raises several package errors of its own
        raise ExtractionError(f"This DOCX file could not be read ({type(error).__name__}).") from error

    title = clean(document.core_properties.title or "")
    sections: list[Section] = [Section("")]
    for item in _docx_blocks(document, Paragraph, Table):
        if isinstance(item, Table):
            rows = [[clean(cell.text) for cell in row.cells] for row in item.rows]
            rows = [_dedupe_merged(row) for row in rows if any(row)]
            if not rows:
                continue
            header, body = rows[0], rows[1:]
            lines = []
            for row in body or [header]:
                if body and len(row) == len(header):
                    lines.append("; ".join(f"{h}: {v}" for h, v in zip(header, row, strict=True) if v))
                else:
                    lines.append("; ".join(v for v in row if v))
            sections[-1].paragraphs.append("\n".join(lines))
            continue
        text = clean(item.text)
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style == "Title":
            if not title:
                title = text
            else:
                sections.append(Section(text))
        elif style.startswith("Heading"):
            sections.append(Section(text))
        elif style.startswith("List"):
            if sections[-1].paragraphs and sections[-1].paragraphs[-1].startswith("- "):
                sections[-1].paragraphs[-1] += f"\n- {text}"
            else:
                sections[-1].paragraphs.append(f"- {text}")
        else:
            sections[-1].paragraphs.append(text)
    return ExtractedDocument(title=title or fallback_title, sections=[s for s in sections if s.paragraphs])


def _docx_blocks(document, paragraph_class, table_class) -> Iterable:
    """Paragraphs and tables of the body in document order (python-docx lists them apart)."""
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield paragraph_class(child, document)
        elif tag == "tbl":
            yield table_class(child, document)


def _dedupe_merged(row: list[str]) -> list[str]:
    """Merged cells repeat their text in python-docx; keep each run of equal cells once."""
    result: list[str] = []
    for cell in row:
        if not result or cell != result[-1]:
            result.append(cell)
    return result
