from datetime import date

import pytest

from app.services.validators import (
    ValidationError,
    age_from_id_number,
    check_coordinates,
    check_id_number,
    check_licence_number,
    check_mobile,
    check_phone,
    check_uscc,
    id_number_birth_date,
    id_number_sex,
    licence_structure_warning,
    normalize_id_number,
)


def _message(func, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as exc:
        func(*args, **kwargs)
    assert isinstance(exc.value, ValueError)
    return exc.value.message


# --- 身份证号: examples from validators.md (a) ---------------------------------------------

@pytest.mark.parametrize("value", [
    "11010519491231002X",
    "310115199003071239",
    "532502200002290040",
    "810000198506120032",
])
def test_id_number_valid(value):
    assert check_id_number(value) == value


@pytest.mark.parametrize("value, fragment", [
    ("110105194912310021", "身份证号校验位错误，应为 X"),
    ("110105194902300020", "身份证号出生日期无效"),
    ("11010519491231002", "身份证号应为18位"),
])
def test_id_number_invalid(value, fragment):
    assert fragment in _message(check_id_number, value)


def test_id_number_lowercase_x_and_spaces():
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert check_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_id_number_other_errors():
    assert "不能为空" in _message(check_id_number, "")
    assert "18位" in _message(check_id_number, "110105491231002")
    assert "数字" in _message(check_id_number, "1101051949123100AX")
    # Before 1900 and in the future, with otherwise correct check characters.
    assert "出生日期无效" in _message(check_id_number, "110105189912310015")
    assert "出生日期无效" in _message(
        check_id_number, "310115199003071239", today=date(1990, 3, 6)
    )
    assert "省级行政区划" in _message(check_id_number, "000105194912310024")


def test_foreign_permanent_resident_number():
    # 2023 edition: first digit 9, same check character, no parsable birth date.
    assert check_id_number("990105194912310023") == "990105194912310023"
    assert "校验位" in _message(check_id_number, "990105194912310024")
    with pytest.raises(ValidationError):
        id_number_birth_date("990105194912310023")


def test_id_number_standard_example_born_1880():
    # Valid per GB 11643 (440524 潮阳县, retired 1993, is accepted), but born before our 1900 bound.
    assert check_id_number("440524188001010014", min_birth=None) == "440524188001010014"
    assert "早于1900年" in _message(check_id_number, "440524188001010014")


def test_id_number_derived_fields():
    assert id_number_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert id_number_birth_date("532502200002290040") == date(2000, 2, 29)
    assert id_number_sex("11010519491231002X") == "2"
    assert id_number_sex("310115199003071239") == "1"
    assert age_from_id_number("310115199003071239", today=date(2020, 3, 6)) == 29
    assert age_from_id_number("310115199003071239", today=date(2020, 3, 7)) == 30
    # Leap-day birthday: the next full year is reached on 1 March in a common year.
    assert age_from_id_number("532502200002290040", today=date(2001, 2, 28)) == 0
    assert age_from_id_number("532502200002290040", today=date(2001, 3, 1)) == 1
    with pytest.raises(ValidationError):
        id_number_sex("110105194912310021")


# --- 统一社会信用代码: examples from validators.md (b) -----------------------------------------

@pytest.mark.parametrize("value", [
    "91350100M000100Y43",
    "124401044553530138",
    "52110105MA7B2C3D98",
    "91330106MA1K4L5P24",
])
def test_uscc_valid(value):
    assert check_uscc(value) == value
    assert check_uscc(value.lower()) == value


@pytest.mark.parametrize("value, fragment", [
    ("91350100M000100Y44", "统一社会信用代码校验位错误，应为 3"),
    ("91350100M0001O0Y43", "无效字符：O"),
    ("B1350100M000100Y41", "前两位“B1”"),
    ("91350100M000100Y4", "应为18位"),
])
def test_uscc_invalid(value, fragment):
    assert fragment in _message(check_uscc, value)


def test_uscc_prefix_check_can_be_relaxed():
    assert check_uscc("B1350100M000100Y41", strict_prefix=False) == "B1350100M000100Y41"
    # Relaxing the prefix does not relax the check character.
    assert "校验位" in _message(check_uscc, "B1350100M000100Y42", strict_prefix=False)


# --- 登记号: examples from validators.md (c) --------------------------------------------------

@pytest.mark.parametrize("value", [
    "45535301344010411A1001",
    "45535301-344010411A1001",
    "MA7B2C3D911010517D2112",
])
def test_licence_structure_valid(value):
    assert check_licence_number(value) == value
    assert licence_structure_warning(value) is None


@pytest.mark.parametrize("value, fragment", [
    ("45535301444010411A1001", "校验位应为 3"),
    ("45535301344010411Z1001", "结构"),
    ("4553530134401041A1001", "结构"),
])
def test_licence_structure_invalid_is_only_a_warning(value, fragment):
    assert check_licence_number(value) == value  # free form: still accepted
    assert fragment in licence_structure_warning(value)


def test_licence_number_charset():
    assert check_licence_number(" pdy-12345 ") == "PDY-12345"
    assert "不能包含：_" in _message(check_licence_number, "PDY_1")
    assert "空格" in _message(check_licence_number, "PDY 1")
    assert "不能为空" in _message(check_licence_number, "  ")


def test_licence_warning_never_raises():
    assert licence_structure_warning(None) is None
    assert licence_structure_warning("") is None
    assert licence_structure_warning("粤卫12345") is not None


# --- 手机 / 固定电话 ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("13812345678", "13812345678"),
    (" 138 1234 5678 ", "13812345678"),
    ("+86 13812345678", "13812345678"),
    ("19912345678", "19912345678"),
])
def test_mobile_valid(value, expected):
    assert check_mobile(value) == expected
    assert check_phone(value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("1381234567", "11位"),
    ("138123456789", "11位"),
    ("12812345678", "13至19"),
    ("1381234567a", "数字"),
    ("", "不能为空"),
])
def test_mobile_invalid(value, fragment):
    assert fragment in _message(check_mobile, value)


