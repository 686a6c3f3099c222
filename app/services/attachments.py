"""Storage of uploaded files.

The client controls the file name, the declared content type and the bytes, so
none of them is trusted: the kind is decided from the content (magic bytes) and
must agree with the extension, the size is enforced while reading, and the file
lands on disk under a generated name.  The original name is kept only for
display and as the download name.

No Flask here: used from views, the API and Celery workers alike.
"""
import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.errors import FieldError

KINDS = {
    "archive": ("zip", "rar", "7z"),
    "pdf": ("pdf",),
    "image": ("jpg", "jpeg", "png"),
}
KIND_LABELS = {"archive": "压缩文件", "pdf": "PDF", "image": "图片"}

# Sniffed type -> kind, label used in messages, content type served on download.
_TYPES = {
    "zip": ("archive", "ZIP 压缩文件", "application/zip"),
    "rar": ("archive", "RAR 压缩文件", "application/vnd.rar"),
    "7z": ("archive", "7z 压缩文件", "application/x-7z-compressed"),
    "pdf": ("pdf", "PDF 文件", "application/pdf"),
    "jpg": ("image", "JPEG 图片", "image/jpeg"),
    "png": ("image", "PNG 图片", "image/png"),
}
_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip has only the end-of-central-directory record
    (b"Rar!\x1a\x07", "rar"),  # RAR 4 (…\x00) and RAR 5 (…\x01\x00) share this prefix
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
_HEAD_BYTES = 16
_CHUNK = 64 * 1024

MAX_IMAGE_SIDE = 2000
THUMB_SIDE = 200
JPEG_QUALITY = 85
# Checked from the header before decoding, so a small "decompression bomb"
# cannot make us allocate gigabytes; 50 MP is far above any real scan or photo.
MAX_IMAGE_PIXELS = 50_000_000

# Exactly what store() generates; anything else is refused by open_stored().
_STORED_RE = re.compile(r"[0-9a-f]{32}(?:\.(?:zip|rar|7z|pdf|jpg|png)|_thumb\.jpg)")


class AttachmentError(FieldError):
    """Upload refused; the message is meant for the user (Chinese). Invalid input of the
    `file` field (422, app/errors.py) and, for older callers, a ValueError."""
    field = "file"


@dataclass(frozen=True)
class StoredFile:
    stored_name: str  # e.g. "ab12….zip"; lives at <storage_dir>/ab/ab12….zip
    original_name: str  # sanitised client name, for display / download only
    ext: str  # sniffed extension
    kind: str  # key of KINDS
    size: int  # of the stored file (images are re-encoded)
    sha256: str  # of the stored file
    content_type: str
    thumb_name: str | None = None


def sniff(head: bytes) -> str | None:
    """File type from the first bytes, or None if it is none of ours."""
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return ext
    return None


def safe_original_name(name) -> str:
    """The client's file name reduced to something safe to show and offer as a
    download name.  Never used as a path."""
    name = unicodedata.normalize("NFC", str(name or ""))
    # Browsers (old IE, some mobile clients) send full paths, with either separator.
    name = re.split(r"[/\\]", name)[-1]
    # Control and format characters (incl. U+202E right-to-left override, which
    # is used to disguise "exe.pdf" style names).
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 10 else ""
        name = stem[: 200 - len(ext)].rstrip() + ext  # keep the extension for the download
    return name or "附件"


def _allowed_text(kinds):
    labels = "、".join(KIND_LABELS[k] for k in kinds)
    exts = "、".join(e for k in kinds for e in KINDS[k])
    return f"只能上传{labels}（{exts}）"


def _size_text(max_bytes):
    if max_bytes >= 1024 * 1024:
        return f"{max_bytes / (1024 * 1024):.4g} MB"
    return f"{max(1, max_bytes // 1024)} KB"


def _path(storage_dir, stored_name):
    return os.path.join(storage_dir, stored_name[:2], stored_name)


def _remove(*paths):
    for path in paths:
        if path:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


