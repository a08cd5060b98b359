"""Values no animal can have are refused with one error naming the file, the field, the first offending
sample and what was expected; ``allow_implausible=True`` loads the same file deliberately. Also: time stamps
that would make a huge grid, and text tables that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_files import metre_track

import neuroethology.data as nd
from neuroethology.data.plausibility import MAX_SPEED_M_S

BOX = {"shape": "box", "width": 1.0, "height": 1.0}
FPS = 50.0


def write_npz(path: Path, t: np.ndarray, xy: np.ndarray) -> Path:
    np.savez(path, t=t, pos=xy)
    return path


def track(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A slow 50 Hz walk inside the 1 x 1 m box (t from 0.5 s)."""
    return metre_track(n=n, fps=FPS)


def refused(path: Path, *fragments: str, **options) -> str:
    with pytest.raises(ValueError) as info:
        nd.load(path, **options)
    message = str(info.value)
    assert message.startswith(str(path.resolve()))
    assert "allow_implausible=True" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ------------------------------------------------------------------------------------------- positions


def test_positions_far_outside_a_known_arena_are_refused_unless_allowed(tmp_path):
    t, xy = track()
    xy[40] = [3.0, 0.5]
    xy[[39, 41]] = np.nan  # a one-sample segment: no step, so no speed to object
    path = write_npz(tmp_path / "far.npz", t, xy)
    refused(
        path,
        "position (3, 0.5) m at sample 40 (t = 1.3 s)",
        "far outside the arena",
        "x in [-0.5, 1.5] m",
        arena=BOX,
    )
    rec = nd.load(path, arena=BOX, allow_implausible=True)
    assert rec["position"].values[40, :, 0, 0].tolist() == [3.0, 0.5]
    nd.load(path)  # no arena known: nothing to object ...
    xy[40] = [1.4, -0.4]  # ... and within 50 % of the arena's extent is plausible
    assert nd.load(write_npz(tmp_path / "near.npz", t, xy), arena=BOX, allow_implausible=False).sizes["time"]


def test_circle_arena_tolerance(tmp_path):
    t, xy = track()
    xy[10] = [0.5 + 0.8, 0.5]  # 0.8 m from the centre of a 0.25 m circle: farther than 2R = 0.5 m
    path = write_npz(tmp_path / "circle.npz", t, xy)
    circle = {"shape": "circle", "radius": 0.25}
    refused(path, "sample 10 (t = 0.7 s)", "at most 0.5 m from its centre", arena=circle)
    assert nd.load(path, arena=circle, allow_implausible=True).sizes["time"] == 200


def test_huge_positions_in_a_saved_recording_are_refused(tmp_path):
    """The fault report's case: 1e30 m in a 1 x 1 m arena (compare then reported 4.7e27 m/s)."""
    _, xy = track()
    xy[100] = 1e30
    path = nd.save(nd.from_arrays(xy, fps=FPS, arena=BOX), tmp_path / "huge.nc")
    message = refused(path, "has implausible values (1 problem)", "position (1e+30, 1e+30) m at sample 100")
    assert "beyond 1e+08 m" in message and "(t = 2 s)" in message
    rec = nd.load(path, allow_implausible=True)
    assert rec["position"].values[100, 0, 0, 0] == 1e30


def test_infinite_positions_are_refused_or_loaded_as_untracked(tmp_path):
    t, xy = track()
    xy[7, 1] = -np.inf
    path = write_npz(tmp_path / "inf.npz", t, xy)
    refused(path, "position has 1 infinite value(s), first at sample 7 (t = 0.64 s)", "NaN where not tracked")
    rec = nd.load(path, allow_implausible=True)
    assert np.isnan(rec["position"].values[7]).all() and rec["segment"].values[7, 0] == -1
    assert "mask_infinite" in [s["step"] for s in nd.processing_of(rec)]


# ---------------------------------------------------------------------------------------------- speed


def test_steps_faster_than_any_animal_are_refused_unless_allowed(tmp_path):
    t, xy = track()
    xy[120:] += 2.0  # 2 m in 20 ms: 100 m/s
    path = write_npz(tmp_path / "fast.npz", t, xy)
    refused(path, "speed 1", "m/s from sample 119 (t = 2.88 s) to sample 120 (t = 2.9 s)", "at most 50 m/s")
    rec = nd.load(path, allow_implausible=True)
    np.testing.assert_array_equal(rec["position"].values[:, :, 0, 0], xy)


