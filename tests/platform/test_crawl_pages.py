"""Every page a demo account can reach from its menu and 我的待办, in Chinese (issue 18 items
1, 3, 6): the menu entries, each list, the first record's detail and edit pages and the add
page, crawled with the test client once per set of roles. None answers 500, and the text a
person sees (tags, scripts and styles stripped; titles, placeholders, button captions, typed
values, and the search widget's columns, operators and choices) holds no English word from
FAB's or WTForms' defaults, no untranslated message and no stored code (`draft`,
`unidentified` …) where its label belongs."""
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import PASSWORD

# Never followed: leaving the session or the language, writes behind a GET, files, the API.
NOT_FOLLOWED = re.compile(r"/(logout|lang|delete|download|export|exports/file|api|static|"
                          r"swagger|action|transition|attachments)\b")
# Followed from a page other than the home page: a record's pages and the add form.
RECORD_PAGE = re.compile(r"/(list/?|show/\d+|edit/\d+|add/?)$")
PAGING = ("_oc_", "_od_", "psize_", "page_")
# FAB's own security screens (users, roles, permissions, the login chart) of the super-admin:
# their permission and view names are identifiers and FAB's zh catalogue lacks much of their
# wording; the portal's 账号管理 is the screen for accounts. Checked for errors only.
FAB_SECURITY = re.compile(r"^/(users|roles|groups|permissions|viewmenus|permissionviews|"
                          r"userstatschartview)/")
# Words that are names, not English text: the language switch offers English in English,
# units and file types.
ALLOWED = {"English", "IP", "KB", "MB", "GB", "PDF", "Excel", "CA", "ID", "IVD", "Email",
           "zip", "rar", "pdf", "png", "jpg", "jpeg", "xls", "xlsx", "doc", "docx"}
ENGLISH_WORD = re.compile(r"(?<![\w.@/\\-])[A-Za-z][A-Za-z_]+(?![\w@/\\-])")
UNFORMATTED = re.compile(r"%\(\w+\)s|\{\w+\}")


