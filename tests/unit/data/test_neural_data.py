"""Neural data in the Recording (neuroethology.data.neural): spikes binned on each individual's own samples
against a plain NumPy reference, activity attached only on the Recording's own clock (or aligned when asked,
and logged), the layout through save/load, and the loaders (phy npz, CSV, NWB Units and ophys traces)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from neuroethology import data
from neuroethology.data import neural, neural_files
from neuroethology.data.schema import sample_durations


def _rec(t, *, n_ind=1, as_recorded=False, fps=None, segment=None, sampled=None):
    """A Recording on clock ``t`` (a slow walk), ``n_ind`` individuals."""
    t = np.asarray(t, float)
    pos = np.stack([0.1 + 0.01 * t, 0.2 + 0.01 * t], axis=1)[:, :, None, None].repeat(n_ind, axis=3)
    variables = {}
    if sampled is not None:
        pos = np.where(np.asarray(sampled, bool)[:, None, None, :], pos, np.nan)
        variables["sampled"] = (("time", "individual"), np.asarray(sampled, np.int64))
    if segment is not None:
        variables["segment"] = (("time", "individual"), np.asarray(segment, np.int64)[:, None])
    return data.from_arrays(
        pos,
        time=t,
        fps=fps,
        individual_names=[f"rat{i}" for i in range(n_ind)],
        variables=variables,
        attrs={"time_sampling": "as recorded" if as_recorded else "frames"},
    )


def _reference_counts(t, durations, spikes, units, order):
    """Plain NumPy: each sample's [t_i, t_i + d_i) edges, np.searchsorted of every spike."""
    counts = np.zeros((t.size, len(order)), np.int64)
    for j, u in enumerate(order):
        s = spikes[units == u]
        i = np.searchsorted(t, s, side="right") - 1
        ok = (i >= 0) & (s < t[np.maximum(i, 0)] + durations[np.maximum(i, 0)])
        np.add.at(counts[:, j], i[ok], 1)
    return counts


def _random_spikes(rng, t0, t1, n_units=3, rate=40.0):
    times, ids = [], []
    for u in range(n_units):
        s = np.sort(rng.uniform(t0, t1, rng.poisson(rate * (t1 - t0))))
        times.append(s)
        ids.append(np.full(s.size, f"u{u}"))
    return np.concatenate(times), np.concatenate(ids)


def test_bin_spikes_regular_clock_matches_numpy_reference():
    rng = np.random.default_rng(1)
    fps = 50.0
    t = np.arange(500) / fps
    rec = _rec(t, fps=fps)
    s, u = _random_spikes(rng, -0.5, 10.5)
    counts = neural.bin_spikes(neural.add_spikes(rec, s, u))
    ref = _reference_counts(t, np.full(t.size, 1 / fps), s, u, ["u0", "u1", "u2"])
    np.testing.assert_array_equal(counts.values, ref)
    assert counts.attrs["n_outside_samples"] == ((s < 0) | (s >= 10.0)).sum() > 0
    assert counts.values.sum() + counts.attrs["n_outside_samples"] == s.size


def test_sample_durations_definition():
    """schema.sample_durations, the one definition (analysis' Track and neural both call it)."""
    t = np.array([0.0, 0.1, 0.3, 0.35, 1.0, 1.2, 1.4])
    assert np.array_equal(sample_durations(t, 20.0, as_recorded=False), np.full(7, 0.05))
    np.testing.assert_allclose(sample_durations(t, 20.0, as_recorded=True), np.r_[np.diff(t), 0.05])
    tracked = np.array([1, 1, 1, 0, 1, 1, 1], bool)  # sample 3 untracked: 2 and 3 end their runs
    segment = np.array([0, 0, 0, 0, 1, 1, 2])  # 4 starts segment 1, 6 starts segment 2
    got = sample_durations(t, 20.0, as_recorded=True, tracked=tracked, labels=[segment])
    np.testing.assert_allclose(got, [0.1, 0.2, 0.05, 0.05, 0.2, 0.05, 0.05])
    assert sample_durations(t[:1], 4.0, as_recorded=True).tolist() == [0.25]


