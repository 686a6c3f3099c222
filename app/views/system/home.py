"""我的待办 (SPEC P13): counts of what awaits the user in every module, plus announcements."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from sqlalchemy import func

from app.extensions import db
from app.i18n import _
from app.models.core import Announcement
from app.models.jobs import ExportJob
from app.services import files
from app.module import modules


def module_todos(user):
    """Every module's to-do rows, each labelled with its module."""
    return [{"module": module.label, **row} for module in modules() if module.todos
            for row in module.todos(user)]


def module_panels(user):
    """Panels a module puts above 我的待办 (e.g. the 工伤 service hall of a hospital)."""
    return [panel for module in modules() for make in module.home_panels
            if (panel := make(user)) is not None]


def export_todos(user):
    ready = db.session.execute(db.select(func.count()).select_from(ExportJob).where(
        ExportJob.user_id == user.id, ExportJob.state == "done",
        ExportJob.file_name.is_not(None))).scalar()
    if not ready:
        return []
    return [{"module": _("系统"), "label": _("导出已完成"), "count": ready,
             "url": url_for("ExportJobView.list")}]


def latest_announcements(limit):
    """通知公告 with their downloads, newest first (home page and the 工伤 hall)."""
    return db.session.execute(
        db.select(Announcement).where(Announcement.active.is_(True))
        .order_by(Announcement.published_on.desc(), Announcement.id.desc()).limit(limit)
    ).scalars().all()


class HomeView(IndexView):
    index_template = "home/index.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        announcements = latest_announcements(10)
        attachments = files.files_of_many(announcements)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    panels=module_panels(g.user),
                                    todos=module_todos(g.user) + export_todos(g.user),
                                    announcements=announcements, attachments=attachments)
