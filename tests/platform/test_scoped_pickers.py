"""A list holding several organisations' rows is searched by organisation with a picker of
the organisations the user may see (issue 18 item 3): names, not ids; nothing outside the
user's scope offered; the filter narrows the list; a bad value changes nothing."""
import re

from tests.conftest import user


def _picker(page):
    """{id: name} of the organisation picker in a list's search form."""
    found = re.search(r"new AdminFilters\((.*?)\);", page, re.S)
    widget = found.group(1) if found else ""
    widget = widget.encode().decode("unicode_escape") if "\\u" in widget else widget
    select = re.search(r'<select[^>]*name=\\?"organization_id\\?"(.*?)</select>', widget, re.S)
    return dict(re.findall(r'<option[^>]*value=\\?"(\d+)\\?"[^>]*>([^<]+)<', select.group(1))) \
        if select else {}


def _count(page):
    return int(re.search(r"记录数目:</strong>\s*(\d+)", page).group(1))


def test_an_agency_picks_a_hospital_of_its_city(app, ctx, login_as):
    c = login_as("ty_agency")
    page = c.get("/relief/review/list/").get_data(as_text=True)
    offered = _picker(page)
    assert user("ty_hosp1").organization.name in offered.values()
    assert user("yc_hosp1").organization.name not in offered.values()
    everything = _count(page)
    mine = user("ty_hosp1").organization
    narrowed = c.get(f"/relief/review/list/?_flt_0_organization_id={mine.id}").get_data(
        as_text=True)
    rows = narrowed.split("<tbody")[-1]
    assert 0 < _count(narrowed) < everything
    assert all(name not in rows for pk, name in offered.items() if int(pk) != mine.id)
    for bad in ("abc", "99999999999"):
        assert c.get(f"/relief/review/list/?_flt_0_organization_id={bad}").status_code == 200


def test_a_hospital_that_sees_its_own_rows_only_gets_no_picker(app, ctx, login_as):
    page = login_as("ty_hosp1").get("/relief/applications/list/").get_data(as_text=True)
    assert _picker(page) == {}
    assert 'name="organization_id" class="filter"' not in page       # not in 添加过滤条件


def test_a_city_reviewer_picks_a_county_by_its_name(app, ctx, login_as):
    c = login_as("ty_agency")
    page = c.get("/relief/review/list/").get_data(as_text=True)
    found = re.search(r"new AdminFilters\((.*?)\);", page, re.S).group(1)
    found = found.encode().decode("unicode_escape") if "\\u" in found else found
    select = re.search(r'<select[^>]*name=\\?"county_code\\?"(.*?)</select>', found, re.S)
    counties = dict(re.findall(r'<option[^>]*value=\\?"(\d+)\\?"[^>]*>([^<]+)<', select.group(1)))
    assert counties and all(code.startswith("1401") for code in counties)
    assert "小店区" in counties.values() or "迎泽区" in counties.values()
    code = next(iter(counties))
    narrowed = c.get(f"/relief/review/list/?_flt_0_county_code={code}")
    assert narrowed.status_code == 200 and _count(narrowed.get_data(as_text=True)) <= _count(page)
