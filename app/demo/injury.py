"""Demo data of the work-injury module (SPEC §Y, W): an assistive-device catalogue,
work-injury determinations of a few (fictitious) workers insured in 太原 and 运城, and
declarations of 太原市第一人民医院 in every state — each moved there through the real
services and the workflow engine, never by setting the state."""
import datetime as dt
import io
from decimal import Decimal

from PIL import Image, ImageDraw
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models.core import Region
from app.models.injury import InjuryDeclaration, InjuryDetermination, InjuryDeviceItem
from app.services import clock, files
from app.services.injury import commands
from app.services.validators import _id_check_char
from app.workflows import engine
from app.workflows.injury import KINDS, InjuryDeclarationFlow

# ---- 辅助器具目录 ---------------------------------------------------------------------------
# (category, usage years, [(name, specification, base price)], [(variant, price factor)])
UPPER_LEVELS = [("部分手", "掌骨及以远截肢", 3800), ("腕离断", "腕关节离断", 5200),
                ("前臂", "前臂截肢", 6800), ("肘离断", "肘关节离断", 8600),
                ("上臂", "上臂截肢", 9800), ("肩离断", "肩关节离断", 12800)]
UPPER_TYPES = [("装饰性", "硅胶外套，仿真手", Decimal("1.0")),
               ("索控式", "背带索控，机械手钩", Decimal("1.6")),
               ("肌电", "双通道肌电控制，单自由度", Decimal("4.5"))]
LOWER_LEVELS = [("部分足", "跖骨及以远截肢", 3200), ("赛姆", "踝关节离断", 6500),
                ("小腿", "小腿截肢", 8800), ("膝离断", "膝关节离断", 14500),
                ("大腿", "大腿截肢", 16800), ("髋离断", "髋关节离断", 23800)]
LOWER_TYPES = [("普通型", "树脂接受腔，静踝脚", Decimal("1.0")),
               ("功能型", "硅胶内衬，碳纤维储能脚（含液压膝关节）", Decimal("2.2"))]
ORTHOSES = [("手部", 900), ("腕手", 1200), ("肘", 1500), ("肩", 1800), ("颈椎", 1300),
            ("胸腰骶", 2600), ("膝", 1900), ("踝足", 1400), ("膝踝足", 3600), ("髋", 4200)]
ORTHOSIS_TYPES = [("静态", "低温热塑板材，固定型", Decimal("1.0")),
                  ("动态", "高温板材，带可调铰链", Decimal("1.8"))]
WHEELCHAIRS = [("普通手动轮椅", "钢管车架，实心后轮", 680), ("轻便折叠轮椅", "铝合金车架，可折叠", 1280),
               ("高靠背可躺式轮椅", "靠背可调 90°–170°，带头枕", 1980),
               ("单手驱动轮椅", "单侧双手圈驱动", 2300), ("运动型轮椅", "钛合金车架，快拆后轮", 6800),
               ("普通电动轮椅", "锂电池，续航 20 km", 5600), ("可躺式电动轮椅", "电动靠背与腿托", 9800)]
WHEELCHAIR_SIZES = [("标准", "座宽 46 cm", Decimal("1.0")), ("加宽", "座宽 51 cm", Decimal("1.15"))]
HEARING_AIDS = [("盒式助听器", 800), ("耳背式助听器", 2200), ("耳内式助听器", 3600),
                ("耳道式助听器", 4300), ("深耳道式助听器", 5800)]
