"""Geography in tables: longitude/latitude projected onto the metre plane (distances checked against geodesics
on WGS84), tracks too large for one plane refused, and date/time strings read with their time zone.

Tracks are generated with ``pyproj.Geod.fwd`` (geodesic steps of known length on WGS84), so the true path
length is the sum of the step lengths, independent of the projection under test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from neuroethology import analysis, data
from neuroethology.data.geography import MAX_STEP_ERROR

GEOD = Geod(ellps="WGS84")


def _geodesic_track(
    lon0: float,
    lat0: float,
    n: int,
    rng: np.random.Generator,
    *,
    step_m: tuple[float, float],
    turn_deg: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fixes ``n + 1`` joined by geodesic steps of random length (m) and heading changes of s.d. ``turn_deg``
    (0: one great circle); returns lon, lat and the true path length (m)."""
    lon, lat, azimuth = [lon0], [lat0], 70.0
    steps = rng.uniform(*step_m, n)
    for d in steps:
        lo, la, back = GEOD.fwd(lon[-1], lat[-1], azimuth, d)
        azimuth = back + 180.0 + rng.normal(0.0, turn_deg)  # the forward azimuth at the new fix, turned
        lon.append(lo)
        lat.append(la)
    return np.array(lon), np.array(lat), float(steps.sum())


def _iso(seconds: np.ndarray, start: str) -> list[str]:
    """ISO 8601 stamps ``seconds`` after ``start`` (written with ``start``'s UTC offset, if any)."""
    return [t.isoformat() for t in pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")]


def _movebank(path, rows: dict[str, list]) -> None:
    pd.DataFrame(rows).to_csv(path, index=False)


def _steps(rec) -> dict[str, dict]:
    return {s["step"]: s for s in data.processing_of(rec)}


@pytest.mark.parametrize(
    ("lon0", "lat0", "turn"),
    [(10.0, 50.0, 0.0), (-70.0, -5.0, 25.0), (179.0, 65.0, 10.0)],  # great circle; winding; antimeridian
    ids=["great_circle", "winding_tropics", "antimeridian_north"],
)
def test_a_lonlat_track_keeps_its_geodesic_length(tmp_path, lon0, lat0, turn):
    rng = np.random.default_rng(3)
    lon, lat, true_length = _geodesic_track(lon0, lat0, 400, rng, step_m=(200.0, 2500.0), turn_deg=turn)
    t = np.concatenate([[0.0], np.cumsum(rng.choice([300.0, 900.0, 3600.0], 400) + rng.uniform(0, 30, 400))])
    path = tmp_path / "movebank.csv"
    _movebank(
        path,
        {
            "event-id": np.arange(t.size),
            "timestamp": _iso(t, "2021-06-01T08:00:00+02:00"),
            "location-long": lon,
            "location-lat": lat,
            "individual-local-identifier": "stork-1",
        },
    )
    rec = data.load(path)
    length = float(analysis.compute_path_length(rec))
    error = length / true_length - 1
    print(f"path {true_length / 1000:.1f} km, measured {length / 1000:.3f} km, error {100 * error:+.4f} %")
    assert abs(error) < MAX_STEP_ERROR
    assert rec.attrs["space_unit"] == "m"
    assert rec.attrs["crs_source"] == "EPSG:4326"
    assert rec.attrs["crs"].startswith("+proj=aeqd") and "+datum=WGS84" in rec.attrs["crs"]
    assert rec.attrs["time_origin"] == "2021-06-01T06:00:00+00:00"  # 08:00 at +02:00, in UTC
    np.testing.assert_allclose(rec["time"].values, t, atol=1e-6)  # irregular intervals, kept as recorded
    assert [str(v) for v in rec["individual"].values] == ["stork-1"]
    step = _steps(rec)["project_lonlat"]
    assert step["projection"] == rec.attrs["crs"]
    assert step["worst_step_error"] < MAX_STEP_ERROR
    # azimuthal equidistant: every fix's distance from the centre is its geodesic distance from the centre
    clon, clat = step["centre_lon_lat"]
    radial = GEOD.inv(np.full(lon.size, clon), np.full(lon.size, clat), lon, lat)[2]
    xy = rec["position"].values[:, :, 0, 0]
    np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), radial, rtol=1e-9, atol=1e-4)
    assert step["extent_km"] == pytest.approx(radial.max() / 1000)


