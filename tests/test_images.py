# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm.images: orientation, colour modes, draft decoding, limits and error messages."""

from __future__ import annotations

import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photolm import images
from photolm.bundle import Preprocess
from photolm.errors import ImageError
from tests import imagefactory as factory

# Identity normalisation: model input == pixels / 255, so colours can be read back.
PLAIN = Preprocess(size=32, resize=32, crop="none", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def rgb_at(img: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in img.getpixel((x, y)))  # type: ignore[union-attr]


def assert_close(actual: tuple[int, ...], expected: tuple[int, ...], tol: int = 6) -> None:
    assert all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True)), (
        actual, expected)


def corners(img: Image.Image) -> dict[str, tuple[int, ...]]:
    w, h = img.size
    return {"tl": rgb_at(img, 2, 2), "tr": rgb_at(img, w - 3, 2),
            "bl": rgb_at(img, 2, h - 3), "br": rgb_at(img, w - 3, h - 3)}


# Where the raw top-left (red) and top-right (green) markers must end up, per EXIF 2.3
# (written out independently of Pillow's transpose table).
ORIENTED = {
    1: ("tl", "tr", False), 2: ("tr", "tl", False), 3: ("br", "bl", False),
    4: ("bl", "br", False), 5: ("tl", "bl", True), 6: ("tr", "br", True),
    7: ("br", "tr", True), 8: ("bl", "tl", True),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTED))
def test_exif_orientation_puts_markers_where_a_viewer_shows_them(
    tmp_path: Path, orientation: int
) -> None:
    red_at, green_at, swapped = ORIENTED[orientation]
    path = factory.oriented_jpeg(tmp_path / "o.jpg", orientation, size=(96, 64))
    img = images.open_rgb(path)
    assert img.size == ((64, 96) if swapped else (96, 64))
    seen = corners(img)
    assert_close(seen[red_at], factory.RED)
    assert_close(seen[green_at], factory.GREEN)
    for corner in set(seen) - {red_at, green_at}:
        assert_close(seen[corner], factory.BLUE)

    # The same holds in the model input (CHW, resized straight to 32 x 32).
    tensor = images.load_for_model(path, PLAIN)
    assert tensor.shape == (3, 32, 32) and tensor.dtype == np.float32
    as_image = Image.fromarray(np.rint(tensor.transpose(1, 2, 0) * 255).astype(np.uint8))
    assert_close(corners(as_image)[red_at], factory.RED, tol=12)
    assert_close(corners(as_image)[green_at], factory.GREEN, tol=12)


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_nonsense_orientation_value_is_ignored(tmp_path: Path, value: int) -> None:
    img = images.open_rgb(factory.oriented_jpeg(tmp_path / "o.jpg", value))
    assert img.size == (96, 64)
    assert_close(corners(img)["tl"], factory.RED)


def test_orientation_of_the_wrong_type_is_ignored(tmp_path: Path) -> None:
    img = images.open_rgb(factory.jpeg_text_orientation(tmp_path / "o.jpg"))
    assert img.size == (96, 64)
    assert_close(corners(img)["tl"], factory.RED)


def test_broken_exif_still_decodes(tmp_path: Path) -> None:
    with warnings.catch_warnings():  # Pillow may warn about the EXIF; the pixels are fine
        warnings.simplefilter("ignore")
        img = images.open_rgb(factory.jpeg_broken_exif(tmp_path / "b.jpg"))
    assert_close(rgb_at(img, 5, 5), factory.GREEN)


# -- colour modes -------------------------------------------------------------------------
def test_palette_transparency_becomes_white(tmp_path: Path) -> None:
    path = factory.png_palette_transparent(tmp_path / "p.png")
    assert Image.open(path).mode == "P"
    img = images.open_rgb(path)
    assert img.mode == "RGB"
    assert rgb_at(img, 2, 5) == factory.WHITE  # transparent index stored as black
    assert rgb_at(img, 35, 5) == factory.RED


def test_rgba_is_composited_onto_white(tmp_path: Path) -> None:
    img = images.open_rgb(factory.png_rgba(tmp_path / "a.png"))
    assert rgb_at(img, 2, 5) == factory.WHITE
    assert rgb_at(img, 35, 5) == factory.GREEN
    assert_close(rgb_at(img, 19, 5), (255, 127, 127), tol=1)  # half-transparent red


def test_la_is_composited_onto_white(tmp_path: Path) -> None:
    img = images.open_rgb(factory.png_la(tmp_path / "la.png"))
    assert rgb_at(img, 2, 5) == factory.WHITE
    assert rgb_at(img, 35, 5) == (64, 64, 64)


def test_greyscale_and_bilevel(tmp_path: Path) -> None:
    assert rgb_at(images.open_rgb(factory.png_grey(tmp_path / "g.png", 77)), 3, 3) == (77,) * 3
    bilevel = images.open_rgb(factory.png_bilevel(tmp_path / "b.png"))
    assert rgb_at(bilevel, 2, 2) == (0, 0, 0)
    assert rgb_at(bilevel, 30, 2) == factory.WHITE


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = factory.png_16bit(tmp_path / "g16.png", values=(0, 1000, 40000, 65535))
    assert Image.open(path).mode.startswith("I")
    img = images.open_rgb(path)
    # round(v * 255 / 65535): a naive convert("L") would give 0, 255, 255, 255.
    assert [rgb_at(img, x, 4)[0] for x in (4, 12, 20, 28)] == [0, 4, 156, 255]
    assert rgb_at(img, 20, 4) == (156, 156, 156)


