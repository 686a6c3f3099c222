import io

from PIL import Image

from app.services.captcha import (
    ALPHABET,
    check_answer,
    generate_code,
    hash_answer,
    render_png,
)

SECRET = "test-secret"


def test_generate_code_uses_unambiguous_alphabet():
    for _ in range(200):
        code = generate_code()
        assert len(code) == 4
        assert set(code) <= set(ALPHABET)
    assert not set("0O1IL") & set(ALPHABET)
    assert len(generate_code(6)) == 6


def test_render_png_is_a_png_of_the_right_size():
    data = render_png("AB3K")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == (120, 40)
    # Something was drawn: the image is not one flat colour.
    assert len(img.convert("L").getcolors(maxcolors=10000) or range(10000)) > 10


def test_different_codes_give_different_images():
    assert render_png("AB3K") != render_png("XY7P")


def test_check_answer_is_case_insensitive():
    stored = hash_answer("AB3K", SECRET)
    assert check_answer("ab3k", stored, SECRET)
    assert check_answer(" AB3K ", stored, SECRET)


def test_check_answer_rejects_wrong_or_empty():
    stored = hash_answer("AB3K", SECRET)
    assert not check_answer("AB3X", stored, SECRET)
    assert not check_answer("", stored, SECRET)
    assert not check_answer(None, stored, SECRET)
    assert not check_answer("   ", stored, SECRET)
    assert not check_answer("AB3K", "", SECRET)
    assert not check_answer("AB3K", None, SECRET)
    assert not check_answer("AB3K", stored, "another-secret")


def test_hash_depends_on_key_and_hides_code():
    stored = hash_answer("AB3K", SECRET)
    assert "AB3K" not in stored and "ab3k" not in stored
    assert stored != hash_answer("AB3K", b"other")
    assert hash_answer("AB3K", SECRET.encode()) == stored  # str and bytes keys agree
