"""SPEC M2 (医疗机构信息维护 授权): the 授权文件 PDF and recognition of its stamped scan.

生成授权文件并下载 must be idempotent, so the PDF is byte-for-byte deterministic: the
same fields give the same file in any process. The QR code carries the authorisation
number with a short HMAC tag, so a scan is matched by decoding the code and a
hand-made code for some other number is reported as foreign rather than trusted.
"""
import hashlib
import hmac
import io
import threading
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import pypdfium2 as pdfium
import qrcode
import zxingcpp
from flask import current_app
from PIL import Image, ImageFilter, ImageOps
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from app.i18n import _
from app.services.pdf import pdf_font_name

PREFIX = "HAP-SQ:"
BOUND_PREFIX = "HAP-SQD:"     # the number with the digest of the data it authorises
TAG_LENGTH = 10
QR_SIZE = 40 * mm  # including the 4-module quiet zone
MAX_PAGES = 5
RENDER_DPI = 200
MAX_PIXELS = 25_000_000
TIME_BUDGET = 10.0  # seconds of fallback decoding per upload, whatever the input
_MARGIN = 20 * mm
_SIGN_ROOM = 80 * mm  # the lowest the grant text may end: below are 单位（盖章）, 日期 and the note
FIELDS = ("auth_no", "digest", "institution_name", "legal_name", "uscc", "licence_no", "pooling_area",
          "region", "address", "grantee_name", "grantee_login", "grantee_mobile", "role_label",
          "issued_on")
# PDFium is not thread-safe, even across documents; the app may serve with threads.
_PDFIUM_LOCK = threading.Lock()


def _tag(auth_no):
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, auth_no.encode(), hashlib.sha256).hexdigest()[:TAG_LENGTH]


def qr_payload(auth_no: str, digest: str = "") -> str:
    """The number, and the digest of the data printed beside it (the document is bound to
    that data: a scan printed before the data changed is recognised as outdated)."""
    if digest:
        signed = f"{digest}:{auth_no}"
        return f"{BOUND_PREFIX}{signed}:{_tag(BOUND_PREFIX + signed)}"
    return f"{PREFIX}{auth_no}:{_tag(auth_no)}"


def parse_payload(payload: str) -> tuple[str, str | None] | None:
    """(number, digest or None) of one of our codes, or None."""
    bound = payload.startswith(BOUND_PREFIX)
    prefix = BOUND_PREFIX if bound else PREFIX
    if not payload.startswith(prefix) or ":" not in payload[len(prefix):]:
        return None
    signed, tag = payload[len(prefix):].rsplit(":", 1)
    expected = _tag(BOUND_PREFIX + signed if bound else signed)
    # compare bytes: compare_digest rejects non-ASCII str with TypeError
    if not signed or not hmac.compare_digest(tag.encode(), expected.encode()):
        return None
    if not bound:
        return signed, None
    digest, _sep, number = signed.partition(":")
    return (number, digest) if number and digest else None


def number_from_payload(payload: str) -> str | None:
    parsed = parse_payload(payload)
    return parsed[0] if parsed else None


def authorization_pdf(doc: dict) -> bytes:
    """The 医疗机构信息维护授权书 for one grant, as A4 PDF bytes."""
    d = {key: str(doc.get(key) or "") for key in FIELDS}
    font = pdf_font_name()
    width, height = A4
    out = io.BytesIO()
    title = _("医疗机构信息维护授权书")
    # invariant=1 fixes the creation date and document ID, so repeated clicks match
    c = Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setAuthor(_("医疗保障信息平台"))
    c.setCreator(_("医疗保障信息平台"))
    c.setSubject(d["auth_no"])

    top = height - _MARGIN
    qr_x = width - _MARGIN - QR_SIZE
    _draw_qr(c, qr_payload(d["auth_no"], d["digest"]), qr_x, top)
    c.setFont(font, 9)
    c.drawCentredString(qr_x + QR_SIZE / 2, top - QR_SIZE - 1 * mm, d["auth_no"])

    # centred on the page yet clear of the QR code, shrunk if a translation runs long
    room = width - 2 * (width - qr_x + 3 * mm)
    c.setFont(font, min(20, 20 * room / c.stringWidth(title, font, 20)))
    c.drawCentredString(width / 2, top - 20 * mm, title)
    c.setFont(font, 12)
    c.drawString(_MARGIN, top - 38 * mm, _("授权文件编号：%(no)s", no=d["auth_no"]))

    y = top - 46 * mm
    # long names and addresses get smaller type, so the stamp area stays on the page
    for size in (11, 10, 9, 8):
        table, grant = _body(d, font, size)
        table_height = table.wrapOn(c, width - 2 * _MARGIN, y)[1]
        grant_height = grant.wrapOn(c, width - 2 * _MARGIN, y)[1]
        if y - table_height - 10 * mm - grant_height >= _SIGN_ROOM:
            break
    y -= table_height
    table.drawOn(c, _MARGIN, y)
    y -= 10 * mm + grant_height
    grant.drawOn(c, _MARGIN, y)

    # the stamp goes over 单位（盖章）, so the block sits well below the text, right of centre
    sign_y = max(_SIGN_ROOM - 25 * mm, min(y - 25 * mm, 95 * mm))
    c.setFont(font, 13)
    c.drawString(width / 2 + 10 * mm, sign_y, _("单位（盖章）："))
    c.drawString(width / 2 + 10 * mm, sign_y - 22 * mm,
                 _("日期：%(date)s", date=d["issued_on"] or _("　　年　　月　　日")))
    c.setFont(font, 10)
    c.setFillColor(colors.HexColor("#555555"))
    c.drawString(_MARGIN, _MARGIN, _("请加盖单位公章后扫描上传，保持二维码和授权文件编号清晰。"))
    c.showPage()
    c.save()
    return out.getvalue()


