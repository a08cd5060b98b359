"""Geography for long tables: longitude/latitude columns projected onto the metre plane every Recording lives
in, and date/time strings turned into seconds.

Why a projection, and which: every analysis works on positions ``(x, y)`` in metres in one plane, so fixes
in degrees must be projected, and no projection keeps every distance of a curved surface. The projection is
a local azimuthal equidistant one on WGS84 centred on the fixes' centre (Snyder 1987, *Map projections: a
working manual*, USGS PP 1395, ch. 25; PROJ ``aeqd``, ellipsoidal form by geodesics, Karney 2013 J Geod
87:43): distances from the centre are exact and the scale across them grows as ``c / sin c`` (``c`` the
angular distance from the centre), about 0.1 % at 500 km and 0.4 % at 1000 km. The distortion is measured
on the track itself, every step's projected length against its geodesic length, and a track whose worst
step is off by more than :data:`MAX_STEP_ERROR` is refused (``allow_implausible=True`` loads it anyway):
a planar Recording cannot hold it correctly, and the user may split it. The projection, its centre, extent
and worst step error are recorded in ``processing``; ``attrs['crs']`` is the PROJ string of the plane and
``attrs['crs_source']`` the CRS of the file (``EPSG:4326``).

Date/time strings (ISO 8601, or ``D/M/YYYY`` / ``M/D/YYYY`` where a day over 12 tells the order) become
seconds since the first fix, ``attrs['time_origin']`` (ISO 8601). Stamps with a UTC offset are converted to
UTC; stamps without one are taken as written, and the processing step says so (no zone is assumed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "MAX_STEP_ERROR",
    "MOVEBANK_INDIVIDUAL_NAMES",
    "holds_dates",
    "lonlat_problems",
    "parse_times",
    "position_role_problems",
    "project_lonlat",
]

#: Column names (any case) of longitude and latitude in degrees (Movebank's ``location-long``/``-lat``).
LON_NAMES = ("lon", "long", "lng", "longitude", "location-long", "location_long")
LAT_NAMES = ("lat", "latitude", "location-lat", "location_lat")
#: Movebank's names of the animal (or the tag) a fix belongs to.
MOVEBANK_INDIVIDUAL_NAMES = ("individual-local-identifier", "tag-local-identifier")
#: Largest relative error of a projected step length (0.5 %: the bound a planar Recording is held to).
MAX_STEP_ERROR = 0.005
#: The CRS of longitude/latitude in degrees on WGS84 (what GPS and Movebank give).
CRS_SOURCE = "EPSG:4326"

_MISSING_TEXT = ("", "nan", "NaN", "NAN", "NA", "N/A", "null", "None", "NaT")
# a clock time followed by a zone: Z, UTC, GMT or an offset +hh, +hhmm, +hh:mm
_ZONE = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_DAY_MONTH = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)$"  # D/M/YYYY or M/D/YYYY (or with . or -)
_YEAR_FIRST = r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(.*)$"  # YYYY/MM/DD


# ---------------------------------------------------------------------------------------------- columns


def position_role_problems(
    role: dict[str, str | None], given: Mapping[str, str], found: list[str]
) -> list[str]:
    """Decide whether a table's positions are ``x``/``y`` (metres) or ``lon``/``lat`` (degrees); ``role`` is
    updated in place (an unused pair set to ``None``). Returns every problem: a pair incomplete, both pairs
    present, or neither."""
    problems: list[str] = []
    geo_given = [k for k in ("lon", "lat") if k in given]
    xy_given = [k for k in ("x", "y") if k in given]
    if xy_given and not geo_given:  # the user named x/y: stray lon/lat-like columns are not positions
        role["lon"] = role["lat"] = None
    elif geo_given and not xy_given:
        role["x"] = role["y"] = None
    has_geo = role["lon"] is not None or role["lat"] is not None
    has_xy = role["x"] is not None or role["y"] is not None
    if has_geo and not (role["lon"] and role["lat"]) and not geo_given and has_xy:
        role["lon"] = role["lat"] = None  # one lon- or lat-like column beside x, y: not a coordinate pair
        has_geo = False
    if has_geo and has_xy:
        problems.append(
            f"both x/y columns ({role['x']!r}, {role['y']!r}) and longitude/latitude columns "
            f"({role['lon']!r}, {role['lat']!r}): name the pair to use with columns= "
            "(roles x and y for metres, or lon and lat for degrees)"
        )
        return problems
    pair = ("lon", "lat") if has_geo else ("x", "y")
    what = "degrees, WGS84" if has_geo else "positions"
    for key in pair:
        if role[key] is None and key not in given:
            problems.append(
                f"missing column {key!r} ({what}); the file has columns {found}; name it: "
                f"columns={{'{key}': 'NAME'}}"
                + ("" if has_geo else " (or the roles lon and lat in columns= for degrees)")
            )
    return problems


def lonlat_problems(lon: np.ndarray, lat: np.ndarray, lon_col: str, lat_col: str) -> list[str]:
    """Longitudes outside [-180, 360) and latitudes outside [-90, 90], with the file line of the first."""
    problems = []
    for values, column, low, high, closed in (
        (lon, lon_col, -180.0, 360.0, False),
        (lat, lat_col, -90.0, 90.0, True),
    ):
        outside = np.isfinite(values) & ((values < low) | ((values > high) if closed else (values >= high)))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            bracket = "]" if closed else ")"
            problems.append(
                f"column {column!r} has {int(outside.sum())} values outside [{low:g}, {high:g}{bracket} degrees "
                f"(first {values[i]:g} at file line {i + 2}); expected WGS84 degrees: are the columns "
                "swapped, or in metres? name the right ones with columns= (roles lon and lat, or x and y)"
            )
    return problems


# ------------------------------------------------------------------------------------------- projection


def _centre(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    """The fixes' centre (degrees): the mean of their unit vectors, so tracks across the antimeridian or
    near a pole are centred where they are."""
    lam, phi = np.radians(lon), np.radians(lat)
    v = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)]).mean(axis=1)
    return float(np.degrees(np.arctan2(v[1], v[0]))), float(
        np.degrees(np.arctan2(v[2], np.hypot(v[0], v[1])))
    )


def project_lonlat(
    lon: np.ndarray,
    lat: np.ndarray,
    track: np.ndarray,
    stamps: np.ndarray,
    names: Sequence[str],
    role: Mapping[str, str | None],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any], list[str]]:
    """Project WGS84 degrees onto a local azimuthal equidistant plane (metres) centred on the fixes and
    measure its distortion over the track.

    Args:
        lon, lat: ``(row,)`` degrees (NaN where not given).
        track: ``(row,)`` the track each row belongs to (individual and keypoint).
        stamps: ``(row,)`` times, strictly increasing within each track.
        names: each track's name, for the message.
        role: the table's column of each role (``lon``, ``lat``), for the message.

    Returns:
        ``x, y`` (row,) metres (NaN where not given); the processing step (projection as a PROJ string,
        centre, extent, worst step error); and the refusal (one problem, or none) when the worst relative
        step error exceeds :data:`MAX_STEP_ERROR`.
    """
    from pyproj import Geod, Transformer

    ok = np.isfinite(lon) & np.isfinite(lat)
    x, y = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    lon0, lat0 = (round(v, 8) for v in _centre(lon[ok], lat[ok])) if ok.any() else (0.0, 0.0)  # as stated
    proj = f"+proj=aeqd +lat_0={lat0:.8f} +lon_0={lon0:.8f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    x[ok], y[ok] = Transformer.from_crs(CRS_SOURCE, proj, always_xy=True).transform(lon[ok], lat[ok])
    geod = Geod(ellps="WGS84")
    extent = float(
        np.max(geod.inv(np.full(ok.sum(), lon0), np.full(ok.sum(), lat0), lon[ok], lat[ok])[2], initial=0)
    )
    rows = np.flatnonzero(ok)
    rows = rows[np.lexsort((stamps[rows], track[rows]))]  # each track's fixes in time order
    a, b = rows[:-1], rows[1:]
    a, b = a[track[a] == track[b]], b[track[a] == track[b]]
    geodesic = geod.inv(lon[a], lat[a], lon[b], lat[b])[2]
    planar = np.hypot(x[b] - x[a], y[b] - y[a])
    moved = geodesic > 1e-3  # steps under a millimetre have no measurable relative error
    error = np.abs(planar[moved] - geodesic[moved]) / geodesic[moved]
    worst = float(error.max()) if error.size else 0.0
    worst_row = int(b[moved][np.argmax(error)]) if error.size else -1
    step = {
        "step": "project_lonlat",
        "projection": proj,
        "crs_source": CRS_SOURCE,
        "centre_lon_lat": [lon0, lat0],
        "extent_km": extent / 1000.0,
        "n_steps_checked": int(error.size),
        "worst_step_error": worst,
        "max_step_error": MAX_STEP_ERROR,
        "note": "local azimuthal equidistant projection on WGS84 centred on the fixes: distances from the "
        "centre are exact, step lengths are off by at most worst_step_error (relative)",
    }
    refusal = []
    if worst > MAX_STEP_ERROR:
        refusal.append(
            f"columns {role['lon']!r}/{role['lat']!r} span up to {extent / 1000:,.0f} km from their centre "
            f"(lon {lon0:.4f}, lat {lat0:.4f}): projected onto one plane (azimuthal equidistant, WGS84) their "
            f"step lengths are off by up to {100 * worst:.2f} % (worst at file line {worst_row + 2}, "
            f"{names[int(track[worst_row])]}), over the {100 * MAX_STEP_ERROR:g} % a planar Recording can "
            "hold correctly; load the track in parts (split the file by region or time), or pass "
            f"allow_implausible=True to load it anyway with distances off by up to {100 * worst:.2f} %"
        )
    return x, y, step, refusal


# ------------------------------------------------------------------------------------------------ times


def holds_dates(series) -> bool:
    """Whether a time column holds dates: a datetime column, or text of which fewer than half of the
    non-empty cells are numbers (seconds)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series):
        return False
    text = series.astype("string").str.strip().fillna("")
    text = text[~text.isin(_MISSING_TEXT)]
    if text.empty:
        return False
    numbers = pd.to_numeric(text, errors="coerce").notna()
    return bool(numbers.mean() < 0.5) and bool(text.str.contains(r"\d", regex=True).any())


