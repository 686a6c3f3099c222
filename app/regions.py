"""Loading the GB/T 2260 region tree from app/data/regions.csv (SPEC P1)."""
import csv
import os

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models.core import NATION_CODE, PROVINCE_OWN_SUFFIX, Region

CSV_PATH = os.path.join(os.path.dirname(__file__), "data", "regions.csv")


def _codes(code, level, parent_code, parent_level):
    province = code[:2] + "0000" if level != "nation" else None
    city = code if level == "city" else (parent_code if parent_level == "city" else None)
    county = code if level == "county" else None
    return province, city, county


def load_regions():
    """Insert every region not yet present; returns how many were added. Idempotent."""
    existing = set(db.session.execute(select(Region.code)).scalars())
    with open(CSV_PATH, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows.insert(0, {"code": NATION_CODE, "name": "全国", "level": "nation", "parent_code": ""})
    for p in [r for r in rows if r["level"] == "province"]:
        rows.append({"code": p["code"][:2] + PROVINCE_OWN_SUFFIX, "name": "省本级",
                     "level": "city", "parent_code": p["code"], "synthetic": True})
    levels = {r["code"]: r["level"] for r in rows}
    added = 0
    for level in ("nation", "province", "city", "county"):
        ids = dict(db.session.execute(select(Region.code, Region.id)).all())
        paths = dict(db.session.execute(select(Region.code, Region.path)).all())
        batch = []
        for r in rows:
            if r["level"] != level or r["code"] in existing:
                continue
            parent = r["parent_code"] or (NATION_CODE if level == "province" else "")
            province, city, county = _codes(r["code"], level, parent, levels.get(parent))
            batch.append(dict(
                code=r["code"], name=r["name"], level=level, parent_id=ids.get(parent),
                province_code=province, city_code=city, county_code=county,
                path=(paths[parent] + "/" if parent else "") + r["code"],
                is_synthetic=bool(r.get("synthetic")),
                is_pooling_area=level in ("province", "city") and not r.get("synthetic")))
        if batch:
            db.session.execute(insert(Region), batch)
            added += len(batch)
    db.session.commit()
    return added


def region_children(code):
    """[(code, name, level, has_children)] under the region `code` (provinces for None);
    None when there is no such region. The cascading region choices of every form use it."""
    parent = db.session.execute(db.select(Region.id).where(
        Region.code == (code or NATION_CODE))).scalar()
    if parent is None:
        return None
    child = aliased(Region)
    rows = db.session.execute(
        db.select(Region.code, Region.name, Region.level,
                  exists().where(child.parent_id == Region.id))
        .where(Region.parent_id == parent).order_by(Region.code)).all()
    return [tuple(r) for r in rows]
