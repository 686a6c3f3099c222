"""SPEC M2 授权文件: the generated PDF, and recognition of its printed, stamped and scanned copy.

The service needs only SECRET_KEY and Babel, so this module replaces the session app (schema
and demo data, ~20 s to build) with a bare Flask app, and the per-test database restore with
nothing."""
import io
import random

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from flask import Flask
from flask_babel import Babel
from PIL import Image, ImageChops, ImageDraw

from app.services import pdf
from app.services.registry import document as registry_document
from app.services.registry.document import (Recognition, authorization_pdf, number_from_payload,
                                            parse_payload, qr_payload, recognise)

AUTH_NO = "SQ2026112500001"
DOC = {
    "auth_no": AUTH_NO, "institution_name": "太原市第一人民医院", "legal_name": "太原市卫生健康委员会",
    "uscc": "12140100405715000X", "licence_no": "PDY00001X14010519A1001", "pooling_area": "太原市本级",
    "region": "山西省太原市小店区", "address": "山西省太原市小店区长治路123号<br/>东院区&amp;门诊楼",
    "grantee_name": "张三", "grantee_login": "zhangsan", "grantee_mobile": "13800000000",
    "role_label": "医疗机构维护人员", "issued_on": "2026年11月25日",
}
DPI = 150
STAMP_RED = (210, 25, 25)
SECRET = "test-secret-key-of-at-least-32-bytes!"


def bare_app(secret):
    application = Flask(__name__)
    application.config["SECRET_KEY"] = secret
    Babel(application)
    return application


@pytest.fixture(scope="module")
def app():
    return bare_app(SECRET)


@pytest.fixture(autouse=True)
def _restore():
    """Nothing to restore: these tests write no rows."""


@pytest.fixture(scope="module")
def document(app):
    with app.app_context():
        return authorization_pdf(DOC)


@pytest.fixture(scope="module")
def page_image(document):
    """Page 1 as a 150-dpi RGB image: what the printer gets."""
    return pdfium.PdfDocument(document)[0].render(scale=DPI / 72).to_pil().convert("RGB")


