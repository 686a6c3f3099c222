"""The portal's own Chinese date and date-time picker (issue 18 item 2, app/static/datepicker.js)
in Chromium: 年/月 and 一 … 日 (Monday first) whatever the browser's language, a day and a
24-hour time picked with the mouse, a time typed by hand beside it (the picker never erases
it, Enter inserts nothing), saved and shown again on 编辑; a typed "明天" refused in Chinese
with every other value kept; a date-only field (预拨款 拨款时间)."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefApplication, ReliefPrepayment

PICKER = ".portal-picker"
ENGLISH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|"
                     r"Fri|Sat|Sun|Today|Clear|Done|Close)", re.I)


def today():
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def title(page):
    return page.inner_text(f"{PICKER} .dp-title")


def go_to(page, year, month):
    """The picker's « ‹ › » buttons, until it shows `year`年`month`月."""
    for _ in range(40):
        y, m = map(int, re.fullmatch(r"(\d{4})年(\d{1,2})月", title(page)).groups())
        if (y, m) == (year, month):
            return
        if y != year:
            page.click(f"{PICKER} .dp-{'prev' if y > year else 'next'}-year")
        else:
            page.click(f"{PICKER} .dp-{'prev' if m > month else 'next'}-month")
    raise AssertionError(f"the picker never reached {year}年{month}月")


def save(page):
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("form button[type=submit]")
    return posted.value.status


def fill_the_rest(page):
    page.select_option("#category", "unable_to_pay")
    page.fill("#patient_name", "日期控件患者")
    page.select_option("#gender", "1")
    page.fill("#id_number", "11010519491231002X")
    page.fill("#household_address", "山西省太原市小店区")
    page.fill("#relief_place", "急诊科")
    page.select_option("#disease", index=1)
    for field, value in (("emergency_cost", "100.00"), ("medical_cost", "1000.50"),
                         ("living_cost", "199.50"), ("requested_amount", "1200.00")):
        page.fill(f"#{field}", value)


def stored(name):
    db.session.expire_all()
    return db.session.execute(select(ReliefApplication).where(
        ReliefApplication.patient_name == name)).scalar_one()