def _albatross(tmp_path) -> tuple[object, float]:
    """A loop of 2000 km radius around a centre in the Southern Ocean (a wandering albatross's scale, about
    12,500 km), longitudes written 0..360 as some loggers do. A loop, not a line: steps along a geodesic
    through the centre keep their length in this projection; steps across the radius do not."""
    rng = np.random.default_rng(5)
    azimuth = np.sort(rng.uniform(0.0, 360.0, 300))
    lon, lat, _ = GEOD.fwd(np.full(300, 170.0), np.full(300, -45.0), azimuth, np.full(300, 2.0e6))
    length = float(GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2].sum())
    t = np.cumsum(np.concatenate([[0.0], rng.uniform(3000.0, 4000.0, 299)]))
    path = tmp_path / "albatross.csv"
    _movebank(
        path,
        {
            "timestamp": _iso(t, "2019-01-05 00:00:00Z"),
            "location-long": np.asarray(lon) % 360.0,
            "location-lat": lat,
            "tag-local-identifier": "T42",
        },
    )
    return path, length


def test_a_track_too_large_for_one_plane_is_refused_and_loads_when_asked(tmp_path):
    path, length = _albatross(tmp_path)
    with pytest.raises(ValueError) as info:
        data.load(path)
    message = str(info.value)
    print(message)
    assert str(path) in message
    assert "km from their centre" in message and "allow_implausible=True" in message
    worst_pct = float(message.split("off by up to ")[1].split(" %")[0])
    assert worst_pct > 100 * MAX_STEP_ERROR
    rec = data.load(path, allow_implausible=True)
    step = _steps(rec)["project_lonlat"]
    assert step["worst_step_error"] == pytest.approx(worst_pct / 100, abs=5e-5)
    assert step["extent_km"] > 1000
    error = float(analysis.compute_path_length(rec)) / length - 1
    print(f"albatross path {length / 1000:.0f} km, planar error {100 * error:+.2f} %, worst {worst_pct} %")
    assert abs(error) > MAX_STEP_ERROR  # the refusal was right: the plane gets the path wrong
    assert abs(error) <= step["worst_step_error"] + 1e-9  # and the recorded worst step bounds it


def test_naive_and_aware_time_stamps(tmp_path):
    """Across the 2021-03-28 change of Central European time: aware stamps give the true interval, naive ones
    the interval as written (one hour more), and the processing step says so."""
    lon, lat = [8.0, 8.01, 8.02, 8.03], [47.0, 47.0, 47.0, 47.0]
    aware = ["2021-03-28T00:30:00+01:00", "2021-03-28T01:30:00+01:00", "2021-03-28T03:30:00+02:00"]
    aware.append("2021-03-28T04:30:00+02:00")
    naive = [s[:-6] for s in aware]
    recs = {}
    for name, stamps in {"aware": aware, "naive": naive}.items():
        path = tmp_path / f"{name}.csv"
        _movebank(path, {"timestamp": stamps, "lon": lon, "lat": lat})
        recs[name] = data.load(path)
    np.testing.assert_allclose(recs["aware"]["time"].values, [0, 3600, 7200, 10800])
    np.testing.assert_allclose(recs["naive"]["time"].values, [0, 3600, 10800, 14400])
    assert recs["aware"].attrs["time_origin"] == "2021-03-27T23:30:00+00:00"
    assert recs["naive"].attrs["time_origin"] == "2021-03-28T00:30:00"
    note = _steps(recs["naive"])["parse_time"]
    assert note["time_zone"] == "none stated"
    assert "no time zone stated: intervals as written" in note["note"] and "one hour" in note["note"]
    assert "UTC" in _steps(recs["aware"])["parse_time"]["time_zone"]


