"""PDF summaries of reported data: A4 landscape, Chinese text, streamed rows.

The table is laid out one page at a time from an iterator of rows, so a
generator of any length is never held in memory; the header row is repeated
at the top of every page.

Chinese text uses an installed TrueType CJK font when one is found (embedded as
a subset), otherwise ReportLab's built-in CID font STSong-Light, which needs no
font file but relies on the PDF viewer having a matching Chinese font.

A date-time among the meta values or the cells (导出时间: clock.now()) is a stored UTC time
and is printed in Asia/Shanghai to the second (app.services.clock), as the screens show it.

No Flask here: used from views and from background jobs alike.
"""
import functools
import math
import os
from collections import deque
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph,
                                Spacer, Table, TableStyle, XPreformatted)

from app.services.clock import local_text

CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
CID_FONT = "STSong-Light"
_ALIGN = {"left": TA_LEFT, "right": TA_RIGHT, "center": TA_CENTER}
_PAD = 3  # table cell padding, points
_MARGIN = 12 * mm


@functools.cache
def pdf_font_name():
    """Register the Chinese font (once per process) and return its name."""
    for path in CJK_FONT_PATHS:
        if os.path.exists(path):
            name = os.path.splitext(os.path.basename(path))[0]
            try:
                pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
            except TTFError:  # e.g. CFF-based OpenType, which ReportLab cannot embed
                continue
            return name
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def write_cert_summary_pdf(out, title, meta, columns, rows, footer_lines=()):
    """Write a titled table of rows to out (path or binary file); return the row count.

    columns: (header, width_weight, align) with align "left", "right" or "center";
    meta: (label, value) lines under the title, e.g. (导出时间, clock.now());
    rows: an iterable of tuples of str / int / datetime / None, consumed lazily."""
    font = pdf_font_name()
    doc = BaseDocTemplate(out, pagesize=landscape(A4), leftMargin=_MARGIN, rightMargin=_MARGIN,
                          topMargin=_MARGIN, bottomMargin=_MARGIN + 8 * mm, title=_text(title))
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(frames=[frame], onPage=_draw_page_number)])

    total_weight = sum(weight for _, weight, _ in columns)
    widths = [doc.width * weight / total_weight for _, weight, _ in columns]
    cell_styles = [_style(font, 9, _ALIGN[align]) for _, _, align in columns]
    header_style = _style(font, 9, TA_CENTER)
    header = [Paragraph(_markup(text), header_style) for text, _, _ in columns]
    cells = ([Paragraph(_markup(value), style) for value, style in zip(row, cell_styles)]
             for row in rows)
    feed = _RowFeed(header, cells, widths)

    story = [Paragraph(_markup(title), _style(font, 16, TA_CENTER, space_after=4 * mm))]
    meta_style = _style(font, 10, TA_LEFT)
    story += [Paragraph(f"{_markup(label)}：{_markup(value)}", meta_style) for label, value in meta]
    story += [Spacer(1, 3 * mm), _StreamedTable(feed), Spacer(1, 8 * mm)]
    footer_style = _style(font, 11, TA_LEFT, space_after=3 * mm)
    story += [XPreformatted(_markup(line), footer_style) for line in footer_lines]  # keeps spaces
    doc.build(story)
    return feed.count


class _RowFeed:
    """Rows pulled from an iterator and measured, waiting to be laid out.

    Rows get the heights measured here, so a table of them always fits where it was
    measured."""

    _STYLE = TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), _PAD),
        ("BOTTOMPADDING", (0, 0), (-1, -1), _PAD),
    ])

    def __init__(self, header, rows, widths):
        self.widths = widths
        self.header = self._measured(header)
        self._rows = iter(rows)
        self._pending = deque()  # (cells, height)
        self.height = self.header[1]  # header plus pending rows
        self.count = 0

    def _measured(self, cells):
        height = max(cell.wrap(width - 2 * _PAD, 1e9)[1] for cell, width in zip(cells, self.widths))
        return cells, height + 2 * _PAD

    def fill(self, height):
        """Pull rows until the header and pending rows are taller than height, or none are left."""
        while self.height <= height:
            cells = next(self._rows, None)
            if cells is None:
                break
            row = self._measured(cells)
            self._pending.append(row)
            self.height += row[1]
            self.count += 1

    def take(self, height):
        """Remove and return the pending rows that fit under the header within height."""
        rows, used = [], self.header[1]
        while self._pending and used + self._pending[0][1] <= height:
            row = self._pending.popleft()
            rows.append(row)
            used += row[1]
        self.height -= used - self.header[1]
        return rows

    def table(self, rows):
        rows = [self.header, *rows]
        return Table([cells for cells, _ in rows], colWidths=self.widths,
                     rowHeights=[height for _, height in rows], style=self._STYLE)


class _StreamedTable(Flowable):
    """The rows of a feed, laid out one frame at a time with the header on top.

    split() returns a Table of the rows that fit and a new flowable for the rest, as
    platypus expects (returning itself would carry over its "postponed" mark)."""

    def __init__(self, feed):
        super().__init__()
        self._feed = feed

    def wrap(self, availWidth, availHeight):
        self._feed.fill(availHeight)
        self.width, self.height = sum(self._feed.widths), self._feed.height
        return self.width, self.height

    def split(self, availWidth, availHeight):
        rows = self._feed.take(availHeight)
        return [self._feed.table(rows), _StreamedTable(self._feed)] if rows else []

    def draw(self):
        table = self._feed.table(self._feed.take(math.inf))
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)


def _style(font, size, alignment, space_after=0):
    return ParagraphStyle(f"{font}-{size}-{alignment}", fontName=font, fontSize=size,
                          leading=size * 1.35, alignment=alignment, wordWrap="CJK",
                          spaceAfter=space_after)


def _text(value):
    return local_text(value)


def _markup(value):
    """value as Paragraph markup: None empty, & < > escaped."""
    return escape(_text(value))


def _draw_page_number(canvas, doc):
    canvas.saveState()
    canvas.setFont(pdf_font_name(), 9)
    canvas.drawCentredString(doc.pagesize[0] / 2, _MARGIN, f"第 {doc.page} 页")
    canvas.restoreState()
