import io
import os

import pytest
from PIL import Image

from app.services.attachments import (
    KINDS,
    AttachmentError,
    delete_stored,
    open_stored,
    safe_original_name,
    sniff,
    store,
)

ZIP = b"PK\x03\x04" + b"\x00" * 100
EMPTY_ZIP = b"PK\x05\x06" + b"\x00" * 18
RAR = b"Rar!\x1a\x07\x01\x00" + b"\x00" * 50
SEVEN_Z = b"7z\xbc\xaf\x27\x1c" + b"\x00" * 50
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 50


def image_bytes(fmt="PNG", size=(40, 30), mode="RGB", **save_args):
    buf = io.BytesIO()
    Image.new(mode, size, "red").save(buf, fmt, **save_args)
    return buf.getvalue()


def files_in(directory):
    return sorted(
        os.path.relpath(os.path.join(root, f), directory)
        for root, _dirs, names in os.walk(directory)
        for f in names
    )


def do_store(tmp_path, data, name, kinds=("archive",), max_bytes=10 * 1024 * 1024):
    return store(io.BytesIO(data), name, kinds, max_bytes, str(tmp_path))


def test_kinds():
    assert KINDS == {
        "archive": ("zip", "rar", "7z"),
        "pdf": ("pdf",),
        "image": ("jpg", "jpeg", "png"),
    }


@pytest.mark.parametrize(
    "head, expected",
    [
        (ZIP, "zip"),
        (EMPTY_ZIP, "zip"),
        (RAR, "rar"),
        (SEVEN_Z, "7z"),
        (PDF, "pdf"),
        (image_bytes("JPEG"), "jpg"),
        (image_bytes("PNG"), "png"),
        (b"GIF89a" + b"\x00" * 20, None),
        (b"MZ\x90\x00", None),
        (b"", None),
    ],
)
def test_sniff(head, expected):
    assert sniff(head[:16]) == expected


@pytest.mark.parametrize(
    "data, name, kinds, ext, kind, content_type",
    [
        (ZIP, "材料.zip", ["archive"], "zip", "archive", "application/zip"),
        (EMPTY_ZIP, "empty.ZIP", ["archive"], "zip", "archive", "application/zip"),
        (RAR, "材料.rar", ["archive"], "rar", "archive", "application/vnd.rar"),
        (SEVEN_Z, "材料.7z", ["archive"], "7z", "archive", "application/x-7z-compressed"),
        (PDF, "报告.pdf", ["pdf"], "pdf", "pdf", "application/pdf"),
        (image_bytes("JPEG"), "照片.jpeg", ["image"], "jpg", "image", "image/jpeg"),
        (image_bytes("PNG"), "截图.png", ["image", "pdf"], "png", "image", "image/png"),
    ],
)
def test_store_each_type(tmp_path, data, name, kinds, ext, kind, content_type):
    f = do_store(tmp_path, data, name, kinds)
    assert (f.ext, f.kind, f.content_type, f.original_name) == (ext, kind, content_type, name)
    assert f.stored_name.endswith("." + ext) and len(f.stored_name) == 32 + 1 + len(ext)
    path = open_stored(str(tmp_path), f.stored_name)
    assert path == os.path.join(str(tmp_path), f.stored_name[:2], f.stored_name)
    assert os.path.getsize(path) == f.size
    if kind != "image":
        assert open(path, "rb").read() == data  # non-images are stored byte for byte
        assert f.thumb_name is None
    # Only the stored file (and thumbnail): no temp file left behind.
    expected = {os.path.join(f.stored_name[:2], f.stored_name)}
    if f.thumb_name:
        expected.add(os.path.join(f.stored_name[:2], f.thumb_name))
    assert set(files_in(tmp_path)) == expected


def test_sha256_is_of_stored_file(tmp_path):
    import hashlib

    f = do_store(tmp_path, ZIP, "a.zip")
    assert f.sha256 == hashlib.sha256(ZIP).hexdigest()