CHANNELS = [("4通道", Decimal("1.0")), ("8通道", Decimal("1.6")), ("16通道", Decimal("2.5"))]
SIMPLE = [
    # category, usage years, [(name, specification, price)]
    ("助行器", 5, [("固定框式助行器", "铝合金，高度可调", 260), ("折叠框式助行器", "铝合金，可折叠", 320),
                  ("两轮助行器", "前两轮，后支脚", 420), ("四轮助行器", "带座椅及手刹", 880),
                  ("腋下助行架", "腋托，四轮", 1150), ("阶梯助行器", "双层扶手，可上下台阶", 560)]),
    ("拐杖", 3, [("腋拐", "铝合金，高度可调，成人", 120), ("肘拐", "铝合金前臂托", 160),
                ("单脚手杖", "铝合金，可伸缩", 80), ("三脚手杖", "三脚底座", 140),
                ("四脚手杖", "四脚底座，稳定型", 180), ("折叠手杖", "四节折叠", 110)]),
    ("义眼", 3, [("普通义眼", "成品树脂义眼", 600), ("薄片义眼", "定制薄片，适用眼球萎缩", 1800),
                ("定制义眼", "个性化定制树脂义眼", 3200), ("义眼台", "羟基磷灰石义眼台", 4800)]),
    ("义齿", 6, [("可摘局部义齿", "钴铬合金支架，每颌", 1600), ("全口义齿", "树脂基托，单颌", 2400),
                ("烤瓷固定义齿", "钴铬烤瓷冠，每单位", 1200), ("全瓷固定义齿", "氧化锆全瓷冠，每单位", 2800),
                ("种植义齿", "种植体及上部结构，每颗", 9800), ("覆盖义齿", "附着体固位，单颌", 5600)]),
    ("护具", 1, [("护膝", "弹力护膝，带侧条", 160), ("护腰", "弹力护腰，带钢板", 220),
                ("护腕", "弹力护腕", 90), ("护肘", "弹力护肘", 100), ("护踝", "弹力护踝，可调", 120),
                ("颈托", "可调式颈托", 260)]),
    ("坐便椅", 5, [("普通坐便椅", "钢管，带便桶", 280), ("折叠坐便椅", "铝合金，可折叠", 380),
                  ("带轮坐便椅", "四轮带刹车", 560), ("洗浴坐便两用椅", "防水，带靠背", 680)]),
]


def _money(value):
    return Decimal(value).quantize(Decimal("0.01"))


def catalogue_rows():
    """(category, name, specification, price, usage years) — the same 111 rows every time."""
    rows = []
    for level, spec, base in UPPER_LEVELS:
        for kind, detail, factor in UPPER_TYPES:
            rows.append(("假肢（上肢）", f"{level}{kind}假肢", f"{spec}；{detail}",
                         _money(base * factor), 3))
    for level, spec, base in LOWER_LEVELS:
        for kind, detail, factor in LOWER_TYPES:
            rows.append(("假肢（下肢）", f"{level}假肢（{kind}）", f"{spec}；{detail}",
                         _money(base * factor), 4))
    for part, base in ORTHOSES:
        for kind, detail, factor in ORTHOSIS_TYPES:
            rows.append(("矫形器", f"{part}矫形器（{kind}）", detail, _money(base * factor), 2))
    for name, spec, base in WHEELCHAIRS:
        for size, width, factor in WHEELCHAIR_SIZES:
            rows.append(("轮椅", f"{name}（{size}）", f"{spec}；{width}", _money(base * factor),
                         6 if "电动" in name else 5))
    for name, base in HEARING_AIDS:
        for channels, factor in CHANNELS:
            rows.append(("助听器", f"{name}（{channels}）", f"数字助听器，{channels}，单耳",
                         _money(base * factor), 6))
    for category, years, items in SIMPLE:
        for name, spec, price in items:
            rows.append((category, name, spec, _money(price), years))
    return rows


def load_catalogue():
    items = []
    for n, (category, name, spec, price, years) in enumerate(catalogue_rows(), start=1):
        items.append(InjuryDeviceItem(code=f"FZ{n:04d}", name=name, category=category,
                                      specification=spec, price=price, usage_years=years))
    db.session.add_all(items)
    db.session.flush()
    return {item.name: item for item in items}


# ---- 工伤认定信息 --------------------------------------------------------------------------
OTHER_EMPLOYER = "太原汾河建材有限公司"          # no account: only the timeout moves its cases
YC_EMPLOYER = "运城盐湖化工有限公司"
# key, name, first 17 digits of the ID number, insurance region, employer (None = ty_employer),
# [(determination no., injury type, injury date)]
PEOPLE = [
    ("wang", "王建国", "14010519780312031", "140105", None,
     [("晋并工认〔2019〕0137号", "injury", dt.date(2019, 5, 14)),
      ("晋并工认〔2024〕0452号", "occupational_disease", dt.date(2024, 3, 2))]),
    ("li", "李秀兰", "14010619850722452", "140106", None,
     [("晋并工认〔2023〕0218号", "injury", dt.date(2023, 8, 21))]),
    ("zhang", "张志强", "14010519901103301", "140105", None,
     [("晋并工认〔2025〕0076号", "deemed_injury", dt.date(2025, 1, 9))]),
    ("zhao", "赵红梅", "14010619820315602", "140106", OTHER_EMPLOYER,
     [("晋并工认〔2024〕0390号", "injury", dt.date(2024, 11, 5))]),
    ("liu", "刘德胜", "14010519700925003", "140105", None,
     [("晋并工认〔2022〕0514号", "injury", dt.date(2022, 6, 30))]),
    ("chen", "陈晓东", "14010619920511801", "140106", None,
     [("晋并工认〔2025〕0301号", "injury", dt.date(2025, 7, 16))]),
    ("yang", "杨海涛", "14080219880606003", "140802", YC_EMPLOYER,
     [("晋运工认〔2024〕0088号", "injury", dt.date(2024, 4, 18))]),
    ("zhou", "周桂芳", "14080219750418122", "140802", YC_EMPLOYER,
     [("晋运工认〔2025〕0023号", "occupational_disease", dt.date(2025, 2, 26))]),
]