def _as_iso(text, column: str, problems: list[str]):
    """Date strings in ``D/M/YYYY`` or ``M/D/YYYY`` (the order told by a day over 12) and ``YYYY/MM/DD``
    rewritten as ISO 8601 dates; an order no value tells, or two orders, are problems."""
    year_first = text.str.extract(_YEAR_FIRST)
    has = year_first[0].notna()
    text = text.where(~has, year_first[0] + "-" + year_first[1] + "-" + year_first[2] + year_first[3])
    parts = text.str.extract(_DAY_MONTH)
    has = parts[0].notna()
    if not has.any():
        return text
    first, second = parts[0][has].astype(int), parts[1][has].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    example = f"{text[has].iloc[0]!r} at file line {int(np.flatnonzero(has.to_numpy())[0]) + 2}"
    if day_first == month_first:
        why = "both day-first and month-first values" if day_first else "no day over 12 tells the order"
        problems.append(
            f"column {column!r} has dates written D/M/YYYY or M/D/YYYY (e.g. {example}) and {why}; "
            "write them as ISO 8601 (YYYY-MM-DD hh:mm:ss, with +hh:mm if the zone is known)"
        )
        return text
    day, month = (parts[0], parts[1]) if day_first else (parts[1], parts[0])
    return text.where(~has, parts[2] + "-" + month + "-" + day + parts[3])