def test_bin_spikes_irregular_clock_with_pause_uses_own_durations():
    rng = np.random.default_rng(2)
    steps = rng.exponential(0.05, 300) + 0.005
    t = np.concatenate([[0.0], np.cumsum(steps)])
    t[150:] += 5.0  # a pause: a new segment starts at sample 150
    segment = np.r_[np.zeros(150, int), np.ones(t.size - 150, int)]
    median = float(np.median(np.diff(t)))
    rec = _rec(t, as_recorded=True, fps=1 / median, segment=segment)
    # reference durations: the interval to the next sample, the median one at the end of each segment
    durations = np.r_[np.diff(t), median]
    durations[149] = median
    np.testing.assert_allclose(neural.sample_durations(rec), durations)
    s, u = _random_spikes(rng, 0.0, t[-1] + 1.0)
    counts = neural.bin_spikes(neural.add_spikes(rec, s, u))
    np.testing.assert_array_equal(counts.values, _reference_counts(t, durations, s, u, ["u0", "u1", "u2"]))
    in_pause = ((s >= t[149] + median) & (s < t[150])).sum()
    assert in_pause > 0 and counts.attrs["n_outside_samples"] >= in_pause


def test_spike_on_a_sample_boundary_counts_in_the_later_sample():
    fps = 30.0
    t = np.arange(10) / fps
    rec = _rec(t, fps=fps)
    s = np.array([t[3], t[3], np.nextafter(t[4], 0), t[9] + 1 / fps])  # last: exactly at the end
    counts = neural.bin_spikes(neural.add_spikes(rec, s, np.zeros(4, int)))
    assert counts.sel(unit="0").values.tolist() == [0, 0, 0, 3, 0, 0, 0, 0, 0, 0]
    assert counts.attrs["n_outside_samples"] == 1


def test_individuals_on_their_own_clocks():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 20, 400))
    sampled = np.zeros((t.size, 2), int)
    sampled[::2, 0] = 1
    sampled[1::2, 1] = 1
    rec = _rec(t, n_ind=2, as_recorded=True, sampled=sampled)
    sa, ua = _random_spikes(rng, 0, 20, n_units=2)
    sb, ub = _random_spikes(rng, 0, 20, n_units=1)
    rec = neural.add_spikes(neural.add_spikes(rec, sa, ua, individual="rat0"), sb, ub, individual=1)
    for i, (s, u, order) in enumerate([(sa, ua, ["u0", "u1"]), (sb, ub, ["u0"])]):
        own = t[sampled[:, i] == 1]
        counts = neural.bin_spikes(rec, individual=i)
        np.testing.assert_array_equal(counts["time"].values, own)
        durations = np.r_[np.diff(own), 1 / float(rec.attrs["fps"])]
        np.testing.assert_array_equal(counts.values, _reference_counts(own, durations, s, u, order))
    with pytest.raises(ValueError, match="2 individuals"):
        neural.bin_spikes(rec)


def test_spikes_and_activity_survive_save_and_load(tmp_path):
    rng = np.random.default_rng(4)
    t = np.arange(200) / 50.0
    rec = _rec(t, fps=50.0)
    s, u = _random_spikes(rng, -1, 5)
    dff = rng.normal(size=(t.size, 4))
    rec = neural.add_spikes(rec, s, u, units=["u0", "u1", "u2", "silent"])
    rec = neural.add_activity(rec, dff, kind="dff", units=["a", "b", "c", "d"])
    back = data.load(data.save(rec, tmp_path / "rec.nc"))
    np.testing.assert_array_equal(back["activity"].values, rec["activity"].values)
    assert back["unit"].values.tolist() == ["a", "b", "c", "d"]
    assert back["activity"].attrs == {"kind": "dff", "units": "1", "source": "recorded"}
    for v in ("spike_time", "spike_unit", "spike_individual"):
        np.testing.assert_array_equal(back[v].values, rec[v].values)
    assert back["spike_unit"].attrs["unit_order"] == {"rat0": ["u0", "u1", "u2", "silent"]}
    counts = neural.bin_spikes(back)
    assert counts["unit"].values.tolist() == ["u0", "u1", "u2", "silent"]
    assert counts.sel(unit="silent").sum() == 0
    step = [p for p in data.processing_of(back) if p["step"] == "add_spikes"][0]
    assert step["n_before_start"] == (s < 0).sum() and step["n_after_end"] == (s >= 4.0).sum()
    assert neural.neural_problems(back) == []