def test_zip_that_is_really_png_refused(tmp_path):
    with pytest.raises(AttachmentError) as err:
        do_store(tmp_path, image_bytes("PNG"), "材料.zip", ["archive"])
    assert "文件内容与扩展名不符" in str(err.value)
    assert "PNG 图片" in str(err.value) and "不是压缩文件" in str(err.value)
    assert files_in(tmp_path) == []


def test_mismatch_refused_even_if_both_kinds_allowed(tmp_path):
    with pytest.raises(AttachmentError, match="文件内容与扩展名不符"):
        do_store(tmp_path, image_bytes("PNG"), "材料.zip", ["archive", "image"])
    with pytest.raises(AttachmentError, match="文件内容与扩展名不符"):
        do_store(tmp_path, PDF, "照片.jpg", ["pdf", "image"])


def test_png_when_only_archives_allowed_refused(tmp_path):
    with pytest.raises(AttachmentError) as err:
        do_store(tmp_path, image_bytes("PNG"), "截图.png", ["archive"])
    assert "只能上传压缩文件（zip、rar、7z）" in str(err.value)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("name", ["报告.docx", "setup.exe", "noext", ""])
def test_unknown_extension_refused(tmp_path, name):
    with pytest.raises(AttachmentError, match="只能上传"):
        do_store(tmp_path, ZIP, name)  # .docx is a zip inside, but not allowed


def test_unrecognised_content_refused(tmp_path):
    with pytest.raises(AttachmentError, match="无法识别文件内容"):
        do_store(tmp_path, b"just some text", "a.zip")
    assert files_in(tmp_path) == []


def test_empty_file_refused(tmp_path):
    with pytest.raises(AttachmentError, match="文件为空"):
        do_store(tmp_path, b"", "a.zip")
    assert files_in(tmp_path) == []


def test_oversize_refused_and_nothing_left(tmp_path):
    data = b"PK\x03\x04" + os.urandom(3 * 1024 * 1024)
    with pytest.raises(AttachmentError) as err:
        do_store(tmp_path, data, "big.zip", max_bytes=2 * 1024 * 1024)
    assert "文件超过大小限制（最大 2 MB）" in str(err.value)
    assert files_in(tmp_path) == []


def test_oversize_stops_reading(tmp_path):
    class Endless:
        reads = 0

        def read(self, n):
            self.reads += 1
            return b"PK\x03\x04" + b"\x00" * (n - 4)

    stream = Endless()
    with pytest.raises(AttachmentError, match="文件超过大小限制"):
        store(stream, "a.zip", ["archive"], 1024 * 1024, str(tmp_path))
    assert stream.reads < 100
    assert files_in(tmp_path) == []


def test_exact_max_size_accepted(tmp_path):
    data = ZIP + b"\x00" * (1000 - len(ZIP))
    assert do_store(tmp_path, data, "a.zip", max_bytes=1000).size == 1000


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.zip", "passwd.zip"),
        ("..\\..\\windows\\evil.zip", "evil.zip"),
        ("C:\\Users\\张三\\材料.zip", "材料.zip"),
        ("/abs/path/a.zip", "a.zip"),
        ("..", "附件"),
        ("../", "附件"),
        ("", "附件"),
        (None, "附件"),
        (".hidden.zip", "hidden.zip"),
        ("a\x00b\r\n\t.zip", "ab.zip"),
        ("report\u202egpj.zip", "reportgpj.zip"),  # right-to-left override removed
    ],
)
def test_safe_original_name(name, expected):
    assert safe_original_name(name) == expected


def test_safe_original_name_length_keeps_extension():
    name = safe_original_name("很" * 300 + ".zip")
    assert len(name) == 200 and name.endswith(".zip")


@pytest.mark.parametrize(
    "name", ["../../escape.zip", "..\\..\\escape.zip", "../x/../../escape.zip"]
)
def test_traversal_names_stay_inside(tmp_path, name):
    storage = tmp_path / "storage"
    f = store(io.BytesIO(ZIP), name, ["archive"], 1024 * 1024, str(storage))
    assert f.original_name == "escape.zip"
    # Nothing was written outside storage_dir, and the client name is not used on disk.
    assert sorted(os.listdir(tmp_path)) == ["storage"]
    stored = files_in(storage)
    assert stored == [os.path.join(f.stored_name[:2], f.stored_name)]
    assert "escape" not in stored[0]


