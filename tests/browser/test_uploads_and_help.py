"""Uploads, pictures and 帮助 in Chromium (issue 18 items 12 and 13): a large file shows a
progress bar while it goes and the page then answers as a normal upload would; an uploaded
image shows as a thumbnail in the materials list and as a picture on the detail page; the
navbar's 帮助 of a module's screen opens that module's help."""
import io
import os

from PIL import Image

# Every progress text the page shows, kept across the page's replacement by the answer.
RECORD_PROGRESS = """
new MutationObserver(function () {
  var bar = document.querySelector('.upload-progress .progress-bar');
  if (bar) {
    var seen = JSON.parse(sessionStorage.getItem('uploadProgress') || '[]');
    if (seen[seen.length - 1] !== bar.textContent) { seen.push(bar.textContent); }
    sessionStorage.setItem('uploadProgress', JSON.stringify(seen));
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def png(name, side, noisy=True):
    """A PNG chosen in the file input; of random pixels it is over 1 MB, so that the page
    sends it with a progress bar."""
    out = io.BytesIO()
    pixels = os.urandom(side * side * 3) if noisy else bytes(side * side * 3)
    Image.frombytes("RGB", (side, side), pixels).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def loaded_images(page, selector):
    return page.eval_on_selector_all(
        selector, "els => els.filter(e => e.complete && e.naturalWidth > 0).length")


def test_a_large_photo_uploads_with_progress_and_shows_as_a_thumbnail(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.goto("/injury/declare/materials/1")
    page.evaluate(RECORD_PROGRESS)
    before = page.locator("#materials img").count()
    form = page.locator("#materials form[enctype='multipart/form-data']").first
    photo = png("伤情照片.png", 900)
    assert len(photo["buffer"]) > 1024 * 1024
    form.locator("input[type=file]").set_input_files(photo)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".upload-progress")
    shot(page, "progress")
    page.wait_for_selector("text=已上传1张图片")
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('uploadProgress') || '[]')")
    assert any("已上传" in s or "上传完成" in s for s in seen), seen
    assert page.url.endswith("/injury/declare/materials/1")
    assert page.locator("#materials img").count() == before + 1
    page.wait_for_load_state("load")
    assert loaded_images(page, "#materials img") == before + 1    # thumbnails drawn
    shot(page, "thumbnails")


def test_a_small_file_is_sent_the_usual_way(browse, ctx):
    page = browse("ty_hosp1")
    page.goto("/injury/declare/materials/1")
    page.evaluate(RECORD_PROGRESS)
    form = page.locator("#materials form[enctype='multipart/form-data']").first
    form.locator("input[type=file]").set_input_files(png("小图.png", 40, noisy=False))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "已上传1张图片" in page.inner_text("body")
    assert page.evaluate("sessionStorage.getItem('uploadProgress')") is None


def test_the_detail_page_shows_the_pictures_opening_in_full(browse, shot, ctx):
    page = browse("ty_agency")
    page.goto("/injury/agency/review/5")
    pictures = page.locator("a.attachment-preview img")
    assert pictures.count() >= 2
    page.wait_for_load_state("load")
    assert loaded_images(page, "a.attachment-preview img") == pictures.count()
    shot(page, "review")
    with page.context.expect_page() as opened:
        pictures.first.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.evaluate("document.images.length") == 1 and "/preview" in full.url


def test_help_opens_from_a_modules_screen(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.goto("/relief/applications/list/")
    page.click("#navbar-help")
    page.wait_for_url("**/help/relief")
    text = page.inner_text("body")
    assert "疾病应急救助 帮助" in text and "操作步骤" in text and "常见问题" in text
    assert "只能上传压缩格式的文件" in text
    shot(page, "help")
    page.goto("/")
    page.click("#navbar-help")
    page.click(".dropdown-menu >> text=体外诊断试剂报量")
    page.wait_for_url("**/help/ivd")
    page.wait_for_load_state("load")
    assert "体外诊断试剂报量 帮助" in page.inner_text("body")