def test_activity_on_another_clock_is_refused_unless_aligned():
    fps = 50.0
    t = np.arange(100) / fps
    rec = _rec(t, fps=fps)
    other = np.arange(300) / 100.0 + 0.003  # a 100 Hz trace, 3 ms late
    ramp = np.stack([2.0 * other, -other], axis=1)
    with pytest.raises(ValueError, match="time: expected the Recording's own sample times"):
        neural.add_activity(rec, ramp, time=other, kind="rate")
    linear = neural.add_activity(rec, ramp, time=other, kind="rate", align="linear")
    got = linear["activity"].values[:, :, 0]
    inside = t >= other[0]
    np.testing.assert_allclose(got[inside], np.stack([2 * t, -t], axis=1)[inside], atol=1e-12)
    assert np.isnan(got[~inside]).all()
    nearest = neural.add_activity(rec, ramp, time=other, kind="rate", align="nearest")
    step = data.processing_of(nearest)[-1]
    assert step["step"] == "align_activity" and step["align"] == "nearest"
    assert step["max_time_mismatch_s"] == pytest.approx(0.003)
    assert step["n_samples_outside_trace"] == int((~inside).sum())
    same = neural.add_activity(rec, ramp[::2][:100], time=t + 1e-9, kind="rate")  # float rounding only
    assert data.processing_of(same)[-1]["step"] == "add_activity"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: neural.add_activity(r, np.zeros((10, 2)), kind="spikes"), "kind"),
        (lambda r: neural.add_activity(r, np.zeros((9, 2)), kind="rate"), "values: expected 10 rows"),
        (lambda r: neural.add_activity(r, np.zeros(10), kind="rate"), "values: expected shape"),
        (lambda r: neural.add_activity(r, np.zeros((10, 2)), kind="rate", units=["a"]), "units"),
        (lambda r: neural.add_activity(r, np.zeros((10, 2)), kind="counts", align="linear"), "align"),
        (lambda r: neural.add_spikes(r, [0.1, 0.05], ["a", "a"]), "non-decreasing seconds per unit"),
        (lambda r: neural.add_spikes(r, [0.1, 0.2], ["a"]), "shapes"),
        (lambda r: neural.add_spikes(r, [0.1, np.nan], ["a", "b"]), "non-finite"),
        (lambda r: neural.activity_of(r), "no neural data"),
        (lambda r: neural.bin_spikes(r), "no spikes"),
    ],
)
def test_refusals_name_the_field(call, field):
    rec = _rec(np.arange(10) / 10.0, fps=10.0)
    with pytest.raises(ValueError, match=field):
        call(rec)


def test_activity_of_prefers_activity_then_spikes_then_hidden():
    rng = np.random.default_rng(5)
    t = np.arange(50) / 10.0
    hidden = rng.normal(size=(t.size, 8, 1))
    base = _rec(t, fps=10.0)
    sim = base.assign(hidden=xr.DataArray(hidden, dims=("time", "unit", "individual")))
    got = neural.activity_of(sim, units=[3, 5])
    assert (got.kind, got.source) == ("model", "model")
    np.testing.assert_array_equal(got.activity.values, hidden[:, [3, 5], 0])
    np.testing.assert_allclose(got.activity["duration"].values, 0.1)
    s, u = _random_spikes(rng, 0, 5, n_units=2)
    spiking = neural.add_spikes(base, s, u)
    got = neural.activity_of(spiking)
    assert (got.kind, got.source) == ("counts", "recorded")
    assert got.activity.values.sum() == s.size
    rates = neural.add_activity(spiking, np.ones((t.size, 3)), kind="rate")
    assert neural.activity_of(rates).kind == "rate"
    with pytest.raises(ValueError, match=r"units \['x'\] not found"):
        neural.activity_of(rates, units=["x"])
    with pytest.raises(ValueError, match="'unit' dim is taken by"):
        neural.add_activity(sim, np.ones((t.size, 3)), kind="rate")


