"""Append-only audit trail (SPEC P9). The application never updates or deletes a row."""
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, Index, Integer, String, Text, event

from app.models.core import ScopedMixin, utcnow

AUDIT_ACTIONS = {
    "login": "登录成功", "login_failed": "登录失败", "login_locked": "账号锁定",
    "logout": "退出", "password_change": "修改密码", "password_reset": "重置密码",
    "user_create": "创建账号", "user_disable": "停用", "user_enable": "启用",
    "parameter_change": "系统参数修改", "transition": "状态变更", "create": "新增",
    "update": "修改", "delete": "删除", "export": "导出", "import": "导入",
    "upload": "上传附件", "account_generate": "生成账户", "user_roles": "授权",
}


def action_label(action):
    """The platform's labels, then those a module declares (Module.audit_actions)."""
    if action in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[action]
    from app.module import modules
    return next((m.audit_actions[action] for m in modules() if action in m.audit_actions),
                action)


class AuditLog(ScopedMixin, Model):
    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, default=utcnow, nullable=False, index=True)
    user_id = Column(Integer, index=True)
    username = Column(String(128))
    organization_id = Column(Integer, index=True)
    organization_name = Column(String(128))
    action = Column(String(32), nullable=False, index=True)
    object_type = Column(String(40))
    object_id = Column(Integer)
    transition = Column(String(40))
    from_state = Column(String(20))
    to_state = Column(String(20))
    comment = Column(Text)
    ip = Column(String(45))

    @property
    def action_label(self):
        return action_label(self.action)


Index("ix_audit_object", AuditLog.object_type, AuditLog.object_id)


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_change(mapper, connection, target):
    raise RuntimeError("audit rows are append-only")
