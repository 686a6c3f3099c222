"""Format checks for Chinese identifiers, phones and coordinates.

Pure functions: no Flask, no database, so forms, importers and the API can share them.
Every ``check_*`` returns the normalised value or raises ``ValidationError`` with a message in
Simplified Chinese that can be shown to the user as is. Empty input is an error; callers decide
whether a field is optional before calling. Algorithms and examples:
../shared/data/validators.md.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date


class ValidationError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _clean(s) -> str:
    # NFKC turns full-width digits, letters and hyphens (common with Chinese IMEs) into ASCII.
    return unicodedata.normalize("NFKC", "" if s is None else str(s)).strip()


# ---------------------------------------------------------------------------------------------
# 公民身份号码 (GB 11643-1999)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # indexed by (sum mod 11)
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
# Province-level prefixes ever used in GB/T 2260, plus 83 (台湾居民居住证) and 9 (外国人永久居留
# 身份证, 2023 edition). Only the prefix is checked: retired county codes stay valid on old numbers.
_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split()
)
MIN_BIRTH = date(1900, 1, 1)


def normalize_id_number(s) -> str:
    return _clean(s).upper()


def _id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def _is_foreign_pr(n: str) -> bool:
    # The 2023 外国人永久居留身份证 has another layout (country code, no plain birth date).
    return n.startswith("9")


def check_id_number(s, today: date | None = None, min_birth: date | None = MIN_BIRTH) -> str:
    """min_birth=None lifts the 1900 bound (our choice for living people, not the standard's)."""
    n = normalize_id_number(s)
    if not n:
        raise ValidationError("身份证号不能为空")
    if len(n) != 18:
        hint = "，15位为第一代身份证号，请填写18位号码" if len(n) == 15 else ""
        raise ValidationError(f"身份证号应为18位（当前{len(n)}位）{hint}")
    if not _ID_RE.match(n):
        raise ValidationError("身份证号前17位应为数字，最后一位为数字或X")
    if not _is_foreign_pr(n):
        if n[:2] not in _ID_PROVINCES:
            raise ValidationError(f"身份证号前两位“{n[:2]}”不是有效的省级行政区划代码")
        try:
            born = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
        except ValueError:
            raise ValidationError("身份证号出生日期无效") from None
        if min_birth and born < min_birth:
            raise ValidationError(f"身份证号出生日期无效：早于{min_birth.year}年")
        if born > (today or date.today()):
            raise ValidationError("身份证号出生日期无效：晚于今天")
    expected = _id_check_char(n[:17])
    if n[17] != expected:
        raise ValidationError(f"身份证号校验位错误，应为 {expected}")
    return n


def _citizen_id(s) -> str:
    n = check_id_number(s)
    if _is_foreign_pr(n):
        raise ValidationError("外国人永久居留身份证号码不能推算出生日期和性别")
    return n


def id_number_birth_date(s) -> date:
    n = _citizen_id(s)
    return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))


def id_number_sex(s) -> str:
    """GB/T 2261.1 code: '1' 男 (odd order digit), '2' 女 (even)."""
    return "1" if int(_citizen_id(s)[16]) % 2 else "2"


def age_from_id_number(s, today: date | None = None) -> int:
    born = id_number_birth_date(s)
    today = today or date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# ---------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015 and 第1号修改单)

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O S V Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 登记管理部门 -> allowed 机构类别, as amended; strict_prefix=False accepts categories added later.
USCC_PREFIXES = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129",
    "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}


def _uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_CHARS[-total % 31]


def check_uscc(s, strict_prefix: bool = True) -> str:
    n = _clean(s).upper()
    if not n:
        raise ValidationError("统一社会信用代码不能为空")
    if len(n) != 18:
        raise ValidationError(f"统一社会信用代码应为18位（当前{len(n)}位）")
    bad = sorted({c for c in n if c not in _USCC_CHARS})
    if bad:
        raise ValidationError(
            f"统一社会信用代码含有无效字符：{'、'.join(bad)}（只用数字和除 I、O、S、V、Z 以外的大写字母）"
        )
    if not n[2:8].isdigit():
        raise ValidationError("统一社会信用代码第3至8位应为数字（登记管理机关行政区划码）")
    expected = _uscc_check_char(n[:17])
    if n[17] != expected:
        raise ValidationError(f"统一社会信用代码校验位错误，应为 {expected}")
    if strict_prefix and n[1] not in USCC_PREFIXES.get(n[0], ""):
        raise ValidationError(f"统一社会信用代码前两位“{n[:2]}”不是有效的登记管理部门和机构类别代码")
    return n


