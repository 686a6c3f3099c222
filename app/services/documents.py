"""Word templates that institutions download, fill in, sign and stamp."""
import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

EAST_ASIAN_FONT = "宋体"
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(14)
BLANK = "_" * 20


def commitment_letter_docx(project_name, year, institution_name=None):
    """The 承诺书 for one IVD reagent reporting project, as .docx bytes."""
    doc = Document()
    _a4(doc.sections[0])
    institution = institution_name or BLANK
    project = _project_label(project_name, year)

    _paragraph(doc, "承诺书", size=Pt(22), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, "医疗保障部门：")
    for text in (
        f"{institution}（以下简称本机构）参加“{project}”，现就本机构填报的数据郑重承诺如下：",
        "一、本机构填报的各注册证体外诊断试剂上年度采购总数量，与本机构实际采购记录一致，"
        "真实、准确、完整。",
        "二、本机构填报的下年度采购需求量，是根据临床实际使用需要认真测算得出的，"
        "真实、准确、完整。",
        "三、本机构将按照所报需求量组织采购，不无故减少采购或拒绝采购。",
        "四、如有虚报、瞒报、漏报等情况，本机构愿意承担相应责任，"
        "并接受医疗保障部门依照有关规定作出的处理。",
        "特此承诺。",
    ):
        _paragraph(doc, text, first_line_indent=BODY_SIZE * 2)
    for text in ("医疗机构（盖章）：", "院长（签字）：", "日期：      年    月    日"):
        _paragraph(doc, text, left_indent=Cm(8), space_before=Pt(18))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _project_label(project_name, year):
    """The project name, prefixed with its year unless the name already contains it."""
    return project_name if str(year) in project_name else f"{year}年度{project_name}"


def _a4(section):
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.8)
    section.top_margin = section.bottom_margin = Cm(2.5)


def _paragraph(doc, text, size=BODY_SIZE, bold=None, align=WD_ALIGN_PARAGRAPH.LEFT,
               first_line_indent=None, left_indent=None, space_before=Pt(0)):
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = first_line_indent
    fmt.left_indent = left_indent
    fmt.space_before = space_before
    fmt.space_after = Pt(6)
    fmt.line_spacing = 1.5
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = size
    run.font.name = LATIN_FONT
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), EAST_ASIAN_FONT)