@pytest.mark.parametrize("value, expected", [
    ("0351-1234567", "0351-1234567"),
    ("010-12345678", "010-12345678"),
    ("035112345678", "0351-12345678"),
    ("01012345678", "010-12345678"),
    ("0351-1234567-123", "0351-1234567-123"),
    ("0351-1234567转123", "0351-1234567-123"),
    ("(0351)1234567", "0351-1234567"),
    ("０３５１－１２３４５６７", "0351-1234567"),  # full-width input
    ("020 8765 4321", "020-87654321"),
])
def test_phone_landline_valid(value, expected):
    assert check_phone(value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("1234567", "固定电话需包含区号"),
    ("12345678", "固定电话需包含区号"),
    ("1381234567", "11位"),
    ("0351-123456", "联系电话格式无效"),
    ("0351-123456789", "联系电话格式无效"),
    ("351-1234567", "联系电话格式无效"),
    ("电话", "联系电话格式无效"),
    ("  ", "不能为空"),
])
def test_phone_invalid(value, fragment):
    assert fragment in _message(check_phone, value)


# --- 经纬度 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lng, lat", [
    (112.55, 37.87),        # 太原
    ("116.397", "39.909"),  # strings from a form
    (73.5, 3.8),            # bounds are inclusive
    (135.1, 53.6),
])
def test_coordinates_valid(lng, lat):
    assert check_coordinates(lng, lat) == (float(lng), float(lat))


@pytest.mark.parametrize("lng, lat, fragment", [
    (-0.12, 51.5, "经纬度不在中国境内"),   # London
    (140.0, 35.0, "经纬度不在中国境内"),
    (116.4, 60.0, "经纬度不在中国境内"),
    (39.9, 116.4, "填反"),
    ("abc", 30, "经纬度应为数字"),
    (None, 30, "经纬度应为数字"),
    (float("nan"), 30, "经纬度应为数字"),
])
def test_coordinates_invalid(lng, lat, fragment):
    assert fragment in _message(check_coordinates, lng, lat)