def test_image_exif_stripped(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "GPS-leaking software"  # Software
    data = image_bytes("JPEG", size=(64, 48), exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif()  # the fixture really has EXIF
    f = do_store(tmp_path, data, "照片.jpg", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert im.format == "JPEG"
        assert not im.getexif()
        assert "exif" not in im.info
        assert im.size == (64, 48)
    assert b"SecretCam" not in open(open_stored(str(tmp_path), f.stored_name), "rb").read()


def test_colour_profile_kept(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    data = image_bytes("JPEG", icc_profile=icc, exif=exif.tobytes())
    f = do_store(tmp_path, data, "照片.jpg", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert im.info.get("icc_profile") == icc
        assert not im.getexif()


def test_exif_orientation_applied_before_stripping(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = image_bytes("JPEG", size=(60, 40), exif=exif.tobytes())
    f = do_store(tmp_path, data, "竖拍.jpg", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert im.size == (40, 60)


def test_large_image_downscaled_and_thumbnail(tmp_path):
    f = do_store(tmp_path, image_bytes("JPEG", size=(4000, 3000)), "大图.jpg", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert im.size == (2000, 1500)
    assert f.thumb_name == f.stored_name[:32] + "_thumb.jpg"
    with Image.open(open_stored(str(tmp_path), f.thumb_name)) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 200 and thumb.size == (200, 150)


def test_png_with_alpha_kept_as_png(tmp_path):
    f = do_store(tmp_path, image_bytes("PNG", mode="RGBA", size=(300, 100)), "透明.png", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (300, 100))
    with Image.open(open_stored(str(tmp_path), f.thumb_name)) as thumb:
        assert thumb.mode == "RGB" and thumb.size == (200, 67)


def test_palette_png_reencoded(tmp_path):
    f = do_store(tmp_path, image_bytes("PNG", mode="P"), "调色板.png", ["image"])
    with Image.open(open_stored(str(tmp_path), f.stored_name)) as im:
        assert im.format == "PNG" and im.mode == "RGB"


@pytest.mark.parametrize(
    "data, name",
    [
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "坏.jpg"),
        (image_bytes("PNG")[:60], "截断.png"),
        (image_bytes("JPEG", size=(200, 200))[:300], "截断.jpg"),
    ],
)
def test_corrupt_image_refused(tmp_path, data, name):
    with pytest.raises(AttachmentError, match="图片文件已损坏"):
        do_store(tmp_path, data, name, ["image"])
    assert files_in(tmp_path) == []


def test_open_stored_refuses_bad_names(tmp_path):
    f = do_store(tmp_path, ZIP, "a.zip")
    (tmp_path / "x").write_text("secret")
    for bad in [
        "../x",
        "..\\x",
        "/etc/passwd",
        "x",
        f.stored_name[:2] + "/" + f.stored_name,
        f.stored_name + "/../../x",
        f.stored_name.upper(),
        f.stored_name[:-4] + ".exe",
        f.stored_name + "\n",
        None,
    ]:
        with pytest.raises(AttachmentError):
            open_stored(str(tmp_path), bad)
    with pytest.raises(FileNotFoundError):
        open_stored(str(tmp_path), "0" * 32 + ".zip")


def test_delete_stored_removes_file_and_thumbnail(tmp_path):
    f = do_store(tmp_path, image_bytes("PNG"), "a.png", ["image"])
    assert len(files_in(tmp_path)) == 2
    delete_stored(str(tmp_path), f.stored_name)
    assert files_in(tmp_path) == []
    delete_stored(str(tmp_path), f.stored_name)  # already gone: no error
    with pytest.raises(AttachmentError):
        delete_stored(str(tmp_path), "../x")
