"""帮助 (issue 18 item 12): a help page per module — the manual's steps in short and its
常见问题 — at /help/<module>, linked from the navbar of the module's screens."""
import re

import pytest

# module → (label, a step and a question taken from that module's manual)
MANUALS = {
    "relief": ("疾病应急救助", "申请拨付金额由医疗费用和生活费用两部分构成",
               "只能上传压缩格式的文件"),
    "ivd": ("体外诊断试剂报量", "翻页前需要点击【暂存】", "医疗机构在省本级下，数据如何审核？"),
    "injury": ("工伤服务", "点击【采集电子材料】", "橙色说明该业务还存在未上传的电子材料"),
    "phs": ("基本公卫", "确认并上报", "固定电话要有区号"),
    "registry": ("机构信息维护", "生成授权文件并下载", "附件无法识别时，如何操作？"),
}


def help_link(page):
    found = re.search(r'<a id="navbar-help"[^>]*href="([^"]+)"', page)
    return found.group(1) if found else None


@pytest.mark.parametrize("name", sorted(MANUALS))
def test_each_module_has_a_help_page_with_steps_and_questions(login_as, name):
    label, step, question = MANUALS[name]
    response = login_as("ty_hosp1").get(f"/help/{name}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"{label} 帮助" in page
    assert "操作步骤" in page or "医疗机构" in page
    assert "常见问题" in page and step in page and question in page


def test_the_help_pages_are_public_like_the_registry_help(client):
    page = client.get("/help/registry").get_data(as_text=True)
    assert "机构信息维护 帮助" in page and "/registry/register/help" in page


def test_an_unknown_module_has_no_help_page(client):
    assert client.get("/help/nothing").status_code == 404


@pytest.mark.parametrize("login, screen, name", [
    ("ty_hosp1", "/relief/applications/list/", "relief"),
    ("ty_hosp1", "/ivd/fill/", "ivd"),
    ("ty_hosp1", "/injury/pending/", "injury"),
    ("xd_town1", "/phs/institutions/list/", "phs"),
    ("ty_maint", "/registry/staff/list/", "registry"),
])
def test_a_modules_screen_links_to_its_own_help(login_as, login, screen, name):
    page = login_as(login).get(screen).get_data(as_text=True)
    assert help_link(page) == f"/help/{name}"


def test_elsewhere_the_help_menu_lists_every_module(login_as):
    page = login_as("ty_hosp1").get("/").get_data(as_text=True)
    assert help_link(page) == "#"
    menu = page.split('id="navbar-help"', 1)[1].split("</ul>", 1)[0]
    assert all(f'href="/help/{name}"' in menu for name in MANUALS)