# ---------------------------------------------------------------------------------------------
# 医疗机构执业许可证登记号 / 卫生机构（组织）代码
# No national format for the 登记号 exists, so only the character set is enforced; the 22/23-char
# 卫生机构（组织）代码 structure is reported as a warning.

_LICENCE_RE = re.compile(r"^[0-9A-Z-]+$")
_HEALTH_ORG_RE = re.compile(r"^([0-9A-Z]{8})-?([0-9X])[0-9]{6}[0-9]{2}[A-HJ-Q][0-9]{3}[129]$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character 组织机构代码 body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS))
    return "0123456789X0"[11 - total % 11]


def check_licence_number(s) -> str:
    n = _clean(s).upper()
    if not n:
        raise ValidationError("登记号不能为空")
    if not _LICENCE_RE.match(n):
        bad = sorted({"空格" if c.isspace() else c for c in n if not re.match(r"[0-9A-Z-]", c)})
        raise ValidationError(f"登记号只能包含数字、大写字母和连字符“-”，不能包含：{'、'.join(bad)}")
    return n


def licence_structure_warning(s) -> str | None:
    """Warning text when the value is not a well-formed 卫生机构（组织）代码, else None."""
    try:
        n = _clean(s).upper()
        if not n:
            return None
        m = _HEALTH_ORG_RE.match(n)
        if not m:
            return "登记号不符合22位（或含连字符23位）卫生机构（组织）代码的结构，请核对"
        expected = _org_code_check_char(m.group(1))
        if m.group(2) != expected:
            return f"登记号中组织机构代码的校验位应为 {expected}，请核对"
        return None
    except Exception:  # a warning helper must never break a form
        return "登记号无法校验，请核对"


# ---------------------------------------------------------------------------------------------
# 电话

_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Area codes: 010 and 02x are 3 digits, all others 4 digits starting 03–09; this makes the split
# between area code and local number unambiguous when no hyphen is typed.
_LANDLINE_RE = re.compile(
    r"^\(?(0(?:10|2[0-9]|[3-9][0-9]{2}))\)?-?([0-9]{7,8})(?:(?:-|转|#)([0-9]{1,6}))?$"
)


def _strip_phone(s) -> str:
    n = re.sub(r"\s+", "", _clean(s))
    return re.sub(r"^(?:\+86|0086)-?", "", n)


def check_mobile(s) -> str:
    n = _strip_phone(s).replace("-", "")
    if not n:
        raise ValidationError("手机号码不能为空")
    if not n.isdigit() or not n.isascii():
        raise ValidationError("手机号码只能包含数字")
    if len(n) != 11:
        raise ValidationError(f"手机号码应为11位（当前{len(n)}位）")
    if not _MOBILE_RE.match(n):
        raise ValidationError("手机号码应以13至19开头")
    return n


def check_phone(s) -> str:
    """A mobile (returned as 11 digits) or a landline with area code ('0351-1234567[-123]')."""
    n = _strip_phone(s)
    if not n:
        raise ValidationError("联系电话不能为空")
    m = _LANDLINE_RE.match(n)
    if m:
        return "-".join(p for p in m.groups() if p)
    digits = re.sub(r"[-()]", "", n)
    if digits.isascii() and digits.isdigit():
        if digits[0] == "1" and len(digits) > 8:
            return check_mobile(digits)
        if digits[0] != "0" and 7 <= len(digits) <= 8:
            raise ValidationError("固定电话需包含区号，如 0351-1234567")
    raise ValidationError(
        "联系电话格式无效：请填写11位手机号码，或带区号的固定电话（如 0351-1234567，分机写在最后，如 -123）"
    )


# ---------------------------------------------------------------------------------------------
# 经纬度

LNG_RANGE = (73.5, 135.1)
LAT_RANGE = (3.8, 53.6)


def _inside(lng: float, lat: float) -> bool:
    return LNG_RANGE[0] <= lng <= LNG_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]


def check_coordinates(lng, lat) -> tuple[float, float]:
    """Rough bounding box of China (WGS-84/GCJ-02 alike); returns (lng, lat) as floats."""
    try:
        x, y = float(_clean(lng)), float(_clean(lat))
    except ValueError:
        raise ValidationError("经纬度应为数字") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValidationError("经纬度应为数字")
    if not _inside(x, y):
        hint = "，经度和纬度是否填反了？" if _inside(y, x) else ""
        raise ValidationError(f"经纬度不在中国境内（经度73.5至135.1，纬度3.8至53.6）{hint}")
    return x, y