def test_load_spikes_phy_npz_and_csv(tmp_path):
    fs = 30000.0
    samples = np.array([10, 300, 300, 9000, 60000], np.uint64)
    clusters = np.array([7, 2, 7, 2, 11])
    np.savez(tmp_path / "phy.npz", spike_times=samples, spike_clusters=clusters, fs=fs)
    spikes = neural_files.load_spikes(tmp_path / "phy.npz")
    np.testing.assert_allclose(spikes.spike_times, samples / fs)
    assert spikes.units == ["2", "7", "11"] and spikes.unit_ids.tolist() == ["7", "2", "7", "2", "11"]
    np.savez(tmp_path / "nofs.npz", spike_times=samples, spike_clusters=clusters)
    with pytest.raises(ValueError, match="(?s)nofs.npz.*no fs"):
        neural_files.load_spikes(tmp_path / "nofs.npz")
    (tmp_path / "s.tsv").write_text("Cluster\tSpike_Time\nb\t12.5\na\t3\nb\t1.5\n")
    with pytest.raises(ValueError, match="(?s)s.tsv.*non-decreasing seconds per unit.*'b'"):
        neural_files.load_spikes(tmp_path / "s.tsv", units="ms")
    (tmp_path / "s.csv").write_text("cluster,spike_time\nb,1.5\na,3\nb,12.5\n")
    spikes = neural_files.load_spikes(tmp_path / "s.csv", units="ms")
    np.testing.assert_allclose(spikes.spike_times, [0.0015, 0.003, 0.0125])
    (tmp_path / "neg.csv").write_text("unit,time\na,-1\n")
    with pytest.raises(ValueError, match="(?s)neg.csv.*found 1 negative values"):
        neural_files.load_spikes(tmp_path / "neg.csv")
    (tmp_path / "cols.csv").write_text("neuron_label,when\na,1\n")
    with pytest.raises(ValueError, match=r"spike_times: expected a column.*\['neuron_label', 'when'\]"):
        neural_files.load_spikes(tmp_path / "cols.csv")


def _write_nwb(path, trains, dff, t_ophys):
    from datetime import UTC, datetime

    import pynwb
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel

    nwb = pynwb.NWBFile(
        session_description="test", identifier="n1", session_start_time=datetime(2024, 1, 1, tzinfo=UTC)
    )
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group("shank0", description="s", location="MEC", device=device)
    for k, train in enumerate(trains):
        nwb.add_unit(spike_times=train, electrode_group=group, id=100 + k)
    channel = OpticalChannel(name="green", description="g", emission_lambda=510.0)
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=channel, description="p", device=device, excitation_lambda=920.0,
        imaging_rate=30.0, indicator="GCaMP6f", location="CA1",
    )  # fmt: skip
    segmentation = ImageSegmentation()
    seg = segmentation.create_plane_segmentation(name="rois", description="r", imaging_plane=plane)
    for k in range(dff.shape[1]):
        seg.add_roi(image_mask=np.eye(4)[k : k + 1].repeat(4, 0), id=20 + k)
    module = nwb.create_processing_module("ophys", "optical physiology")
    module.add(segmentation)
    container = DfOverF()
    module.add(container)
    region = seg.create_roi_table_region(region=list(range(dff.shape[1])), description="all")
    container.create_roi_response_series(name="dff", data=dff, rois=region, unit="n.a.", timestamps=t_ophys)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_nwb_units_and_ophys_traces(tmp_path):
    rng = np.random.default_rng(6)
    trains = [np.sort(rng.uniform(0, 10, n)) for n in (5, 0, 12)]
    t_ophys = np.arange(40) / 30.0
    dff = rng.normal(size=(40, 3))
    path = tmp_path / "session.nwb"
    _write_nwb(path, trains, dff, t_ophys)
    spikes = neural_files.read_nwb_units(path)
    assert spikes.units == ["100", "101", "102"]
    np.testing.assert_array_equal(spikes.spike_times, np.concatenate(trains))
    assert spikes.unit_ids.tolist() == ["100"] * 5 + ["102"] * 12
    assert spikes.electrode_group == {"100": "shank0", "101": "shank0", "102": "shank0"}
    traces = neural_files.read_nwb_traces(path)
    assert traces.name == "ophys/DfOverF/dff" and traces.units == ["20", "21", "22"]
    np.testing.assert_allclose(traces.values, dff)
    np.testing.assert_allclose(traces.timestamps, t_ophys)
    with pytest.raises(ValueError, match=r"(?s)session.nwb.*named 'F'.*\['ophys/DfOverF/dff'\]"):
        neural_files.read_nwb_traces(path, name="F")
    rec = neural.add_activity(
        _rec(t_ophys, fps=30.0), traces.values, time=traces.timestamps, units=traces.units, kind="dff"
    )
    rec = neural.add_spikes(rec, spikes.spike_times, spikes.unit_ids, units=spikes.units)
    assert neural.activity_of(rec).kind == "dff"
    assert json.loads(rec.attrs["processing"])[-1]["n_after_end"] > 0


def _two_rats_spiking(rng, t):
    rec = _rec(t, n_ind=2, fps=float(1 / (t[1] - t[0])))
    trains = {
        name: _random_spikes(rng, -0.2, t[-1] + 0.2, n_units=n) for name, n in (("rat0", 2), ("rat1", 3))
    }
    for name, (s, u) in trains.items():
        rec = neural.add_spikes(rec, s, u, individual=name, units=[*np.unique(u), f"quiet_{name}"])
    return rec, trains