def test_a_clerk_picks_a_start_time_types_an_end_time_and_edits_them(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助")
    page.click("text=应急救助基金申请")
    page.click("a[href*='/relief/applications/add']")
    assert page.get_attribute("#start_at", "type") == "text"
    assert page.get_attribute("#start_at", "data-picker") == "datetime"
    assert page.get_attribute("#start_at", "placeholder") == "例如 2026-11-01 08:00"

    page.click("#start_at")
    picker = page.locator(PICKER)
    assert picker.is_visible()
    now = today()
    assert title(page) == f"{now.year}年{now.month}月"
    assert page.locator(f"{PICKER} th").all_inner_texts() == list("一二三四五六日")
    assert page.get_attribute(f"{PICKER} .dp-now", "data-date") == now.isoformat()
    text = picker.inner_text()
    for word in ("年", "月", "时间", "今天", "清除", "确定"):
        assert word in text, word
    assert not ENGLISH.search(text), ENGLISH.search(text)
    shot(page, "open")

    go_to(page, 2026, 10)
    page.click(f"{PICKER} .dp-next-month")
    assert title(page) == "2026年11月"
    page.click(f"{PICKER} .dp-day[data-date='2026-11-01']")
    assert page.get_attribute(f"{PICKER} .dp-day[data-date='2026-11-01']", "class").count("dp-chosen") == 1
    page.select_option(f"{PICKER} .dp-hour", label="08")
    page.select_option(f"{PICKER} .dp-minute", label="30")
    page.select_option(f"{PICKER} .dp-second", label="00")
    shot(page, "time")
    page.click(f"{PICKER} .dp-ok")
    assert page.input_value("#start_at") == "2026-11-01 08:30:00"
    assert not picker.is_visible()

    page.click("#end_at")                       # typed by hand; the picker follows the typing
    assert picker.is_visible()
    page.keyboard.type("2026/11/03 18:30")
    assert title(page) == "2026年11月"
    assert page.get_attribute(f"{PICKER} .dp-chosen", "data-date") == "2026-11-03"
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.keyboard.press("Enter")                # closes the picker, inserts nothing, sends nothing
    page.wait_for_timeout(300)
    assert not picker.is_visible() and not posts
    assert page.input_value("#end_at") == "2026/11/03 18:30"
    page.click("#end_at")
    page.keyboard.press("Escape")
    assert not picker.is_visible() and page.input_value("#end_at") == "2026/11/03 18:30"

    fill_the_rest(page)
    assert save(page) == 302
    saved = stored("日期控件患者")
    assert saved.start_at == dt.datetime(2026, 11, 1, 8, 30)
    assert saved.end_at == dt.datetime(2026, 11, 3, 18, 30)

    page.goto(f"/relief/applications/edit/{saved.id}")
    assert page.input_value("#start_at") == "2026-11-01 08:30:00"
    page.click("#start_at")
    assert title(page) == "2026年11月"
    assert page.get_attribute(f"{PICKER} .dp-chosen", "data-date") == "2026-11-01"
    assert [page.input_value(f"{PICKER} .dp-{part}") for part in ("hour", "minute", "second")] \
        == ["8", "30", "0"]
    shot(page, "edit-open")
    page.keyboard.press("Escape")

    page.fill("#end_at", "明天")                # 确定 with no readable day keeps what was typed
    page.click("#end_at")
    page.click(f"{PICKER} .dp-ok")
    assert page.input_value("#end_at") == "明天"
    page.fill("#relief_place", "急诊科二病区")
    assert save(page) == 422
    shot(page, "refused")
    group = page.locator(".form-group, tr", has=page.locator("#end_at")).last
    assert "不是有效的日期时间，请按 2026-11-01 08:00 的格式填写" in group.inner_text()
    assert page.input_value("#end_at") == "明天"
    assert page.input_value("#relief_place") == "急诊科二病区"
    assert page.input_value("#start_at") == "2026-11-01 08:30:00"
    assert page.input_value("#medical_cost") == "1000.50"
    kept = stored("日期控件患者")
    assert kept.end_at == dt.datetime(2026, 11, 3, 18, 30) and kept.relief_place == "急诊科"


def test_a_clerk_picks_a_prepayment_day_in_the_date_only_picker(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助")
    page.click("text=预拨款管理")
    page.click("a[href*='/relief/prepayments/add']")
    assert page.get_attribute("#paid_on", "data-picker") == "date"
    assert page.get_attribute("#paid_on", "placeholder") == "例如 2026-11-01"

    page.fill("#paid_on", "2026/10/20")          # a typed day: the picker opens on it
    page.click("#paid_on")
    picker = page.locator(PICKER)
    assert picker.is_visible() and title(page) == "2026年10月"
    assert page.get_attribute(f"{PICKER} .dp-chosen", "data-date") == "2026-10-20"
    assert not page.locator(f"{PICKER} .dp-time").is_visible()      # no time for a day
    page.click(f"{PICKER} .dp-clear")
    assert page.input_value("#paid_on") == "" and not picker.is_visible()

    page.click("#paid_on")
    go_to(page, 2026, 9)
    shot(page, "date-open")
    page.click(f"{PICKER} .dp-day[data-date='2026-09-15']")           # a day is the whole value
    assert page.input_value("#paid_on") == "2026-09-15" and not picker.is_visible()
    page.fill("#amount", "1234.00")
    page.fill("#remark", "日期控件预拨款")
    assert save(page) == 302
    db.session.expire_all()
    row = db.session.execute(select(ReliefPrepayment).where(
        ReliefPrepayment.remark == "日期控件预拨款")).scalar_one()
    assert row.paid_on == dt.date(2026, 9, 15)