def test_32_bit_integer_mode_is_treated_as_sixteen_bit() -> None:
    img = Image.fromarray(np.array([[0, 32768, 65535, 70000, -5]], dtype=np.int32))
    assert img.mode == "I"
    assert [images.to_rgb(img).getpixel((x, 0))[0] for x in range(5)] == [0, 128, 255, 255, 0]


def test_float_greyscale_in_unit_range(tmp_path: Path) -> None:
    img = images.open_rgb(factory.tiff_float(tmp_path / "f.tif", values=(0.0, 0.25, 1.0)))
    assert [rgb_at(img, x, 4)[0] for x in (4, 12, 20)] == [0, 64, 255]


def test_cmyk_jpeg_becomes_the_right_colour(tmp_path: Path) -> None:
    path = factory.cmyk_jpeg(tmp_path / "c.jpg", (0, 255, 255, 0))  # red in CMYK
    assert Image.open(path).mode == "CMYK"
    assert_close(rgb_at(images.open_rgb(path), 10, 10), factory.RED, tol=4)
    blue = images.open_rgb(factory.cmyk_jpeg(tmp_path / "b.jpg", (255, 255, 0, 0)))
    assert_close(rgb_at(blue, 10, 10), factory.BLUE, tol=4)


def test_animated_gif_uses_the_first_frame(tmp_path: Path) -> None:
    path = factory.animated_gif(tmp_path / "a.gif", (factory.GREEN, factory.RED))
    assert getattr(Image.open(path), "n_frames", 1) == 2
    assert rgb_at(images.open_rgb(path), 5, 5) == factory.GREEN


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    img = images.open_rgb(factory.jpeg_named_png(tmp_path / "really-a-jpeg.png"))
    assert_close(rgb_at(img, 5, 5), factory.BLUE)
    assert images.image_info(tmp_path / "really-a-jpeg.png").format == "jpeg"


def test_real_heic_when_pillow_heif_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    path = factory.real_heic(tmp_path / "m.heic")
    if path is None:
        pytest.skip("pillow-heif cannot encode HEIC here")
    img = images.open_rgb(path)
    assert img.size == (64, 48)
    assert_close(corners(img)["tl"], factory.RED, tol=20)


# -- the preprocessing transform -----------------------------------------------------------
def reference_transform(img: Image.Image, pre: Preprocess) -> np.ndarray:
    """The documented steps written out longhand in float64 (the trainer uses the same)."""
    w, h = img.size
    if w <= h:
        size = (pre.resize, int(h * pre.resize / w + 0.5))  # longer side rounded half up
    else:
        size = (int(w * pre.resize / h + 0.5), pre.resize)
    img = img.resize(size, Image.Resampling.BICUBIC)
    top, left = (size[1] - pre.size) // 2, (size[0] - pre.size) // 2  # offsets rounded down
    arr = np.asarray(img, dtype=np.float64)[top:top + pre.size, left:left + pre.size] / 255.0
    arr = (arr - np.asarray(pre.mean)) / np.asarray(pre.std)
    return arr.transpose(2, 0, 1)


# (205, 100) and (227, 110) are where "half up" / "floor" differ from truncation / round().
@pytest.mark.parametrize(
    "size", [(300, 200), (123, 457), (256, 256), (100, 80), (205, 100), (227, 110)]
)
def test_model_input_matches_the_documented_transform(size: tuple[int, int]) -> None:
    pre = Preprocess(size=96, resize=110, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    img = factory.marker_image(size)
    out = images.to_model_input(img, pre)
    assert out.shape == (3, 96, 96) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, reference_transform(img, pre), atol=1e-5)


def test_crop_none_resizes_to_a_square() -> None:
    pre = Preprocess(size=40, resize=40, crop="none")
    out = images.to_model_input(factory.marker_image((120, 60)), pre)
    assert out.shape == (3, 40, 40)
    # The whole width survives: red marker at the far left, green at the far right.
    assert out[0, 2, 1] > 0.9 and out[1, 2, 38] > 0.9


def test_small_photo_is_not_drafted(tmp_path: Path) -> None:
    path = factory.solid_jpeg(tmp_path / "s.jpg", size=(300, 200))
    assert images.open_rgb(path, 256).size == (300, 200)


# -- draft decoding ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return factory.big_jpeg(tmp_path_factory.mktemp("big") / "big.jpg", (4000, 3000))


@pytest.mark.parametrize("orientation", [1, 6])
def test_draft_keeps_at_least_the_requested_size(
    tmp_path: Path, big_photo: Path, orientation: int
) -> None:
    img = Image.open(big_photo)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    img.save(path, "JPEG", quality=80, exif=exif)
    drafted = images.open_rgb(path, 256)
    assert min(drafted.size) >= 256
    assert drafted.size == ((500, 375) if orientation == 1 else (375, 500))  # 1/8 scale