def test_selecting_individuals_keeps_only_their_spikes(tmp_path):
    rng = np.random.default_rng(7)
    t = np.arange(300) / 50.0
    rec, trains = _two_rats_spiking(rng, t)
    path = data.save(rec, tmp_path / "two.nc")
    one = data.load(path, individuals=["rat1"])
    s, u = trains["rat1"]
    keep = np.lexsort((u, s))
    np.testing.assert_array_equal(one["spike_time"].values, s[keep])
    np.testing.assert_array_equal(one["spike_unit"].values, u[keep])
    assert set(one["spike_individual"].values) == {"rat1"}
    assert one["spike_unit"].attrs["unit_order"] == {"rat1": ["u0", "u1", "u2", "quiet_rat1"]}
    np.testing.assert_array_equal(
        neural.bin_spikes(one).values, neural.bin_spikes(rec, individual="rat1").values
    )
    assert data.validate(one) is one
    from neuroethology.analysis._recording import select_track, split_individuals

    for name, part in zip(["rat0", "rat1"], split_individuals(rec), strict=True):
        assert set(part["spike_individual"].values) == {name}
        assert list(part["spike_unit"].attrs["unit_order"]) == [name]
        assert neural.neural_problems(part) == []
    track = select_track(rec, individual="rat0", caller="test")
    assert int((track.recording["spike_individual"] == "rat0").sum()) == trains["rat0"][0].size
    assert track.recording["spike_time"].size == trains["rat0"][0].size


def test_resampling_keeps_spikes_as_recorded_and_refuses_activity(tmp_path):
    rng = np.random.default_rng(8)
    t = np.arange(300) / 50.0
    rec, _ = _two_rats_spiking(rng, t)
    down = data.resample(rec, fps=20.0)
    for v in ("spike_time", "spike_unit", "spike_individual"):
        np.testing.assert_array_equal(down[v].values, rec[v].values)
    assert down["spike_unit"].attrs["unit_order"] == rec["spike_unit"].attrs["unit_order"]
    assert data.processing_of(down)[-1]["spikes"] == "kept as recorded"
    s, u = (rec[v].values[rec["spike_individual"].values == "rat0"] for v in ("spike_time", "spike_unit"))
    grid = down["time"].values
    np.testing.assert_array_equal(
        neural.bin_spikes(down, individual="rat0").values,
        _reference_counts(grid, np.full(grid.size, 0.05), s, u, ["u0", "u1", "quiet_rat0"]),
    )
    loaded = data.load(data.save(rec, tmp_path / "r.nc"), individuals=["rat0"], resample=20.0)
    np.testing.assert_array_equal(loaded["spike_time"].values, s)
    with_activity = neural.add_activity(rec, np.ones((t.size, 2, 2)), kind="rate")
    with pytest.raises(ValueError, match="cannot resample 'activity'"):
        data.resample(with_activity, fps=20.0)


def test_validate_reports_a_malformed_neural_layout_with_the_other_problems(tmp_path):
    t = np.arange(20) / 10.0
    rec = neural.add_activity(
        neural.add_spikes(_rec(t, fps=10.0), [0.1, 0.5], ["a", "b"]), np.ones((20, 2)), kind="rate"
    )
    assert data.validate(rec) is rec
    bad = rec.assign(activity=rec["activity"].transpose("unit", "time", "individual"))
    bad["activity"].attrs = {"kind": "spikes", "source": "recorded"}
    bad = bad.drop_vars("spike_individual")
    bad.attrs = {**bad.attrs, "fps": -1.0}
    with pytest.raises(data.RecordingError) as err:
        data.validate(bad)
    message = str(err.value)
    for field in (
        "attrs['fps']",
        "activity must be float with dims",
        "activity.attrs: kind",
        "spikes need all of",
    ):
        assert field in message
    with pytest.raises(data.RecordingError, match="not in unit_order"):
        stray = rec.copy()
        stray["spike_unit"] = stray["spike_unit"].copy(data=np.array(["a", "z"]))
        data.save(stray, tmp_path / "stray.nc")
    with pytest.raises(data.RecordingError, match=r"rat0/a.*going back"):
        data.validate(
            rec.assign(spike_time=("spike", np.array([0.5, 0.1]))).assign(
                spike_unit=rec["spike_unit"].copy(data=np.array(["a", "a"]))
            )
        )