def _zones(text, missing, column: str, problems: list[str]) -> bool:
    """Whether the stamps state their zone (all of them; a mixture is a problem)."""
    zoned = text.str.contains(_ZONE, regex=True) & ~missing
    if zoned.any() and not (zoned | missing).all():
        naive = int(np.flatnonzero((~zoned & ~missing).to_numpy())[0])
        aware = int(np.flatnonzero(zoned.to_numpy())[0])
        problems.append(
            f"column {column!r} mixes time stamps with a time zone (e.g. {text.iloc[aware]!r} at file line "
            f"{aware + 2}) and without (e.g. {text.iloc[naive]!r} at file line {naive + 2}); "
            "give every stamp its UTC offset, or none"
        )
    return bool(zoned.any())


def parse_times(series, column: str, problems: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Date/time stamps as seconds since the first one (NaN where empty or unparsable, named in
    ``problems`` with their file lines).

    Returns:
        ``(row,)`` seconds, and the processing step (with ``time_origin``, the first stamp as ISO 8601:
        UTC when the stamps state their zone, as written when they do not).
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.Series(series)
        aware = stamps.dt.tz is not None
        stamps = stamps.dt.tz_convert("UTC") if aware else stamps
        missing = stamps.isna()
    else:
        text = series.astype("string").str.strip().fillna("").reset_index(drop=True)
        missing = text.isin(_MISSING_TEXT)
        aware = _zones(text, missing, column, problems)
        iso = _as_iso(text, column, problems)
        stamps = pd.to_datetime(iso.where(~missing), format="ISO8601", utc=True, errors="coerce")
        stamps = stamps if aware else stamps.dt.tz_localize(None)  # naive: the clock as written
        bad = (stamps.isna() & ~missing).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(
                f"column {column!r} has {int(bad.sum())} values that are neither seconds nor date-times "
                f"(e.g. {text.iloc[i]!r} at file line {i + 2}); expected ISO 8601 such as "
                "2021-06-01T12:00:00+02:00 (or seconds); name another column: columns={'time': 'NAME'}"
            )
    empty = np.flatnonzero(missing.to_numpy())
    if empty.size:
        problems.append(
            f"column {column!r} has {empty.size} empty values (file lines {(empty[:5] + 2).tolist()})"
        )
    origin = stamps.min()
    seconds = (stamps - origin).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    time_origin = origin.isoformat() if not pd.isna(origin) else ""
    note = (
        "date-times with their UTC offsets, converted to UTC; time is seconds since the first fix"
        if aware
        else "no time zone stated: intervals as written (time is seconds since the first fix); if the "
        "clock was local time with daylight saving, an interval across a change is one hour off"
    )
    step = {
        "step": "parse_time",
        "column": column,
        "time_zone": "UTC (converted from the stated offsets)" if aware else "none stated",
        "time_origin": time_origin,
        "note": note,
    }
    return seconds, step