def test_draft_decode_is_close_to_full_decode(big_photo: Path) -> None:
    pre = Preprocess()

    def timed(target: int | None) -> tuple[float, np.ndarray]:
        best, out = float("inf"), np.empty(0)
        for _ in range(2):
            start = time.perf_counter()
            out = images.to_model_input(images.open_rgb(big_photo, target), pre)
            best = min(best, time.perf_counter() - start)
        return best, out

    full_s, full = timed(None)
    draft_s, drafted = timed(pre.resize)
    np.testing.assert_array_equal(images.load_for_model(big_photo, pre), drafted)
    diff = np.abs(full - drafted) * 255 * 0.5  # back to 0..255 units (std 0.5)
    print(f"\n4000x3000 JPEG: full decode {full_s * 1000:.0f} ms, draft {draft_s * 1000:.0f} ms,"
          f" mean |diff| {diff.mean():.2f}/255, max {diff.max():.1f}/255")
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) < 8


def test_concurrent_loads_agree(tmp_path: Path) -> None:
    paths = [factory.oriented_jpeg(tmp_path / f"{o}.jpg", o) for o in range(1, 9)] * 3
    serial = [images.load_for_model(p, PLAIN) for p in paths]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda p: images.load_for_model(p, PLAIN), paths))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


# -- failures ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (factory.truncated_jpeg, "cut.jpg", "truncated or corrupt JPEG: image file is truncated"),
        (factory.empty_file, "empty.jpg", "empty file"),
        (factory.random_bytes, "noise.jpg", "not an image (unrecognised content)"),
        (factory.text_file, "notes.png", "not an image (unrecognised content)"),
        (factory.bomb_png, "bomb.png", "image too large: it exceeds the 200 MP safety limit"),
    ],
)
def test_bad_files_give_one_line_image_errors(
    tmp_path: Path, make: object, name: str, message: str
) -> None:
    path = make(tmp_path / name)  # type: ignore[operator]
    with pytest.raises(ImageError) as info:
        images.load_for_model(path, Preprocess())
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    # No Pillow traceback chained underneath (``raise ... from None`` or raised directly).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_pixel_limit_is_checked_from_the_header(tmp_path: Path) -> None:
    path = factory.bomb_png(tmp_path / "wide.png", width=5000, height=4000)  # 20 MP
    with pytest.raises(ImageError, match=r"^image too large: 5000x4000 pixels exceeds the "
                                          r"10 MP safety limit$"):
        images.open_rgb(path, max_pixels=10_000_000)
    with pytest.raises(ImageError, match="5000x4000"):
        images.image_info(path, max_pixels=10_000_000)


def test_truncated_images_stay_errors_after_an_error(tmp_path: Path) -> None:
    from PIL import ImageFile

    with pytest.raises(ImageError):
        images.open_rgb(factory.truncated_jpeg(tmp_path / "t.jpg"))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_heic_without_pillow_heif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import now raises ImportError
    with pytest.raises(ImageError) as info:
        images.open_rgb(factory.heic_stub(tmp_path / "IMG_0001.HEIC"))
    assert str(info.value) == "HEIC support is not installed: pip install 'photolm[heic]'"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"^file not found$"):
        images.open_rgb(tmp_path / "gone.jpg")
    with pytest.raises(ImageError, match="not a file"):
        images.open_rgb(tmp_path)


def test_non_photo_formats_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "picture.jpg"
    Image.new("RGB", (8, 8)).save(path, "PPM")  # a format Pillow reads, but not a photo one
    with pytest.raises(ImageError, match="not an image"):
        images.open_rgb(path)


def test_image_info_reads_the_header(tmp_path: Path) -> None:
    path = factory.oriented_jpeg(tmp_path / "o.jpg", 6, size=(96, 64))
    assert images.image_info(path) == images.ImageInfo(64, 96, "jpeg")
    big = factory.bomb_png(tmp_path / "b.png", width=3000, height=2000)
    assert images.image_info(big) == images.ImageInfo(3000, 2000, "png")


def test_photos_between_pillows_warning_and_our_limit_open_quietly(tmp_path: Path) -> None:
    """100 MP (a medium-format camera) is over Pillow's 89 MP warning but within our limit."""
    path = factory.bomb_png(tmp_path / "gfx100.png", width=10_000, height=10_000)
    with warnings.catch_warnings(record=True) as caught:
        assert images.image_info(path) == images.ImageInfo(10_000, 10_000, "png")
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_readme_states_the_one_pixel_limit_the_messages_use() -> None:
    """The README's "more than 200 megapixels" is the limit every refusal names (#10.17)."""
    from photolm import images

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    stated = f"more than {images.DEFAULT_MAX_PIXELS // 1_000_000} megapixels"
    assert stated in readme
    assert images._megapixels(2 * Image.MAX_IMAGE_PIXELS) == images._megapixels(
        images.DEFAULT_MAX_PIXELS)
