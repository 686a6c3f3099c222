"""System parameters (SPEC P5): declared here, stored in the database, read through one
accessor that caches for the length of a request, so a change is live on the next
request in every process without a restart."""
from flask import g, has_app_context

from app.extensions import db
from app.models.core import SystemParameter

# key: (label, type, default, description)
PARAMETERS = {
    "initial_password": ("初始密码", "str", "Init@2026", "新建账号和重置密码时使用，首次登录必须修改"),
    "captcha_enabled": ("登录验证码", "bool", "1", "1 启用，0 关闭"),
    "lockout_threshold": ("登录失败锁定次数", "int", "5", "连续登录失败达到该次数后锁定账号"),
    "lockout_minutes": ("锁定时长（分钟）", "int", "15", "账号锁定的分钟数"),
    "session_timeout_minutes": ("会话超时（分钟）", "int", "30", "无操作超过该时间自动退出"),
    "password_min_length": ("密码最小长度", "int", "8", "密码复杂度：最少字符数"),
    "password_min_classes": ("密码字符种类", "int", "3", "大写、小写、数字、符号中至少包含的种类数"),
    "upload_max_mb": ("附件大小上限（MB）", "int", "20", "单个附件的最大大小"),
    "performance_period": ("绩效统计时间", "str", "2026-01-01~2026-12-31", "格式：开始日期~结束日期"),
    "employer_auto_approve_hours": ("单位审核超时（小时）", "int", "24", "用人单位超时未审核则自动通过"),
    "default_page_size": ("默认每页条数", "int", "20", "列表默认每页显示的条数（最大100）"),
    "export_background_rows": ("后台导出阈值（行）", "int", "50000", "超过该行数的导出转为后台任务"),
}


def parse(value_type, raw):
    if value_type == "int":
        return int(raw)
    if value_type == "bool":
        return str(raw).strip().lower() in ("1", "true", "yes", "是", "on")
    return raw


def validate(key, raw):
    """Chinese message when `raw` is not a valid value for `key`, else None."""
    value_type = PARAMETERS[key][1] if key in PARAMETERS else "str"
    raw = (raw or "").strip()
    if not raw:
        return "参数值不能为空"
    if value_type == "int":
        if not raw.isdigit() or int(raw) <= 0:
            return "参数值必须是正整数"
    if value_type == "bool" and raw.lower() not in ("0", "1", "true", "false"):
        return "参数值只能是 1 或 0"
    if key == "performance_period":
        from app.services.periods import parse_period
        try:
            parse_period(raw)
        except ValueError as exc:
            return str(exc)
    return None


def _load():
    rows = db.session.execute(db.select(SystemParameter.key, SystemParameter.value,
                                        SystemParameter.value_type)).all()
    values = {k: parse(t, default) for k, (_, t, default, _d) in PARAMETERS.items()}
    values.update({k: parse(t, v) for k, v, t in rows})
    return values


def param(key):
    if has_app_context():
        cache = g.get("_parameters")
        if cache is None:
            cache = g._parameters = _load()
        return cache[key]
    return _load()[key]


def ensure_parameters():
    """Create missing parameter rows with their defaults; existing values are kept."""
    existing = set(db.session.execute(db.select(SystemParameter.key)).scalars())
    for key, (label, value_type, default, description) in PARAMETERS.items():
        if key not in existing:
            db.session.add(SystemParameter(key=key, label=label, value=default,
                                           value_type=value_type, description=description))
    db.session.commit()
    g.pop("_parameters", None) if has_app_context() else None