def id_number(first17):
    return first17 + _id_check_char(first17)


def load_determinations(orgs):
    """{(key, n): determination}; n counts a person's determinations from 0."""
    regions = {r.code: r for r in db.session.execute(db.select(Region).where(
        Region.code.in_({p[3] for p in PEOPLE}))).scalars()}
    out = {}
    for key, name, first17, code, employer, cases in PEOPLE:
        for n, (number, injury_type, day) in enumerate(cases):
            det = InjuryDetermination(
                id_number=id_number(first17), person_name=name,
                employer_name=employer or orgs["ty_employer"].name,
                employer_id=None if employer else orgs["ty_employer"].id,
                injury_type=injury_type, determination_no=number, injury_date=day,
                region_id=regions[code].id)
            det.copy_scope_from(regions[code])
            db.session.add(det)
            out[(key, n)] = det
    db.session.flush()
    return out


# ---- declarations ---------------------------------------------------------------------------
COLOURS = {"determination_doc": (196, 52, 52), "diagnosis_proof": (52, 120, 196),
           "medical_records": (90, 160, 90), "transfer_form": (200, 150, 40),
           "rehab_plan": (120, 80, 170), "prescription": (40, 150, 150),
           "extension_form": (170, 100, 60)}


def demo_image(name, colour):
    """A small PNG standing for a photographed document: a coloured header and lines."""
    image = Image.new("RGB", (200, 140), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 199, 28), fill=colour)
    for y in range(44, 130, 14):
        draw.line((14, y, 186 - (y % 3) * 20, y), fill=(150, 150, 150), width=2)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    buf.seek(0)
    return FileStorage(stream=buf, filename=f"{name}.png", content_type="image/png")


def attach_materials(declaration, user, skip=()):
    """Every material slot of the declaration's kind (optional ones too), but `skip`."""
    for slot in KINDS[declaration.kind].slots:
        if slot.name not in skip:
            files.attach(declaration, slot, demo_image(str(slot.label),
                                                       COLOURS.get(slot.name, (120, 120, 120))),
                         user)
    db.session.commit()


def lines(*rows):
    """rows: (catalogue item, quantity, YYYYMMDD) → the line items save() takes."""
    return [{"item": item.code, "quantity": str(quantity), "price": str(item.price),
             "configured_on": day, "usage_years": str(item.usage_years)}
            for item, quantity, day in rows]


