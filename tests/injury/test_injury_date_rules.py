"""The declarations' date rules, each with its message beside the field (issue 21 item 4)."""
import datetime as dt
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models.injury import InjuryDeclaration
from app.services.injury.queries import local_today
from tests.injury.injury_support import RELAPSE, determination, save_relapse, text_of

TRANSFER = {"destination_hospital": "上级医院", "reason": "需进一步治疗", "transport": "救护车"}
REHAB = {"rehab_items": "运动疗法", "rehab_institution": "康复中心", "opinion": "同意"}
EXTENSION = {"reason": "愈合延迟", "opinion": "建议延长"}


def day(offset):
    return (local_today() + dt.timedelta(days=offset)).isoformat()


def beside(page, field):
    """The message shown beside `field` (its help-block with id <field>-error)."""
    match = re.search(rf'id="{field}-error">([^<]*)<', page)
    return match.group(1) if match else ""


def refused(c, kind, data, field, expected):
    before = db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar()
    page = text_of(c.post(f"/injury/declare/new/{kind}", data=data), 422)
    assert expected in beside(page, field), beside(page, field)
    assert db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar() \
        == before


def test_a_relapse_date_is_neither_in_the_future_nor_before_the_injury(login_as, ctx):
    det = determination()         # 工伤发生时间 2025-06-18
    c = login_as("ty_hosp1")
    refused(c, "relapse", {"determination": det.id, **RELAPSE, "recurrence_date": day(1)},
            "recurrence_date", "复发日期不能晚于今天")
    refused(c, "relapse", {"determination": det.id, **RELAPSE, "recurrence_date": "2025-06-17"},
            "recurrence_date", "复发日期不能早于工伤发生时间（2025-06-18）")
    assert save_relapse(c, det, recurrence_date=day(0)).status_code == 302


def test_an_extension_must_end_strictly_after_the_original_end(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    data = {"determination": det.id, **EXTENSION, "original_end_date": day(10)}
    refused(c, "extension", {**data, "extended_to": day(10)}, "extended_to",
            "延长至日期必须晚于原就医截止日期")
    assert c.post("/injury/declare/new/extension",
                  data={**data, "extended_to": day(11)}).status_code == 302


def test_a_transfer_is_not_planned_in_the_past(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    data = {"determination": det.id, **TRANSFER}
    refused(c, "transfer", {**data, "planned_date": day(-1)}, "planned_date",
            "计划转院日期不能早于今天")
    assert c.post("/injury/declare/new/transfer",
                  data={**data, "planned_date": day(0)}).status_code == 302


def test_rehab_dates_stay_within_sensible_bounds(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    data = {"determination": det.id, **REHAB}
    refused(c, "rehab", {**data, "start_date": "2025-06-01", "end_date": "2025-07-01"},
            "start_date", "康复开始日期不能早于工伤发生时间")
    refused(c, "rehab", {**data, "start_date": day(0), "end_date": day(400)}, "end_date",
            "康复期限不能超过一年")
    assert c.post("/injury/declare/new/rehab",
                  data={**data, "start_date": day(0), "end_date": day(90)}).status_code == 302


def test_the_api_applies_the_same_date_rules(api, ctx):
    det = determination()
    c, h = api("ty_hosp1")
    r = c.post("/api/v1/injury_declaration/", headers=h, json={
        "kind": "extension", "determination": det.id, **EXTENSION,
        "original_end_date": day(10), "extended_to": day(10)})
    assert r.status_code == 422 and "extended_to" in r.json["fields"]