class VisibleText(HTMLParser):
    """The text a person sees and the links on a page."""

    HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.links, self.scripts, self._hidden, self._script = [], [], [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.HIDDEN:
            self._hidden += 1
            self._script = [] if tag == "script" else None
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for name in ("title", "placeholder"):
            if a.get(name):
                self.parts.append(a[name])
        kind = (a.get("type") or "text").lower()
        if tag == "input" and a.get("value") and kind not in ("hidden", "checkbox", "radio"):
            self.parts.append(a["value"])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self._hidden -= 1
            if tag == "script" and self._script is not None:
                self.scripts.append("".join(self._script))
                self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
        elif not self._hidden and data.strip():
            self.parts.append(data.strip())


def search_widget_text(scripts):
    """FAB's search widget is drawn by script from five JSON arguments: the columns' labels,
    each column's input, the operators and the active filters (column, operator, value)."""
    shown = []
    for script in scripts:
        found = re.search(r"new AdminFilters\(\s*'[^']*',(.*)\);\s*\}\)\(jQuery\)", script, re.S)
        if not found:
            continue
        labels, fields, operators, active = json.loads("[" + found.group(1) + "]")
        shown += list(labels.values())
        shown += [name for names in operators.values() for name in names]
        for html in fields.values():
            field = VisibleText()
            field.feed(html)
            shown += field.parts
        for column, operator, value in active:
            shown.append(operator)
            if "<select" not in fields.get(column, "<select"):    # typed into a text box
                shown.append(str(value))
    return shown


def visible(html):
    page = VisibleText()
    page.feed(html)
    return " ".join(page.parts + search_widget_text(page.scripts)), page.links


def page_key(url):
    """Pages that differ only by a record's number or a filter's value are the same page."""
    parts = urlsplit(url)
    return re.sub(r"/\d+", "/N", parts.path), tuple(sorted(k for k, _ in parse_qsl(parts.query)))


def followed(href, from_home):
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return False
    if NOT_FOLLOWED.search(parts.path) or any(p in parts.query for p in PAGING):
        return False
    return from_home or bool(RECORD_PAGE.search(parts.path))


def crawl(app, login):
    """(url, status, visible text) of every page reachable from the home page."""
    client = app.test_client()
    assert client.post("/login/", data={"username": login, "password": PASSWORD}).status_code == 302
    seen, queue, pages = set(), ["/"], []
    while queue:
        url = queue.pop(0)
        if page_key(url) in seen:
            continue
        seen.add(page_key(url))
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.content_type:
            pages.append((url, response.status_code, ""))
            continue
        text, links = visible(response.get_data(as_text=True))
        pages.append((url, 200, text))
        queue += [href for href in links if followed(href, url == "/")]
    return pages


def raw_codes():
    """Every stored code a screen must show by its label: the workflows' states."""
    from app.module import modules
    codes = set()
    for module in modules():
        for flow in module.workflows:
            codes |= {str(s) for s in flow.state_labels}
    return {c for c in codes if re.fullmatch(r"[a-z_]+", c)}


def problems(url, status, text, codes, names):
    found = []
    if status >= 500:
        found.append(f"HTTP {status}")
    if FAB_SECURITY.match(url):
        return found
    words = set(ENGLISH_WORD.findall(text)) - ALLOWED - names
    found += [f"code {w!r}" if w in codes else f"English {w!r}" for w in sorted(words)]
    found += [f"unformatted {m!r}" for m in UNFORMATTED.findall(text)]
    return found


def demo_accounts():
    """One account per set of roles (accounts alike in roles see alike pages)."""
    from app.extensions import db
    from app.models.core import User
    accounts = {}
    for account in db.session.execute(db.select(User).where(User.active)
                                      .order_by(User.id)).scalars():
        accounts.setdefault(frozenset(r.name for r in account.roles), account.username)
    return sorted(accounts.values())


def test_every_reachable_page_is_chinese_without_raw_values(app, ctx):
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import Role
    from app.models.core import User
    names = {u for (u,) in db.session.execute(db.select(User.username))}
    names |= {r for (r,) in db.session.execute(db.select(Role.name))}      # e.g. Admin
    names |= {part for name in names for part in re.split(r"\d+", name) if part}
    codes = raw_codes()
    report, visited = {}, 0
    for login in demo_accounts():
        for url, status, text in crawl(app, login):
            visited += 1
            for problem in problems(url, status, text, codes, names):
                report.setdefault(problem, []).append(f"{login} {url}")
    assert visited > 100
    assert not report, "\n".join(f"{p}: {', '.join(pages[:4])}" for p, pages in
                                 sorted(report.items()))


def search_widget(html):
    """(labels, fields, operators, active filters) of the list's search widget."""
    found = re.search(r"new AdminFilters\(\s*'[^']*',(.*)\);\s*\}\)\(jQuery\)", html, re.S)
    return json.loads("[" + found.group(1) + "]")


def test_a_state_is_searched_by_a_select_of_its_labels(login_as, ctx):
    client = login_as("ty_hosp1")
    page = client.get("/relief/applications/list/?_flt_0_state=submitted")
    html = page.get_data(as_text=True)
    labels, fields, operators, active = search_widget(html)
    assert operators["state"] == ["等于"]                    # no 开头是/结尾是 on a state
    assert "<select" in fields["state"] and ">待提交<" in fields["state"]
    assert active == [["state", "等于", ["submitted"]]]       # shown as 已提交 in the select
    from app.extensions import db
    from app.models.relief import ReliefApplication
    rows = set(re.findall(r"/relief/applications/show/(\d+)", html))
    states = {s for (s,) in db.session.execute(db.select(ReliefApplication.state).where(
        ReliefApplication.id.in_([int(r) for r in rows])))}
    assert states == {"submitted"}
    # an older link's operator number still filters by equality, never a 500
    assert client.get("/relief/applications/list/?_flt_7_state=draft").status_code == 200


def test_a_boolean_is_shown_and_searched_as_yes_no(login_as, ctx):
    client = login_as("admin")
    text, _ = visible(client.get("/system/accounts/show/1").get_data(as_text=True))
    assert not re.search(r"\b(True|False)\b", text)
    html = client.get("/phs/institutions/list/?_flt_0_is_complete=n").get_data(as_text=True)
    labels, fields, operators, active = search_widget(html)
    assert operators["is_complete"] == ["等于", "不等于"]
    assert ">是<" in fields["is_complete"] and ">否<" in fields["is_complete"]


def test_dates_are_searched_from_to(login_as, ctx):
    client = login_as("admin")
    html = client.get("/system/audit/list/").get_data(as_text=True)
    assert search_widget(html)[2]["created_at"] == ["从", "至"]
    empty = client.get("/system/audit/list/?_flt_0_created_at=2000-01-01"
                       "&_flt_1_created_at=2000-01-02")
    assert "没有找到记录" in empty.get_data(as_text=True)
    assert client.get("/system/audit/list/?_flt_0_created_at=不是日期").status_code == 200


def test_fab_default_titles_are_the_screens_own(login_as, ctx):
    client = login_as("admin")
    for url, title in (("/system/announcements/show/1", "通知公告详情"),
                       ("/system/announcements/add", "新增通知公告"),
                       ("/phs/rounds/add", "新增报送轮次")):
        text, _ = visible(client.get(url).get_data(as_text=True))
        assert title in text and not re.search(r"\b(Show|Add|Edit|List)\b", text), url


def test_the_audit_log_shows_kinds_and_states_by_their_labels(login_as, ctx):
    client = login_as("admin")
    text, _ = visible(client.get("/system/audit/list/?psize_AuditLogView=100")
                      .get_data(as_text=True))
    assert not re.search(r"\b(registry_\w+|ab_user|draft|submitted|None)\b", text)


def test_fabs_security_screens_speak_chinese_to_the_super_admin(login_as):
    """FAB's users, groups and statistics screens: Chinese column names, 是/否 for 启用
    (role and permission *names* are data and stay as they are)."""
    c = login_as("admin")
    for url, words in (("/users/list/", ("启用", "用户名", "角色")),
                       ("/groups/list/", ("名称", "标签", "角色")),
                       ("/userstatschartview/chart/", ("登录次数", "登录失败次数"))):
        page = c.get(url).get_data(as_text=True)
        text = re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S)
        assert all(w in page for w in words), url
        assert not re.search(r"\b(True|False|Active|Login Count|Groups|Label|Description|"
                             r"First Name|Last Name|Email)\b", text), url