def test_day_first_dates_when_a_day_tells_the_order_and_refused_when_none_does(tmp_path):
    path = tmp_path / "dmy.csv"
    _movebank(
        path, {"time": ["12/03/2021 10:00", "13/03/2021 10:00"], "lon": [8.0, 8.1], "lat": [47.0, 47.0]}
    )
    rec = data.load(path)
    np.testing.assert_allclose(rec["time"].values, [0, 86400])
    assert rec.attrs["time_origin"] == "2021-03-12T10:00:00"
    _movebank(
        path, {"time": ["03/04/2021 10:00", "04/04/2021 10:00"], "lon": [8.0, 8.1], "lat": [47.0, 47.0]}
    )
    with pytest.raises(ValueError, match=r"no day over 12 tells the order.*ISO 8601"):
        data.load(path)


def test_bad_dates_name_their_rows_and_mixed_zones_are_refused(tmp_path):
    stamps = [f"2021-06-01T{h:02d}:00:00Z" for h in range(6)]
    stamps[3] = "2021-06-31T03:00:00Z"  # no 31 June
    path = tmp_path / "bad.csv"
    _movebank(path, {"timestamp": stamps, "location-long": np.linspace(8, 8.1, 6), "location-lat": 47.0})
    with pytest.raises(ValueError) as info:
        data.load(path)
    message = str(info.value)
    assert str(path) in message and "'2021-06-31T03:00:00Z' at file line 5" in message
    assert "columns={'time': 'NAME'}" in message
    stamps[3] = "2021-06-01T03:00:00"  # no zone, among stamps in UTC
    _movebank(path, {"timestamp": stamps, "location-long": np.linspace(8, 8.1, 6), "location-lat": 47.0})
    with pytest.raises(ValueError, match=r"mixes time stamps with a time zone .* without .*file line 5"):
        data.load(path)


def test_seconds_keep_working_with_lonlat(tmp_path):
    path = tmp_path / "seconds.csv"
    lon, lat, length = _geodesic_track(-3.0, 56.0, 50, np.random.default_rng(0), step_m=(5, 20), turn_deg=30)
    _movebank(path, {"time": np.arange(51) * 2.5, "Longitude": lon, "Latitude": lat})
    rec = data.load(path)
    np.testing.assert_allclose(rec["time"].values, np.arange(51) * 2.5)
    assert "time_origin" not in rec.attrs
    assert float(analysis.compute_path_length(rec)) == pytest.approx(length, rel=1e-4)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("lat", 95.0, "column 'lat' has 1 values outside [-90, 90] degrees (first 95 at file line 4)"),
        ("lon", 400.0, "column 'lon' has 1 values outside [-180, 360) degrees (first 400 at file line 4)"),
        ("lon", -181.0, "outside [-180, 360)"),
    ],
)
def test_longitude_and_latitude_out_of_range(tmp_path, column, value, expected):
    table = {"time": [0.0, 1, 2, 3], "lon": [8.0, 8.0, 8.0, 8.0], "lat": [47.0, 47.0, 47.0, 47.0]}
    table[column][2] = value
    path = tmp_path / "range.csv"
    _movebank(path, table)
    with pytest.raises(ValueError) as info:
        data.load(path)
    assert expected in str(info.value) and str(path) in str(info.value)


def test_lonlat_beside_xy_is_a_problem_until_columns_says_which(tmp_path):
    path = tmp_path / "both.csv"
    _movebank(path, {"time": [0.0, 1.0], "x": [0.0, 1.0], "y": [0.0, 0.0], "lon": [8, 8], "lat": [47, 47.0]})
    with pytest.raises(ValueError, match=r"both x/y columns .* and longitude/latitude columns .*columns="):
        data.load(path)
    xy = data.load(path, columns={"x": "x", "y": "y"})
    assert float(analysis.compute_path_length(xy)) == pytest.approx(1.0)
    assert "crs" not in xy.attrs
    geo = data.load(path, columns={"lon": "lon", "lat": "lat"})
    assert float(analysis.compute_path_length(geo)) == pytest.approx(GEOD.inv(8, 47, 8, 47.0)[2], abs=1e-6)
    assert "crs" in geo.attrs
    with pytest.raises(ValueError, match=r"both x/y columns"):  # one of each pair named: still both
        data.load(path, columns={"lon": "lon", "x": "x"})
    _movebank(path, {"time": [0.0, 1.0], "longitude": [8, 8]})
    with pytest.raises(
        ValueError, match=r"missing column 'lat' \(degrees, WGS84\).*columns=\{'lat': 'NAME'\}"
    ):
        data.load(path)


