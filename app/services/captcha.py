"""Image captcha drawn locally with Pillow.

Nothing is kept in process memory (several workers may serve one login): the web layer stores
only ``hash_answer(code, SECRET_KEY)`` and an expiry time in the signed session cookie, and the
code itself appears only in the PNG.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import random

from PIL import Image, ImageDraw, ImageFont

# Leaves out characters that are easy to confuse: 0/O, 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
WIDTH, HEIGHT = 120, 40

_rng = random.SystemRandom()  # the code must not be predictable from earlier captchas
_font = None


def _get_font():
    global _font
    if _font is None:
        try:
            _font = ImageFont.load_default(size=28)  # scalable font, Pillow >= 10.1 with FreeType
        except (TypeError, OSError, ImportError):
            _font = ImageFont.load_default()
    return _font


def generate_code(length: int = 4) -> str:
    return "".join(_rng.choice(ALPHABET) for _ in range(length))


def _colour(lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(_rng.randint(lo, hi) for _ in range(3))


def render_png(code: str) -> bytes:
    img = Image.new("RGB", (WIDTH, HEIGHT), _colour(235, 255))
    draw = ImageDraw.Draw(img)
    font = _get_font()

    for _ in range(60):
        draw.point((_rng.randrange(WIDTH), _rng.randrange(HEIGHT)), fill=_colour(120, 220))

    # Each character is drawn on its own tile and rotated, so the glyphs do not share a baseline.
    step = (WIDTH - 10) / max(len(code), 1)
    for i, ch in enumerate(code):
        tile = Image.new("RGBA", (HEIGHT, HEIGHT), (0, 0, 0, 0))
        tdraw = ImageDraw.Draw(tile)
        left, top, right, bottom = tdraw.textbbox((0, 0), ch, font=font)
        tdraw.text(
            ((HEIGHT - (right - left)) / 2 - left, (HEIGHT - (bottom - top)) / 2 - top),
            ch, font=font, fill=_colour(0, 110),
        )
        tile = tile.rotate(_rng.uniform(-25, 25), resample=Image.BICUBIC)
        x = int(5 + i * step + (step - HEIGHT) / 2 + _rng.randint(-2, 2))
        img.paste(tile, (x, _rng.randint(-3, 3)), tile)

    # Lines drawn over the text make simple segmentation harder.
    for _ in range(4):
        draw.line(
            [(_rng.randrange(WIDTH), _rng.randrange(HEIGHT)) for _ in range(2)],
            fill=_colour(60, 180), width=1,
        )

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _key(secret_key) -> bytes:
    return secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()


def hash_answer(code: str, secret_key) -> str:
    """HMAC-SHA256 of the upper-cased code; the 'captcha:' prefix keeps it apart from other HMACs."""
    msg = b"captcha:" + code.strip().upper().encode()
    return hmac.new(_key(secret_key), msg, hashlib.sha256).hexdigest()


def check_answer(given, stored_hash, secret_key) -> bool:
    if not given or not stored_hash or not str(given).strip():
        return False
    return hmac.compare_digest(
        hash_answer(str(given), secret_key).encode(), str(stored_hash).encode()
    )