def stamped(image, centre):
    """A round red stamp, multiplied like ink: paper turns red, black print stays black."""
    ink = Image.new("RGB", image.size, "white")
    draw = ImageDraw.Draw(ink)
    x, y, r = centre[0], centre[1], round(21 / 25.4 * DPI)  # a 42 mm seal
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 150, 150), outline=STAMP_RED, width=8)
    draw.ellipse((x - r // 2, y - r // 2, x + r // 2, y + r // 2), outline=STAMP_RED, width=16)
    return ImageChops.multiply(image, ink)


def speckled(image, seed, share=0.02):
    image = image.copy()
    rnd, pixels = random.Random(seed), image.load()
    for _ in range(int(image.width * image.height * share)):
        pixels[rnd.randrange(image.width), rnd.randrange(image.height)] = \
            (0, 0, 0) if rnd.random() < 0.5 else (255, 255, 255)
    return image


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def qr_png(text):
    return encoded(qrcode.make(text, border=4).get_image(), "PNG")


def test_the_pdf_is_deterministic_and_follows_its_fields(ctx):
    data = authorization_pdf(DOC)
    assert data.startswith(b"%PDF-")
    assert authorization_pdf(dict(DOC)) == data
    assert authorization_pdf({**DOC, "grantee_mobile": "13800000001"}) != data
    assert authorization_pdf({**DOC, "auth_no": "SQ2026112500002"}) != data


def test_the_pdf_text_is_chinese_in_an_embedded_font(document):
    text = pdfium.PdfDocument(document)[0].get_textpage().get_text_range().replace("\r\n", "")
    assert "医疗机构信息维护授权书" in text
    assert f"授权文件编号：{AUTH_NO}" in text
    assert "统一社会信用代码" in text and "12140100405715000X" in text
    assert "长治路123号<br/>东院区&amp;门诊楼" in text  # data, not markup
    assert "兹授权 张三（登录名 zhangsan，手机 13800000000）为本机构的医疗机构维护人员" in text
    assert "单位（盖章）" in text and "日期：2026年11月25日" in text
    if pdf.pdf_font_name() != pdf.CID_FONT:
        assert b"/FontFile2" in document  # a TrueType subset travels with the file


def test_the_qr_code_is_about_40_mm_level_q_at_the_top_right(ctx, page_image):
    (code,) = zxingcpp.read_barcodes(page_image)
    assert code.text == qr_payload(AUTH_NO)
    assert code.ec_level == "Q"  # a quarter of the code may be lost under the stamp or a fold
    corners = [code.position.top_left, code.position.top_right,
               code.position.bottom_left, code.position.bottom_right]
    xs, ys = [p.x for p in corners], [p.y for p in corners]
    side_mm = (max(xs) - min(xs)) / DPI * 25.4  # the symbol, without its 4-module quiet zone
    assert 28 < side_mm < 40
    assert min(xs) > page_image.width / 2 and max(ys) < page_image.height / 4


def test_the_generated_pdf_is_recognised(ctx, document):
    assert recognise(document) == Recognition([AUTH_NO], False)


@pytest.mark.parametrize("angle", [90, 5, -3])
def test_a_stamped_rotated_noisy_scan_is_recognised(ctx, page_image, angle):
    w, h = page_image.size
    scan = stamped(page_image, (round(w * 0.68), round(h * 0.70)))  # over 单位（盖章）and the date
    scan = scan.rotate(angle, expand=True, fillcolor="white", resample=Image.BICUBIC)
    scan = speckled(scan, seed=angle)
    for upload in (encoded(scan, "JPEG", quality=60), encoded(scan, "PNG"),
                   encoded(scan, "PDF", resolution=DPI)):
        assert recognise(upload) == Recognition([AUTH_NO], False)


def test_a_stamp_over_the_qr_code_is_seen_through(ctx, page_image):
    w, h = page_image.size
    scan = stamped(page_image, (round(w * 0.80), round(h * 0.12)))
    assert zxingcpp.read_barcodes(scan.convert("L")) == []  # in grey the stamp spoils the code
    assert recognise(encoded(scan, "JPEG", quality=60)) == Recognition([AUTH_NO], False)
    # a letterhead's own QR code, read at once, must not end the search for ours
    scan.paste(Image.open(io.BytesIO(qr_png("https://example.org/"))), (40, h - 400))
    assert recognise(encoded(scan, "PNG")) == Recognition([AUTH_NO], True)


def test_a_scan_larger_than_the_pixel_cap_is_shrunk_first(ctx, page_image, monkeypatch):
    monkeypatch.setattr(registry_document, "MAX_PIXELS", 1_000_000)
    upload = encoded(page_image, "PNG")
    image = registry_document._open_image(upload)
    assert image.width * image.height <= 1_000_000 < page_image.width * page_image.height
    assert recognise(upload).numbers == [AUTH_NO]


def test_a_transparent_png_is_read_on_white(ctx):
    code = qrcode.make(qr_payload(AUTH_NO), border=4).get_image().convert("L")
    # black everywhere, the light modules only transparent: flattened naively it is all black
    clear = Image.merge("LA", (Image.new("L", code.size, 0), ImageChops.invert(code)))
    assert recognise(encoded(clear, "PNG")) == Recognition([AUTH_NO], False)


def test_numbers_come_in_page_order_without_duplicates(ctx):
    pages = [Image.open(io.BytesIO(qr_png(qr_payload(number)))).convert("RGB")
             for number in ("SQB", "SQA", "SQB")]
    upload = encoded(pages[0], "PDF", save_all=True, append_images=pages[1:])
    assert recognise(upload) == Recognition(["SQB", "SQA"], False)


def test_a_valid_code_for_another_number_gives_that_number(ctx):
    assert recognise(qr_png(qr_payload("SQ2026112500099"))) == Recognition(["SQ2026112500099"], False)


@pytest.mark.parametrize("payload", ["HAP-SQ:SQ123:0000000000", "hello"])
def test_a_code_that_is_not_ours_is_foreign(ctx, payload):
    assert recognise(qr_png(payload)) == Recognition([], True)


def blank_png():
    return encoded(Image.new("L", (1240, 1754), 255), "PNG")


def noise_png():
    rnd = random.Random(7)
    return encoded(Image.frombytes("L", (600, 600), rnd.randbytes(600 * 600)), "PNG")


@pytest.mark.parametrize("make", [
    blank_png, noise_png, lambda: "授权文件".encode() + b" plain text\n",
    lambda: b"%PDF-1.7\n" + random.Random(3).randbytes(4000), lambda: b"", lambda: b"\x89PNG\r\n\x1a\n",
], ids=["blank", "noise", "text", "corrupt-pdf", "empty", "truncated-png"])
def test_unreadable_uploads_give_nothing(ctx, make):
    assert recognise(make()) == Recognition([], False)


def test_the_payload_round_trips_and_resists_tampering(ctx):
    payload = qr_payload(AUTH_NO)
    tag = payload.rsplit(":", 1)[1]
    assert payload == f"HAP-SQ:{AUTH_NO}:{tag}"
    assert len(tag) == 10 and set(tag) <= set("0123456789abcdef")
    assert number_from_payload(payload) == AUTH_NO
    assert number_from_payload(f"HAP-SQ:SQ2026112500002:{tag}") is None  # changed number, old tag
    assert number_from_payload(f"HAP-SQ:{AUTH_NO}:{tag[:-1]}{'1' if tag[-1] == '0' else '0'}") is None
    assert number_from_payload(f"HAP-XX:{AUTH_NO}:{tag}") is None
    assert number_from_payload(f"HAP-SQ:{AUTH_NO}") is None
    assert number_from_payload(f"HAP-SQ:{AUTH_NO}:标签标签标签标签标签") is None  # non-ASCII tag
    assert number_from_payload(qr_payload("A:B")) == "A:B"
    assert number_from_payload(qr_payload("")) is None


def test_the_tag_depends_on_the_secret_key(app):
    with app.app_context():
        payload = qr_payload(AUTH_NO)
    with bare_app("another-secret-key-of-at-least-32-bytes").app_context():
        assert qr_payload(AUTH_NO) != payload
        assert number_from_payload(payload) is None


def test_the_time_budget_stops_the_fallbacks(ctx, page_image, monkeypatch):
    w, h = page_image.size
    upload = encoded(stamped(page_image, (round(w * 0.80), round(h * 0.12))), "PNG")
    monkeypatch.setattr(registry_document, "TIME_BUDGET", 0)
    assert recognise(upload) == Recognition([], False)  # only the plain pass ran


def box(textpage, text):
    """(left, bottom, right, top) of the first character of text on the page, in points."""
    searcher = textpage.search(text)
    index, _count = searcher.get_next()
    return textpage.get_charbox(index)


def test_fields_at_their_column_limits_leave_the_stamp_area_clear(ctx):
    doc = {**DOC, "institution_name": "太原市某某医院" * 19, "legal_name": "某某集团有限公司" * 16,
           "address": "山西省太原市小店区长治路某某大厦" * 16, "grantee_name": "买" * 64,
           "grantee_login": "u" * 64}  # organization.name 128, address 256, ab_user 64
    data = authorization_pdf(doc)
    pages = pdfium.PdfDocument(data)
    assert len(pages) == 1
    textpage = pages[0].get_textpage()
    grant_end = box(textpage, "维护本机构信息。")
    seal, date, note = box(textpage, "单位（盖章）"), box(textpage, "日期："), box(textpage, "请加盖单位公章")
    assert grant_end[1] > seal[3] + 40 and seal[1] > date[3] + 40 and date[1] > note[3]
    assert recognise(data).numbers == [AUTH_NO]


def test_a_bound_payload_carries_its_digest_and_resists_tampering(ctx):
    """Issue 23 item 3: the code binds the number to a digest of the data printed."""
    payload = qr_payload(AUTH_NO, "0123456789ab")
    assert parse_payload(payload) == (AUTH_NO, "0123456789ab")
    assert number_from_payload(payload) == AUTH_NO
    forged = payload.replace("0123456789ab", "0123456789ac")
    assert parse_payload(forged) is None
    assert parse_payload(qr_payload("A:B", "ff00")) == ("A:B", "ff00")
    assert recognise(qr_png(payload)) == Recognition([AUTH_NO], False, {AUTH_NO: "0123456789ab"})
