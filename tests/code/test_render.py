"""Tweet images: size, X-like wrapping, a glyph (never a tofu box) for every character, themes,
counts, the generated label, fonts loaded once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from tweetgen.ui import render
from tweetgen.ui.render import (
    AVATAR_PATH,
    TweetCard,
    clear_caches,
    find_fonts,
    font_stack,
    format_count,
    format_timestamp,
    make_avatar,
    render_tweet,
    wrap_text,
)

WHEN = datetime(2015, 12, 22, 15, 4, tzinfo=UTC)
TWEET_280 = (
    "Reusable rockets are the key to making life multiplanetary, because throwing away a rocket "
    "after every flight is like throwing away a plane after every trip. Starship is designed to "
    "be fully reusable, which should cut the cost of access to orbit by two orders of "
    "magnitude soon!!!"
)
MIXED = "Café naïve déjà — “quoted” – résumé… São Paulo 😀 🚀 ❤️ 👍🏽 中文 e\u0301 ok"
MISSING = "\U0010fffd"  # a private-use code point in no font: DejaVu would draw its tofu box


def card(text: str = "Hello world", **changes) -> TweetCard:
    return TweetCard(text=text, display_name="Elon Musk", handle="elonmusk", created_at=WHEN, **changes)


@pytest.fixture
def font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(find_fonts().regular[0], 34)


@pytest.fixture
def fresh_caches():
    clear_caches()
    yield
    clear_caches()


def test_tweet_280_is_280_characters():
    assert len(TWEET_280) == 280


# --- size -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "scale"), [(550, 2), (550, 1), (400, 3)])
def test_image_width_is_width_times_scale(width, scale):
    image = render_tweet(card(), width=width, scale=scale)
    assert image.width == width * scale
    assert image.mode == "RGB"


def test_height_grows_with_text_and_scale():
    one_line = render_tweet(card("Short."))
    long = render_tweet(card(TWEET_280))
    assert long.height > one_line.height
    n_lines = len(wrap_text(TWEET_280, font_stack(render.TEXT_SIZE * 2), (550 - 2 * render.PAD) * 2))
    assert long.height - one_line.height == (n_lines - 1) * render.TEXT_LINE * 2
    assert render_tweet(card("Short."), scale=1).height * 2 == one_line.height


# --- wrapping -------------------------------------------------------------------------------


def test_wrap_280_character_tweet(font):
    max_width = 700
    lines = wrap_text(TWEET_280, font, max_width)
    assert len(lines) >= 4
    assert all(font.getlength(line) <= max_width for line in lines)
    assert " ".join(lines) == TWEET_280
    # greedy, like a browser: the first word of each next line would not have fitted
    for line, following in zip(lines, lines[1:], strict=False):
        assert font.getlength(f"{line} {following.split(' ')[0]}") > max_width


def test_wrap_with_font_stack_fits_measured_width():
    stack = font_stack(34)
    text = TWEET_280.replace("rocket ", "rocket 🚀 ").replace("orbit", "orbit 中文")
    lines = wrap_text(text, stack, 900)
    assert all(stack.measure(line) <= 900 for line in lines)
    assert " ".join(lines) == text


def test_word_longer_than_a_line_is_broken_inside(font):
    word = "x" * 20 + "y" * 20 + "z" * 20
    assert len(word) == 60
    max_width = font.getlength("x" * 25)
    lines = wrap_text(word, font, max_width)
    assert len(lines) == 3
    assert "".join(lines) == word
    assert all(font.getlength(line) <= max_width for line in lines)
    # as with CSS overflow-wrap: break-word, the long word first moves to a line of its own
    lines = wrap_text(f"see {word}", font, max_width)
    assert lines[0] == "see"
    assert "".join(lines[1:]) == word


def test_url_longer_than_a_line_is_broken(font):
    url = "https://example.com/" + "a/b-c_d?e=f&" * 10
    lines = wrap_text(url, font, 400)
    assert "".join(lines) == url
    assert all(font.getlength(line) <= 400 for line in lines)


def test_newlines_are_kept(font):
    assert wrap_text("one\ntwo\n\nthree", font, 1000) == ["one", "two", "", "three"]
    assert wrap_text("  indented\nx", font, 1000) == ["  indented", "x"]


def test_cjk_breaks_between_characters(font):
    text = "中" * 40
    lines = wrap_text(text, font, font.getlength("中" * 10))
    assert "".join(lines) == text
    assert [len(line) for line in lines] == [10, 10, 10, 10]


# --- glyphs: every character drawn by a font that has it, never a tofu box -------------------


def _in_some_font(stack, ch: str) -> bool:
    return any(ord(ch) in cmap for cmap in stack.cmaps) or ord(ch) in stack.emoji_cmap


@pytest.mark.parametrize("bold", [False, True])
def test_every_character_is_drawn_by_a_font_that_has_it(bold):
    stack = font_stack(34, bold)
    runs = stack.runs(MIXED)
    assert "".join(run.source for run in runs) == MIXED  # nothing dropped or reordered
    for run in runs:
        if run.kind == "text":
            cmap = stack.cmaps[stack.files.index(run.font)]
            missing = [c for c in run.text if ord(c) not in cmap]
            assert missing == [], f"{run.text!r} drawn with {run.font} lacking {missing}"
        elif run.kind == "placeholder":  # only what no font has becomes a placeholder
            assert not _in_some_font(stack, run.source[0]), run.source
        else:
            assert stack.emoji_font is not None and ord(run.source[0]) in stack.emoji_cmap
    drawn = "".join(run.source for run in runs if run.kind != "placeholder")
    for ch in "éïàã—–“”…":
        assert ch in drawn


def test_no_font_fallback_to_tofu_for_unknown_characters():
    stack = font_stack(34)
    (run,) = stack.runs(MISSING)
    assert run.kind == "placeholder"
    assert [r.kind for r in stack.runs("🚀")] == (["emoji"] if stack.emoji_font else ["placeholder"])


def _ink(image: Image.Image) -> Image.Image:
    """The drawn pixels, cropped to their bounding box (white background)."""
    inverted = ImageChops.invert(image.convert("L"))
    box = inverted.getbbox()
    assert box is not None, "nothing was drawn"
    return inverted.crop(box)


def _draw_with_stack(text: str) -> Image.Image:
    stack = font_stack(34)
    image = Image.new("RGB", (400, 80), "white")
    stack.draw(image, ImageDraw.Draw(image), 10, 55, text, (0, 0, 0), (120, 120, 120))
    return image


def _tofu() -> Image.Image:
    """What plain Pillow draws for a character DejaVu lacks: the .notdef box."""
    image = Image.new("RGB", (400, 80), "white")
    ImageDraw.Draw(image).text((10, 55), MISSING, font=font_stack(34).fonts[0], fill=(0, 0, 0), anchor="ls")
    return image


@pytest.mark.parametrize("ch", list("éñ—–…€") + ["😀", "🚀", "👍🏽", "中", "❤️", MISSING])
def test_rendered_character_is_not_a_tofu_box(ch):
    tofu = _ink(_tofu())
    assert tofu.width > 5 and tofu.height > 15  # the reference really is a box
    drawn = _ink(_draw_with_stack(ch))  # raises if nothing was drawn
    assert drawn.size != tofu.size or ImageChops.difference(drawn, tofu).getbbox() is not None


def test_invisible_characters_draw_nothing_and_take_no_room():
    stack = font_stack(34)
    assert stack.measure("a\u200bb\u200dc\ufe0f") == stack.measure("abc")
    image = _draw_with_stack("\u200b\u2060\ufeff")
    assert ImageChops.invert(image.convert("L")).getbbox() is None


def test_colour_emoji_font_is_used_when_present(monkeypatch, fresh_caches):
    """No colour font on the CI machine: stand DejaVu in for it to exercise the picture path."""
    files = find_fonts()
    monkeypatch.setattr(render, "find_fonts", lambda: dataclasses.replace(files, emoji=files.regular))
    stack = font_stack(34)
    assert [r.kind for r in stack.runs("a😀b")] == ["text", "emoji", "text"]
    assert [r.kind for r in stack.runs("🚀")] == ["placeholder"]  # not in the stand-in either
    picture = render._emoji_picture(stack, "😀")
    assert max(picture.size) == stack.emoji_px
    _ink(_draw_with_stack("😀"))  # the picture was pasted


@pytest.mark.skipif(find_fonts().emoji is None, reason="Noto Color Emoji not installed")
def test_noto_colour_emoji_is_drawn_in_colour():
    picture = render._emoji_picture(font_stack(34), "😀")
    red, green, blue, alpha = picture.getpixel((picture.width // 2, picture.height // 2))
    assert alpha > 0 and (red, green, blue) != (0, 0, 0)


# --- themes, counts, dates, label -----------------------------------------------------------


def test_themes_differ_in_background_and_text_colour():
    light, dark = render_tweet(card(), theme="light"), render_tweet(card(), theme="dark")
    inside = (light.width - 40, light.height // 2)
    assert light.getpixel(inside) == (255, 255, 255)
    assert dark.getpixel(inside) == (0, 0, 0)
    assert render.THEMES["light"].text == (0x0F, 0x14, 0x19)
    assert render.THEMES["dark"].secondary == (0x71, 0x76, 0x7B)


def test_unknown_theme_is_refused():
    with pytest.raises(ValueError, match="theme"):
        render_tweet(card(), theme="dim")


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1K"),
        (1200, "1.2K"),
        (1999, "1.9K"),
        (12_345, "12.3K"),
        (999_999, "999.9K"),
        (1_000_000, "1M"),
        (3_400_000, "3.4M"),
        (1_250_000_000, "1.2B"),
    ],
)
def test_format_count(n, shown):
    assert format_count(n) == shown


def test_timestamp_is_x_style_in_utc():
    assert format_timestamp(WHEN) == "3:04 PM · Dec 22, 2015"
    assert format_timestamp(datetime(2021, 1, 1, 0, 5, tzinfo=UTC)) == "12:05 AM · Jan 1, 2021"
    berlin = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2015, 12, 22, 16, 4, tzinfo=berlin)) == "3:04 PM · Dec 22, 2015"


def test_naive_time_and_negative_counts_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        TweetCard(text="x", display_name="A", handle="a", created_at=datetime(2015, 12, 22))
    with pytest.raises(ValueError, match="likes"):
        card(likes=-1)


def test_generated_tweet_carries_a_visible_label():
    plain = render_tweet(card())
    labelled = render_tweet(card(generated=True, label="Generated by tweetgen v3"))
    assert labelled.height - plain.height == (render.LABEL_H + render.GAP) * 2
    top = (render.PAD + render.AVATAR + render.GAP) * 2
    pill = labelled.crop((render.PAD * 2, top, labelled.width // 2, top + render.LABEL_H * 2))
    pill_fill = render.THEMES["light"].pill
    assert pill_fill in {colour for _, colour in pill.getcolors(1 << 16)}
    assert ImageChops.invert(pill.convert("L")).getbbox() is not None
    assert "".join(render._label_text(card(generated=True, label="Generated by tweetgen v3"))) == (
        "Generated by tweetgen v3 · parody"
    )
    assert "".join(render._label_text(card(generated=True))) == "Generated by a language model · parody"
    assert "".join(render._label_text(card(generated=True, label="Parody bot"))) == "Parody bot"


def test_long_display_name_is_cut_with_an_ellipsis():
    stack = font_stack(30, bold=True)
    fitted = render._fit(stack, "A very long display name " * 5, 300)
    assert fitted.endswith("…") and stack.measure(fitted) <= 300
    render_tweet(card(), width=280)  # narrowest card still lays out


# --- avatar and caching ---------------------------------------------------------------------


def test_avatar_is_deterministic_and_matches_the_committed_asset():
    first, second = make_avatar(), make_avatar()
    assert first.tobytes() == second.tobytes()
    committed = Image.open(AVATAR_PATH).convert("RGBA")
    assert committed.size == first.size
    diff = ImageChops.difference(committed, first).convert("L")
    assert sum(diff.getdata()) / (diff.width * diff.height) < 1.0  # same picture (font versions aside)
    assert first.getpixel((0, 0))[3] == 0 and first.getpixel((200, 200))[3] == 255  # a disc


def test_avatar_is_drawn_when_the_asset_is_missing(monkeypatch, tmp_path, fresh_caches):
    monkeypatch.setattr(render, "AVATAR_PATH", tmp_path / "missing.png")
    image = render_tweet(card())
    inside_disc = ((render.PAD + 6) * 2, (render.PAD + render.AVATAR // 2) * 2)  # left of the initials
    assert image.getpixel(inside_disc) != (255, 255, 255)


def test_fonts_are_loaded_once_per_size(monkeypatch, fresh_caches):
    loads = []
    real = ImageFont.truetype
    monkeypatch.setattr(ImageFont, "truetype", lambda *a, **k: loads.append(a) or real(*a, **k))
    render_tweet(card(MIXED, generated=True))
    first = len(loads)
    assert first > 0
    render_tweet(card(MIXED + " again"), theme="dark")
    render_tweet(card(TWEET_280, generated=True))
    assert len(loads) == first