def load_injury(orgs, users):
    items = load_catalogue()
    dets = load_determinations(orgs)
    db.session.commit()
    hosp, hosp2, yc = users["ty_hosp1"], users["ty_hosp2"], users["yc_hosp1"]
    employer, agency = users["ty_employer"], users["ty_agency"]
    today = dt.date.today()

    def day(offset):
        return (today + dt.timedelta(days=offset)).isoformat()

    def ymd(offset):
        return (today + dt.timedelta(days=offset)).strftime("%Y%m%d")

    def declare(user, kind, det, fields, rows=None, skip=(), materials=True):
        declaration = commands.save(user, kind, dict(fields, determination=str(dets[det].id)),
                                  rows)
        if materials:
            attach_materials(declaration, user, skip)
        return declaration

    def act(declaration, *steps):
        for step, actor, comment in steps:
            engine.apply(InjuryDeclarationFlow, declaration, step, actor, {"comment": comment})

    relapse = {"diagnosis": "右胫腓骨骨折术后内固定松动", "recurrence_date": day(-6),
               "treatment_plan": "取出原内固定，行切开复位髓内钉固定术，术后康复训练",
               "department": "骨科", "opinion": "与原工伤部位一致，建议住院手术治疗"}
    transfer = {"destination_hospital": "山西医科大学第二医院（演示）",
                "reason": "病情复杂，需上级医院手外科进一步治疗", "planned_date": day(3),
                "transport": "救护车"}
    rehab = {"rehab_items": "运动疗法、作业疗法、物理因子治疗", "start_date": day(7),
             "end_date": day(97), "rehab_institution": "山西省工伤康复中心（演示）",
             "opinion": "关节活动受限，建议系统康复三个月"}
    extension = {"original_end_date": day(10), "extended_to": day(70),
                 "reason": "骨折愈合延迟，需继续治疗", "opinion": "建议延长停工留薪期内就医两个月"}

    # ---- ty_hosp1 drafts (待提交): materials complete / missing; one deleted ----
    declare(hosp, "relapse", ("wang", 0), relapse)
    declare(hosp, "transfer", ("li", 0), transfer, skip={"medical_records"})
    declare(hosp, "extension", ("zhang", 0), dict(extension, reason="伤口感染，需继续换药治疗"),
            materials=False)
    act(declare(hosp, "rehab", ("chen", 0), rehab, materials=False),
        ("delete", hosp, "重复录入"))

    # ---- 超时自动通过 (→ agency_review): submitted two days ago, nobody reviewed it ----
    overdue = [declare(hosp, "rehab", ("liu", 0), rehab),
               declare(hosp, "extension", ("zhao", 0), extension)]
    for declaration in overdue:
        act(declaration, ("submit", hosp, None))
        declaration.submitted_at -= dt.timedelta(days=2)
        declaration.employer_due_at -= dt.timedelta(days=2)
    db.session.commit()
    commands.approve_overdue(now=clock.now())

    # ---- employer_review: waiting for ty_employer (a device declaration with 3 lines) ----
    act(declare(hosp, "device", ("wang", 1),
                {"opinion": "职业性噪声聋伴腕管综合征，建议配置助听器及腕手矫形器"},
                lines((items["腕手矫形器（动态）"], 2, ymd(-3)),
                      (items["耳背式助听器（8通道）"], 1, ymd(-3)),
                      (items["护腕"], 2, ymd(-2)))),
        ("submit", hosp, None))
    act(declare(hosp, "relapse", ("zhang", 0), dict(relapse, diagnosis="腰椎压缩性骨折术后疼痛复发",
                                                     department="脊柱外科")),
        ("submit", hosp, None))

    # ---- agency_review after the employer approved ----
    act(declare(hosp, "transfer", ("wang", 0), transfer),
        ("submit", hosp, None), ("employer_approve", employer, "情况属实，同意转院"))

    # ---- approved ----
    act(declare(hosp, "rehab", ("li", 0), rehab),
        ("submit", hosp, None), ("employer_approve", employer, "同意"),
        ("agency_approve", agency, "符合工伤康复条件，同意康复"))
    act(declare(hosp, "device", ("liu", 0), {"opinion": "左小腿截肢，原假肢已到使用年限"},
                lines((items["小腿假肢（功能型）"], 1, ymd(-20)),
                      (items["肘拐"], 2, ymd(-20)))),
        ("submit", hosp, None), ("employer_approve", employer, ""),
        ("agency_approve", agency, "配置项目及价格在目录范围内，同意配置"))

    # ---- rejected by the employer; rejected by the agency, then 重新申报 ----
    act(declare(hosp, "extension", ("liu", 0), extension),
        ("submit", hosp, None),
        ("employer_reject", employer, "该职工已于上月返岗工作，不需要延长就医，请核实"))
    refused = declare(hosp, "relapse", ("wang", 1), dict(relapse, recurrence_date=day(-40)))
    act(refused, ("submit", hosp, None), ("employer_approve", employer, "同意申报"),
        ("agency_reject", agency, "复发部位与工伤认定部位不一致，请补充原始病历及影像资料后重新申报"))
    commands.resubmit(hosp, refused)

    # ---- ty_hosp2: an approved transfer and a device draft; yc_hosp1: a draft ----
    act(declare(hosp2, "transfer", ("chen", 0),
                dict(transfer, transport="普通车辆", reason="需行断指再植术后功能重建")),
        ("submit", hosp2, None), ("employer_approve", employer, "同意"),
        ("agency_approve", agency, "同意转诊"))
    declare(hosp2, "device", ("chen", 0), {"opinion": "右手示指、中指缺失"},
            lines((items["部分手装饰性假肢"], 1, ymd(-1)), (items["护腕"], 1, ymd(-1))))
    declare(yc, "relapse", ("yang", 0), dict(relapse, department="手外科",
                                             diagnosis="左手掌骨骨折畸形愈合"),
            skip={"diagnosis_proof"})
    return db.session.execute(db.select(db.func.count()).select_from(InjuryDeclaration)).scalar()