def test_speed_is_checked_within_segments_and_in_metres_only(tmp_path):
    t, xy = track()
    xy[120:] += 2.0
    xy[119] = np.nan  # the jump is across a gap: two segments, no step between them
    assert nd.load(write_npz(tmp_path / "gap.npz", t, xy))["segment"].values.max() == 1
    t, xy = track()
    xy[120:] += 2.0  # 2 pixels: not a speed in m/s
    assert nd.load(write_npz(tmp_path / "px.npz", t, xy), units="pixels").attrs["space_unit"] == "pixels"
    t, xy = track()
    xy[120:, 0] += 0.9 * MAX_SPEED_M_S / FPS  # under the bound (with the walk's own ~0.5 m/s)
    nd.load(write_npz(tmp_path / "quick.npz", t, xy))


# ----------------------------------------------------------------------------------------- time grids


def test_one_bad_time_stamp_is_refused_before_allocating_the_grid(tmp_path):
    """The fault report's case: t[-1] = 1e8 in a 50 Hz file (a 37 GiB grid, MemoryError); with no frame rate
    stated the time stamps are kept as recorded, and the interval itself is refused."""
    t, xy = track()
    t[-1] = 1e8
    refused(
        write_npz(tmp_path / "late.npz", t, xy),
        "cannot be processed",
        "inserting the missing frames would build a grid of 5e+09 samples",
        "from sample 198 (t = 4.46 s) to sample 199 (t = 1e+08 s)",
        fps=FPS,
    )
    refused(
        tmp_path / "late.npz",
        "an interval of 1e+08 s from sample 198 (t = 4.46 s) to sample 199",
        "x the median interval (0.02 s)",
    )


def test_a_huge_gap_is_refused_unless_allowed(tmp_path):
    t, xy = track()
    t[100:] += 1e6  # 50 million samples
    refused(
        write_npz(tmp_path / "gap.npz", t, xy), "grid of 5e+07 samples", "largest gap is 1e+06 s", fps=FPS
    )
    t, xy = track()
    t[100:] += 2.1e4  # 1.05 million samples: refused, but small enough to accept in a test
    path = write_npz(tmp_path / "smaller_gap.npz", t, xy)
    refused(path, "largest gap is 21000 s, from sample 99", fps=FPS)
    rec = nd.load(path, allow_implausible=True, fps=FPS)
    assert rec.sizes["time"] == 200 + 2.1e4 * FPS
    # As recorded (no fps=): nothing is inserted, but 6 h between fixes 20 ms apart is 1.05e6 median
    # intervals, over the bound for a single interval.
    refused(path, "an interval of 21000 s from sample 99", "1.05e+06 x the median interval")
    assert nd.load(path, allow_implausible=True).sizes["time"] == 200


def test_resampling_an_irregular_axis_with_a_huge_gap_is_refused(tmp_path):
    t, xy = track()
    t = t + np.random.default_rng(0).uniform(0, 0.008, t.size)  # not whole frames: kept as recorded
    t[150:] += 1e4  # 5e5 median intervals: a plausible pause; at 500 Hz a grid of 5e6 samples for 200
    path = write_npz(tmp_path / "irregular.npz", t, xy)
    assert nd.load(path).sizes["time"] == 200
    refused(path, "resampling to 500 Hz would build a grid", "from sample 149", resample=10 * FPS)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [(np.nan, "non-finite values (first at index 60)"), (0.0, "not monotonic"), ("dup", "duplicated")],
)
def test_non_finite_or_non_increasing_time_is_refused(tmp_path, bad, fragment):
    t, xy = track()
    t[60] = t[59] if bad == "dup" else bad
    with pytest.raises(ValueError, match="time") as info:
        nd.load(write_npz(tmp_path / "t.npz", t, xy))
    assert fragment in str(info.value) and "t.npz" in str(info.value)


# ----------------------------------------------------------------------------------------- encodings


def test_a_latin1_csv_loads(tmp_path):
    t, xy = track(20)
    rows = [f"{a:.3f},{float(x)!r},{float(y)!r},souris_\xe9" for a, (x, y) in zip(t, xy, strict=True)]
    path = tmp_path / "latin1.csv"
    path.write_bytes("\n".join(["time,x,y,individual", *rows]).encode("latin-1"))
    rec = nd.load(path)
    assert rec["individual"].values.tolist() == ["souris_\xe9"]
    np.testing.assert_allclose(rec["position"].values[:, :, 0, 0], xy)


def test_a_utf8_character_cut_by_the_format_sniffer_is_still_text(tmp_path):
    t, xy = track(200)
    header = "time,x,y,individual,"
    name = "x" * (4096 - len(header) - 1) + "\xe9"  # a 2-byte character across the sniffer's 4096 bytes
    path = tmp_path / "long_header.csv"
    rows = [f"{a:.3f},{float(x)!r},{float(y)!r},rat" for a, (x, y) in zip(t, xy, strict=True)]
    path.write_text("\n".join([header + name, *[r + ",1" for r in rows]]), encoding="utf-8")
    assert nd.load(path).sizes["time"] == 200