def _body(d, font, size):
    """The field table and the grant paragraph in size-point type."""
    cell = ParagraphStyle(f"cell-{size}", fontName=font, fontSize=size, leading=size * 1.36,
                          wordWrap="CJK")
    rows = [(_("医疗机构名称"), "institution_name"), (_("法人单位名称"), "legal_name"),
            (_("统一社会信用代码"), "uscc"), (_("医疗机构执业许可证登记号"), "licence_no"),
            (_("所属医保统筹区"), "pooling_area"), (_("行政区划"), "region"),
            (_("详细地址"), "address")]
    table = Table([[Paragraph(escape(label), cell), Paragraph(escape(d[key]), cell)]
                   for label, key in rows],
                  colWidths=[58 * mm, A4[0] - 2 * _MARGIN - 58 * mm], style=TableStyle([
                      ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                      ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
                      ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                      ("TOPPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    body = ParagraphStyle(f"body-{size}", fontName=font, fontSize=size + 2,
                          leading=(size + 2) * 1.8, wordWrap="CJK", firstLineIndent=2 * (size + 2))
    grant = Paragraph(escape(_(
        "兹授权 %(name)s（登录名 %(login)s，手机 %(mobile)s）为本机构的%(role)s，"
        "负责在医疗保障信息平台维护本机构信息。", name=d["grantee_name"],
        login=d["grantee_login"], mobile=d["grantee_mobile"], role=d["role_label"])), body)
    return table, grant


def _draw_qr(c, payload, x, top):
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=1, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # border included
    module = QR_SIZE / len(matrix)
    # one filled path of row runs: no hairline seams between adjacent modules when rasterised
    path = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            path.rect(x + start * module, top - (r + 1) * module, (col - start) * module, module)
    c.setFillColor(colors.black)
    c.drawPath(path, stroke=0, fill=1)


@dataclass
class Recognition:
    numbers: list[str] = field(default_factory=list)
    foreign: bool = False
    digests: dict = field(default_factory=dict)     # number → digest its code carries


def recognise(data: bytes) -> Recognition:
    """The authorisation numbers in the QR codes of an uploaded PDF or image."""
    result = Recognition()
    deadline = time.monotonic() + TIME_BUDGET
    try:
        pages = _pdf_pages(data) if b"%PDF" in data[:1024] else [_open_image(data)]
        for page in pages:
            for text in _decode(page, deadline):
                parsed = parse_payload(text)
                if parsed is None:
                    result.foreign = True
                    continue
                number, digest = parsed
                if number not in result.numbers:
                    result.numbers.append(number)
                if digest:
                    result.digests[number] = digest
    except Exception:  # Pillow and PDFium raise many kinds on hostile input
        return Recognition()
    return result


def _pdf_pages(data):
    """Page images, rendered one at a time so only one is held in memory."""
    with _PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        count = min(len(pdf), MAX_PAGES)
    try:
        for index in range(count):
            with _PDFIUM_LOCK:
                page = pdf[index]
                w, h = page.get_size()
                scale = min(RENDER_DPI / 72, (MAX_PIXELS / max(w * h, 1)) ** 0.5)
                bitmap = page.render(scale=scale)
                image = bitmap.to_pil().convert("RGB")  # a copy: to_pil may share the buffer
                bitmap.close()
                page.close()
            yield image
    finally:
        with _PDFIUM_LOCK:
            pdf.close()


def _open_image(data):
    img = Image.open(io.BytesIO(data))
    if img.width * img.height > MAX_PIXELS:
        # thumbnail lets JPEG decode at reduced size (draft), so huge scans stay cheap
        scale = (MAX_PIXELS / (img.width * img.height)) ** 0.5
        img.thumbnail((int(img.width * scale), int(img.height * scale)))
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        # transparent pixels are often black underneath; a QR needs a light background
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img).convert("RGB")
    return img if img.mode == "RGB" else img.convert("L")


def _decode(img, deadline):
    """QR texts on one page: the plain image, then cheap fallbacks until one finds ours.

    A code that is not ours does not stop the search: letterheads carry QR codes too."""
    gray = img.convert("L")
    local, global_ = zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.GlobalHistogram
    attempts = [(lambda: gray, local)]
    if img.mode == "RGB":
        # a red stamp over the code darkens it in grey; in the red channel it is paper-white
        attempts.append((lambda: img.getchannel("R"), local))
    attempts += [(lambda: ImageOps.autocontrast(gray, cutoff=1), local),
                 (lambda: gray.filter(ImageFilter.MedianFilter(3)), local)]
    if max(gray.size) > 3000:
        attempts.append((lambda: gray.reduce(2), local))
    if max(gray.size) < 1200:
        attempts.append((lambda: gray.resize((gray.width * 2, gray.height * 2), Image.LANCZOS), local))
    # a global threshold copes where local averaging breaks the modules up
    attempts.append((lambda: gray, global_))
    texts = []
    for index, (image, binarizer) in enumerate(attempts):
        if index and time.monotonic() > deadline:
            break
        found = [b.text for b in zxingcpp.read_barcodes(
            image(), formats=zxingcpp.BarcodeFormat.QRCode, binarizer=binarizer)]
        texts += [text for text in found if text not in texts]
        if any(number_from_payload(text) for text in found):
            break
    return texts
