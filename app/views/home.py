"""我的待办 (SPEC P13): counts of what awaits the user in every module, plus announcements."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from sqlalchemy import func

from app.extensions import db
from app.i18n import _
from app.models.core import Announcement
from app.models.jobs import ExportJob
from app.services import files
from app.models.relief import ReliefApplication
from app.scope import region_scope
from app.workflows.engine import user_has_role
from app.workflows.relief import AGENCY, INSTITUTION


def relief_todos(user):
    rows = []
    if user_has_role(user, {INSTITUTION}):
        counts = dict(db.session.execute(
            db.select(ReliefApplication.state, func.count())
            .where(region_scope(ReliefApplication, user),
                   ReliefApplication.state.in_(("draft", "returned")))
            .group_by(ReliefApplication.state)).all())
        rows += [(_("待提交"), counts.get("draft", 0), "ReliefApplicationView.list", "draft"),
                 (_("退回给我"), counts.get("returned", 0), "ReliefApplicationView.list",
                  "returned")]
    if user_has_role(user, {AGENCY}) and user.organization_id:
        counts = dict(db.session.execute(
            db.select(ReliefApplication.state, func.count())
            .where(ReliefApplication.reviewer_org_id == user.organization_id,
                   ReliefApplication.state.in_(("submitted", "approved")))
            .group_by(ReliefApplication.state)).all())
        rows += [(_("待审核"), counts.get("submitted", 0), "ReliefReviewView.list", "submitted"),
                 (_("待拨款"), counts.get("approved", 0), "ReliefReviewView.list", "approved")]
    return [{"module": _("疾病应急救助"), "label": label, "count": count,
             "url": url_for(endpoint) + f"?_flt_0_state={state}"}
            for label, count, endpoint, state in rows]


def export_todos(user):
    ready = db.session.execute(db.select(func.count()).select_from(ExportJob).where(
        ExportJob.user_id == user.id, ExportJob.state == "done",
        ExportJob.file_name.is_not(None))).scalar()
    if not ready:
        return []
    return [{"module": _("系统"), "label": _("导出已完成"), "count": ready,
             "url": url_for("ExportJobView.list")}]


class HomeView(IndexView):
    index_template = "home/index.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        announcements = db.session.execute(
            db.select(Announcement).where(Announcement.active.is_(True))
            .order_by(Announcement.published_on.desc()).limit(10)).scalars().all()
        attachments = files.files_of_many(announcements)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    todos=relief_todos(g.user) + export_todos(g.user),
                                    announcements=announcements, attachments=attachments)