def test_three_animals_on_their_own_clocks_in_one_movebank_table(tmp_path):
    """Each animal keeps its own fixes (``sampled``) and its own geodesic path length."""
    rng = np.random.default_rng(11)
    rows, truth = [], {}
    for k, (name, start, step) in enumerate(
        [("elk-a", 0.0, 3600.0), ("elk-b", 600.0, 7200.0), ("elk-c", 1234.0, 1800.0)]
    ):
        n = {"elk-a": 40, "elk-b": 25, "elk-c": 60}[name]
        lon, lat, length = _geodesic_track(-110.5 + k, 44.6, n, rng, step_m=(100, 800), turn_deg=40)
        t = start + step * np.arange(n + 1) + rng.uniform(0, 60, n + 1)
        truth[name] = (t, length)
        rows.append(
            pd.DataFrame(
                {
                    "tag-local-identifier": f"tag-{k}",  # before the animal's name, as Movebank writes it
                    "timestamp": _iso(t, "2020-09-01T00:00:00-06:00"),
                    "location-long": lon,
                    "location-lat": lat,
                    "individual-local-identifier": name,
                }
            )
        )
    table = pd.concat(rows).sort_values("timestamp", kind="stable")
    path = tmp_path / "elk.csv"
    table.to_csv(path, index=False)
    rec = data.load(path)
    assert "sampled" in rec
    origin = min(t[0] for t, _ in truth.values())
    for name, (t, length) in truth.items():
        own = rec["sampled"].sel(individual=name).values.astype(bool)
        np.testing.assert_allclose(rec["time"].values[own], t - origin, atol=1e-6)
        measured = float(analysis.compute_path_length(rec, individual=name))
        print(f"{name}: {t.size} fixes, path {length:.1f} m, measured {measured:.1f} m")
        assert measured == pytest.approx(length, rel=MAX_STEP_ERROR)


def test_the_crs_survives_save_and_load(tmp_path):
    path = tmp_path / "track.csv"
    _movebank(
        path,
        {"timestamp": ["2021-06-01T00:00:00Z", "2021-06-01T01:00:00Z"], "lon": [8, 8.1], "lat": [47, 47.0]},
    )
    rec = data.load(path)
    back = data.load(data.save(rec, tmp_path / "track.nc"))
    for key in ("crs", "crs_source", "time_origin"):
        assert back.attrs[key] == rec.attrs[key]
    assert [s["step"] for s in data.processing_of(back)][:2] == ["parse_time", "project_lonlat"]


def test_datetime_columns_as_parquet_gives_them():
    """Parquet stores date-times typed (pyarrow is optional here, so the column is given directly)."""
    from neuroethology.data.geography import holds_dates, parse_times

    stamps = pd.Series(pd.to_datetime(["2021-03-28T00:30:00", "2021-03-28T03:30:00", None]))
    aware = stamps.dt.tz_localize("Europe/Berlin")  # 00:30 CET, 03:30 CEST: 2 h apart, 3 h as written
    for series, expected, zone in [(stamps, 10800.0, "none stated"), (aware, 7200.0, "UTC")]:
        assert holds_dates(series)
        problems: list[str] = []
        seconds, step = parse_times(series, "timestamp", problems)
        assert seconds[1] == expected and np.isnan(seconds[2]) and zone in step["time_zone"]
        assert problems == ["column 'timestamp' has 1 empty values (file lines [4])"]
    assert parse_times(aware, "t", [])[1]["time_origin"] == "2021-03-27T23:30:00+00:00"
    assert not holds_dates(pd.Series(["0.5", "1.5", "x"]))  # mostly seconds: a bad cell, not dates


def test_a_table_without_any_fix_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "empty_fixes.csv"
    path.write_text("timestamp,location-long,location-lat\n2021-06-01T00:00Z,,\n2021-06-01T01:00Z,,\n")
    with pytest.raises(ValueError, match=r"(?s)empty_fixes.csv .*never tracked"):
        data.load(path)
