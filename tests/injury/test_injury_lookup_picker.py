"""The person lookup: several determinations → none pre-selected and the business buttons
wait for a choice (the 放大镜 points at them); an ID number pasted with spaces is trimmed
before the length check (issue 21 items 5 and 8)."""
import re

from tests.injury.injury_support import determination, id_number, text_of


def test_several_determinations_are_not_pre_selected(login_as, ctx):
    number = id_number("14010519800101003")
    determination(number=number), determination(number=number)
    page = text_of(login_as("ty_hosp1").get(f"/injury/declare/?id_number={number}"))
    radios = re.findall(r'<input type="radio" name="determination"[^>]*>', page)
    assert len(radios) == 2 and not any("checked" in r for r in radios)
    buttons = re.findall(r'<button class="btn[^"]*business-button"[^>]*>', page)
    assert len(buttons) == 5 and all("disabled" in b for b in buttons)
    assert 'id="pick-determination"' in page and "请先点击放大镜" in page


def test_a_single_determination_is_chosen_and_the_buttons_work(login_as, ctx):
    det = determination()
    page = text_of(login_as("ty_hosp1").get(f"/injury/declare/?id_number={det.id_number}"))
    assert re.search(rf'name="determination" value="{det.id}" checked', page)
    assert "disabled" not in "".join(re.findall(r'<button class="btn[^"]*business-button"[^>]*>',
                                                page))


def test_an_id_number_pasted_with_spaces_is_trimmed(login_as, api, ctx):
    det = determination()
    n = det.id_number
    spaced = f" {n[:6]} {n[6:14]} {n[14:]} "
    page = text_of(login_as("ty_hosp1").get("/injury/declare/", query_string={
        "id_number": spaced}))
    assert det.determination_no in page
    assert 'maxlength="18"' not in page           # the browser does not cut a pasted number
    c, h = api("ty_hosp1")
    r = c.get("/api/v1/injury_determination/lookup", headers=h,
              query_string={"id_number": spaced})
    assert r.status_code == 200
    assert [row["determination_no"] for row in r.json["result"]] == [det.determination_no]