def _sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def store(stream, original_name, allowed_kinds, max_bytes: int, storage_dir: str) -> StoredFile:
    """Check and store one upload; raises AttachmentError with a user message.

    `stream` is anything with read(n) (werkzeug FileStorage, an open file)."""
    kinds = [k for k in KINDS if k in set(allowed_kinds)]  # KINDS order, for stable messages
    if not kinds:
        raise ValueError(f"no known kind in {allowed_kinds!r}")
    original = safe_original_name(original_name)
    name_ext = os.path.splitext(original)[1].lower().lstrip(".")
    name_ext = "jpg" if name_ext == "jpeg" else name_ext
    name_kind = _TYPES.get(name_ext, (None,))[0]
    if name_kind not in kinds:
        raise AttachmentError(f"{_allowed_text(kinds)}，“{original}”的格式不符合要求")

    os.makedirs(storage_dir, exist_ok=True)
    # Same directory as the destination, so the final move is a rename.
    fd, tmp = tempfile.mkstemp(dir=storage_dir, prefix=".upload-", suffix=".part")
    final = thumb = None
    try:
        head, size = b"", 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:  # stop reading: never buffer an oversize upload
                    raise AttachmentError(f"文件超过大小限制（最大 {_size_text(max_bytes)}）")
                if len(head) < _HEAD_BYTES:
                    head += chunk[:_HEAD_BYTES]
                out.write(chunk)
        if size == 0:
            raise AttachmentError("文件为空，请重新选择文件")

        ext = sniff(head)
        if ext is None:
            raise AttachmentError(f"无法识别文件内容，{_allowed_text(kinds)}")
        kind, label, content_type = _TYPES[ext]
        if kind != name_kind:
            raise AttachmentError(
                f"文件内容与扩展名不符：内容为 {label}，不是{KIND_LABELS[name_kind]}。"
                f"{_allowed_text(kinds)}"
            )

        hex_id = uuid.uuid4().hex
        stored_name = f"{hex_id}.{ext}"
        final = _path(storage_dir, stored_name)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        thumb_name = None
        if kind == "image":
            thumb_name = f"{hex_id}_thumb.jpg"
            thumb = _path(storage_dir, thumb_name)
            _reencode_image(tmp, ext, final, thumb)
            _remove(tmp)
        else:
            os.replace(tmp, final)
        return StoredFile(
            stored_name=stored_name,
            original_name=original,
            ext=ext,
            kind=kind,
            size=os.path.getsize(final),
            sha256=_sha256_of(final),
            content_type=content_type,
            thumb_name=thumb_name,
        )
    except BaseException:
        _remove(tmp, final, thumb)
        raise


def _reencode_image(src, ext, dest, thumb_dest):
    """Decode and write a fresh image: drops EXIF (GPS position, camera serial)
    and any bytes hidden after the image data, and bounds the pixel size."""
    # Only the decoder for the sniffed type may run; Pillow would otherwise try
    # every format it knows.  ("JPEG" also opens multi-picture JPEGs from phones.)
    formats = ["PNG"] if ext == "png" else ["JPEG"]
    try:
        with Image.open(src, formats=formats) as im:
            im.verify()  # catches broken PNG chunks / CRCs; the object is unusable afterwards
        with Image.open(src, formats=formats) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise AttachmentError("图片像素尺寸过大，请缩小后再上传")
            source_mode, icc = im.mode, im.info.get("icc_profile")
            # Phone photos are stored sideways with an EXIF rotation flag; apply
            # it now because the flag is about to be removed.
            im = ImageOps.exif_transpose(im)
            if ext == "png" and (im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info):
                im = im.convert("RGBA")
            else:
                im = im.convert("L" if im.mode in ("1", "L") else "RGB")
            im.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)  # only shrinks
            # A new image built from the pixels alone carries no metadata (exif, xmp,
            # comments, text chunks).
            clean = Image.frombytes(im.mode, im.size, im.tobytes())
    except AttachmentError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AttachmentError("图片文件已损坏或无法识别，请重新上传") from exc

    # The colour profile is no privacy risk and without it wide-gamut phone photos
    # look washed out; it only still fits if the pixel mode was not converted.
    icc = icc if im.mode == source_mode else None
    if ext == "png":
        clean.save(dest, "PNG", icc_profile=icc)
    else:
        clean.save(dest, "JPEG", quality=JPEG_QUALITY, icc_profile=icc)

    small = clean.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    if small.mode in ("RGBA", "LA"):
        # JPEG has no alpha: put transparent areas on white, not black.
        background = Image.new("RGB", small.size, "white")
        background.paste(small, mask=small.getchannel("A"))
        small = background
    small.convert("RGB").save(thumb_dest, "JPEG", quality=JPEG_QUALITY)


def _checked_path(storage_dir, stored_name):
    if not isinstance(stored_name, str) or not _STORED_RE.fullmatch(stored_name):
        raise AttachmentError("无效的附件名称")
    return _path(storage_dir, stored_name)


def open_stored(storage_dir: str, stored_name: str) -> str:
    """Path of a stored file (or thumbnail).  Only generated names are accepted,
    so a name taken from a URL or the database cannot point outside storage_dir."""
    path = _checked_path(storage_dir, stored_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"附件不存在：{stored_name}")
    return path


def delete_stored(storage_dir: str, stored_name: str) -> None:
    """Remove a stored file and its thumbnail; already missing is not an error."""
    path = _checked_path(storage_dir, stored_name)
    thumb = None
    if not stored_name.endswith("_thumb.jpg"):
        thumb = _path(storage_dir, stored_name[:32] + "_thumb.jpg")
    _remove(path, thumb)
