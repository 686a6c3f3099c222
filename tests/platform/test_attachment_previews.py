"""Images in the page (issue 18 item 13): the thumbnails generated at upload are shown in the
materials list and the picture inline on detail and review pages, under the same check as
the download (the owning record's permission and scope)."""
import re

from app.extensions import db
from app.models.files import Attachment


def injury_image(name="诊断证明书.png"):
    """A demo 工伤 material of 太原市第一人民医院 awaiting the agency (declaration 5)."""
    return db.session.execute(db.select(Attachment).where(
        Attachment.owner_type == "injury_declaration", Attachment.kind == "image",
        Attachment.original_name == name).order_by(Attachment.id)).scalars().first()


def test_an_image_has_a_thumbnail_and_a_preview_for_whoever_may_open_its_record(login_as, ctx):
    image = injury_image()
    for login in ("ty_hosp1", "ty_agency"):
        client = login_as(login)
        thumb = client.get(f"/attachments/{image.id}/thumbnail")
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        assert thumb.data[:3] == b"\xff\xd8\xff"
        full = client.get(f"/attachments/{image.id}/preview")
        assert full.status_code == 200 and full.mimetype == "image/png"
        assert "attachment" not in full.headers.get("Content-Disposition", "")
        assert full.data[:4] == b"\x89PNG"


def test_outside_the_records_scope_there_is_no_thumbnail_or_preview(login_as, ctx):
    image = injury_image()
    other = login_as("yc_hosp1")
    for path in ("thumbnail", "preview"):
        assert other.get(f"/attachments/{image.id}/{path}").status_code == 404


def test_a_file_that_is_no_image_is_never_shown_inline(login_as, ctx):
    archive = db.session.execute(db.select(Attachment).where(
        Attachment.owner_type == "relief_application", Attachment.kind == "archive")
        .order_by(Attachment.id)).scalars().first()
    client = login_as("ty_hosp1")
    assert client.get(f"/attachments/{archive.id}").status_code == 200     # still downloads
    for path in ("thumbnail", "preview"):
        assert client.get(f"/attachments/{archive.id}/{path}").status_code == 404


def test_the_materials_list_shows_thumbnails_and_the_detail_page_the_picture(login_as, ctx):
    image = injury_image()
    client = login_as("ty_hosp1")
    materials = client.get(f"/injury/declare/materials/{image.owner_id}").get_data(as_text=True)
    assert f'src="/attachments/{image.id}/thumbnail"' in materials
    detail = client.get(f"/injury/declarations/show/{image.owner_id}").get_data(as_text=True)
    assert re.search(rf'href="/attachments/{image.id}/preview"[^>]*>\s*<img src="/attachments/'
                     rf'{image.id}/thumbnail"', detail)
    review = login_as("ty_agency").get(f"/injury/agency/review/{image.owner_id}")
    assert f'src="/attachments/{image.id}/thumbnail"' in review.get_data(as_text=True)
