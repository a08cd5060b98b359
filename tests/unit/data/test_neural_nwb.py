"""Neural data through NWB (neuroethology.data.to_nwb / load): spikes as the file's Units table and activity
as TimeSeries come back exactly (spikes) or allclose (activity), with kinds, sources and unit order; what
other NWB readers see (pynwb's Units table, the traces reader); agents' hidden units on their old path."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroethology import data
from neuroethology.data import neural, neural_files


def _two_rats(t):
    pos = np.stack([0.1 + 0.01 * t, 0.2 + 0.01 * t], axis=1)[:, :, None, None].repeat(2, axis=3)
    return data.from_arrays(pos, time=t, fps=50.0, individual_names=["ada", "bo"])


def _spiking(rng, t, early=-0.5):
    """Two rats, each with its own units (``"1"`` in both, a silent one), a spike at ``early`` s (before the
    recording when negative), ties across individuals; dF/F activity."""
    rec = _two_rats(t)
    s_a = np.sort(np.r_[early, rng.uniform(0, 4, 60)])
    u_a = rng.choice(["1", "7"], s_a.size)
    s_b = np.sort(np.r_[s_a[:5], rng.uniform(0, 4, 30)])  # ties with ada's spikes
    u_b = np.full(s_b.size, "1")
    rec = neural.add_spikes(rec, s_a, u_a, individual="ada", units=["1", "7", "silent"])
    rec = neural.add_spikes(rec, s_b, u_b, individual="bo")
    dff = rng.normal(size=(t.size, 3, 2))
    return neural.add_activity(rec, dff, kind="dff", units=["r0", "r1", "r2"])


def test_spikes_and_activity_round_trip_through_nwb(tmp_path):
    rng = np.random.default_rng(0)
    rec = _spiking(rng, np.arange(200) / 50.0)
    back = data.load(data.to_nwb(rec, tmp_path / "rec.nwb"))
    for v in ("spike_time", "spike_unit", "spike_individual"):
        np.testing.assert_array_equal(back[v].values, rec[v].values)  # exactly, same order
    assert back["spike_unit"].attrs["unit_order"] == {"ada": ["1", "7", "silent"], "bo": ["1"]}
    np.testing.assert_allclose(back["activity"].values, rec["activity"].values, equal_nan=True)
    assert back["unit"].values.tolist() == ["r0", "r1", "r2"]
    assert back["activity"].attrs == {"kind": "dff", "units": "1", "source": "recorded"}
    for ind in ("ada", "bo"):
        np.testing.assert_array_equal(
            neural.bin_spikes(back, individual=ind).values, neural.bin_spikes(rec, individual=ind).values
        )
    assert data.processing_of(back) == data.processing_of(rec)


def test_nwb_export_is_a_units_table_other_readers_see(tmp_path):
    rng = np.random.default_rng(1)
    rec = _spiking(rng, np.arange(100) / 50.0, early=0.0)  # the file readers refuse negative times
    path = data.to_nwb(rec, tmp_path / "rec.nwb")
    with pytest.raises(ValueError, match=r"individuals \['ada', 'bo'\]; pass individual=NAME"):
        neural_files.read_nwb_units(path)  # unit "1" of both rats: never merged
    spikes = neural_files.read_nwb_units(path, individual="bo")  # the generic reader: labels from unit_name
    assert spikes.units == ["1"]
    np.testing.assert_array_equal(
        spikes.spike_times, rec["spike_time"].values[rec["spike_individual"] == "bo"]
    )
    spikes = neural_files.read_nwb_units(path, individual="ada")
    assert spikes.units == ["1", "7", "silent"]
    traces = neural_files.read_nwb_traces(path, name="activity_ada")
    np.testing.assert_allclose(traces.values, rec["activity"].values[:, :, 0])
    assert traces.name == "neural/activity_ada"


def test_model_activity_and_hidden_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    t = np.arange(60) / 50.0
    rates = neural.add_activity(_two_rats(t), rng.gamma(2.0, size=(t.size, 4, 2)), kind="rate")
    back = data.load(data.to_nwb(rates, tmp_path / "rates.nwb"))
    np.testing.assert_allclose(back["activity"].values, rates["activity"].values)
    assert back["activity"].attrs["kind"] == "rate" and back["unit"].values.tolist() == ["0", "1", "2", "3"]
    hidden = rng.normal(size=(t.size, 5, 2)).astype(np.float32)
    sim = _two_rats(t).assign(hidden=xr.DataArray(hidden, dims=("time", "unit", "individual")))
    back = data.load(data.to_nwb(sim, tmp_path / "sim.nwb"))
    np.testing.assert_array_equal(back["hidden"].values, hidden)  # the behaviour variables' path
    assert back["hidden"].dtype == np.float32
    got = neural.activity_of(back, individual="bo")
    assert (got.kind, got.source) == ("model", "model")


def test_spikes_of_one_individual_without_activity(tmp_path):
    t = np.arange(50) / 50.0
    rec = neural.add_spikes(_two_rats(t), [0.1, 0.1, 0.5], ["a", "b", "a"], individual="bo")
    back = data.load(data.to_nwb(rec, tmp_path / "one.nwb"))
    assert "activity" not in back
    assert back["spike_unit"].attrs["unit_order"] == {"bo": ["a", "b"]}
    np.testing.assert_array_equal(back["spike_time"].values, [0.1, 0.1, 0.5])
    with pytest.raises(ValueError, match="no spikes of individual 'ada'"):
        neural.bin_spikes(back, individual="ada")
