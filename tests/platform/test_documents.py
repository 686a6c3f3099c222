import io
import re
import shutil
import subprocess

import pytest
from docx import Document
from docx.oxml.ns import qn

from app.services import pdf
from app.services.documents import BLANK, EAST_ASIAN_FONT, commitment_letter_docx
from app.services.pdf import pdf_font_name, write_cert_summary_pdf

TITLE = "2027年度体外诊断试剂报量 填报数据汇总（按注册证）"
META = [("医疗机构", "太原市第一人民医院"), ("项目", "2027年度体外诊断试剂报量"),
        ("导出时间", "2026-11-25 10:00")]
COLUMNS = [("注册证号", 3, "left"), ("生产企业", 3, "left"), ("产品名称", 3, "left"),
           ("上年度采购总数量", 1.5, "right"), ("下年度采购需求量", 1.5, "right"),
           ("是否有在用仪器", 1, "center")]
FOOTER = ["院长签字：__________    单位盖章：__________    日期：____年__月__日"]


def rows(n):
    for i in range(n):
        product = "乙型肝炎病毒表面抗原检测试剂盒（化学发光法）" * (4 if i == 1 else 1)
        yield (f"国械注准2017340{i:04d}", "晋阳华康生物科技有限公司<特殊&字符>", product,
               1000 + i, None if i % 5 == 0 else 1200 + i, "是" if i % 2 else "否")


def render(n):
    out = io.BytesIO()
    count = write_cert_summary_pdf(out, TITLE, META, COLUMNS, rows(n), FOOTER)
    return out.getvalue(), count


def page_count(data):
    return len(re.findall(rb"/Type /Page\b", data))


@pytest.fixture
def cid_font_only(monkeypatch):
    monkeypatch.setattr(pdf, "CJK_FONT_PATHS", ())
    pdf_font_name.cache_clear()
    yield
    pdf_font_name.cache_clear()


def test_pdf_writes_all_rows_with_a_chinese_font():
    data, count = render(60)
    assert data.startswith(b"%PDF-")
    assert count == 60
    assert page_count(data) >= 2
    if pdf_font_name() == pdf.CID_FONT:
        assert b"/BaseFont /STSong-Light" in data
    else:
        assert b"/FontFile2" in data  # embedded TrueType subset


def test_pdf_falls_back_to_the_cid_font(cid_font_only):
    data, count = render(5)
    assert pdf_font_name() == pdf.CID_FONT
    assert b"/BaseFont /STSong-Light" in data and b"/FontFile2" not in data
    assert count == 5


def test_pdf_streams_a_long_generator():
    data, count = render(3000)
    assert count == 3000
    assert page_count(data) > 3000 // 40  # at most ~35 rows fit on a page


def test_pdf_without_rows_still_has_header_and_footer(tmp_path):
    path = tmp_path / "summary.pdf"
    assert write_cert_summary_pdf(str(path), TITLE, [], COLUMNS, iter(()), FOOTER) == 0
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and page_count(data) == 1


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext (poppler-utils)")
@pytest.mark.parametrize("cid", [False, True])
def test_pdf_text_is_extractable(tmp_path, request, cid):
    if cid:
        request.getfixturevalue("cid_font_only")
    path = tmp_path / "summary.pdf"
    write_cert_summary_pdf(str(path), TITLE, META, COLUMNS, rows(60), FOOTER)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    pages = [re.sub(r"\s+", "", page) for page in text.split("\f")]
    assert "按注册证" in pages[0] and "太原市第一人民医院" in pages[0] and "第1页" in pages[0]
    assert "注册证号" in pages[1] and "下年度采购需求量" in pages[1] and "第2页" in pages[1]
    assert "国械注准20173400059" in pages[-2] and "院长签字" in pages[-2]
    assert "晋阳华康生物科技有限公司<特殊&字符>" in text


def letter_text(data):
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def test_commitment_letter_leaves_the_institution_blank():
    data = commitment_letter_docx("2027年度体外诊断试剂报量", 2027)
    text = letter_text(data)
    assert text.startswith("承诺书\n医疗保障部门：")
    assert f"{BLANK}（以下简称本机构）参加“2027年度体外诊断试剂报量”" in text
    for words in ("上年度采购总数量", "下年度采购需求量", "按照所报需求量组织采购", "承担相应责任",
                  "医疗机构（盖章）：", "院长（签字）：", "日期："):
        assert words in text
    runs = [run for p in Document(io.BytesIO(data)).paragraphs for run in p.runs]
    assert runs and all(run._element.rPr.rFonts.get(qn("w:eastAsia")) == EAST_ASIAN_FONT
                        for run in runs)


def test_commitment_letter_names_the_institution_and_year():
    text = letter_text(commitment_letter_docx("体外诊断试剂报量", 2028, "太原市第一人民医院"))
    assert "太原市第一人民医院（以下简称本机构）参加“2028年度体外诊断试剂报量”" in text
    assert BLANK not in text
