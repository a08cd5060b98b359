"""Trial tables: one row per trial (choice, outcome, reaction time, conditions), of animals and agents.

Two-choice and maze tasks are analysed trial by trial, not sample by sample. A *trial dataset* is the one
format every trial measure reads (:mod:`neuroethology.analysis.trials`): :func:`load_trials` reads a lab's
trial table (CSV, TSV, Parquet or a pandas DataFrame) into it, and
:func:`neuroethology.analysis.compute_trials` builds it from a simulated (or tracked) Recording; both go
through :func:`trials_from_arrays`, so the names, dtypes and units cannot drift apart. A table of two sessions
of one mouse prints as::

    <xarray.Dataset> Size: 2kB
    Dimensions:        (trial: 6)
    Coordinates:
      * trial          (trial) int64 48B 0 1 2 3 4 5
        subject        (trial) <U2 48B 'm1' 'm1' 'm1' 'm1' 'm1' 'm1'
        session        (trial) <U10 240B '2024-03-01' '2024-03-01' ... '2024-03-02'
    Data variables:
        choice         (trial) int64 48B 0 1 -1 1 1 0
        correct        (trial) float64 48B 1.0 1.0 nan 0.0 1.0 1.0
        reaction_time  (trial) float64 48B 0.412 0.388 nan 0.57 0.301 0.45
        reward         (trial) float64 48B nan nan nan nan nan nan
        rewarded       (trial) bool 6B True True False False True True
        time           (trial) float64 48B nan nan nan nan nan nan
        trial_number   (trial) int64 48B 0 1 2 0 1 2
        stimulus       (trial) float64 48B -0.25 0.5 0.0 -0.125 1.0 -1.0
    Attributes:
        ds_type:      trials
        source_file:  /data/m1_trials.csv
        processing:   [{"step": "read_trial_table", "columns": {"choice": "Resp", ...

* ``trial`` (dim and coord): the rows in the order of the table (or of the recording), 0, 1, ...
* ``subject``, ``session`` (coords, strings): whose trial, in which session (a table's labels as written; a
  Recording's individual and episode).
* ``choice`` int: the option chosen, 0 (left) or 1 (right) in two-choice tasks, 0, 1, 2, ... in others;
  ``-1`` an omission (no choice: an empty or missing value is an omission, never a dropped row).
* ``correct`` float: 1 correct, 0 wrong, NaN unknown. ``reaction_time`` float, seconds from the stimulus
  (or go signal) to the choice, NaN unknown. ``reward`` float, the reward delivered (NaN unknown);
  ``rewarded`` bool, the trial was a "win" (reward > 0, or, in a table with no reward column, correct: the
  ``processing`` log says which); where an outcome is unknown, ``outcome_known`` bool is False there (the
  trial is then no loss: win-stay/lose-shift leaves it out). ``time`` float, seconds of the trial on the
  session's clock (NaN unknown).
* ``trial_number`` int: the trial's number within its session; consecutive trials (for win-stay/lose-shift
  and history regressions) are neighbouring rows of one subject and session whose numbers differ by 1.
* Condition variables, any of ``stimulus`` (signed evidence: negative favours option 0, positive option 1;
  the default stimulus of the curves), ``contrast``, ``coherence``, ``condition``, a Recording's ``cue``,
  and a table's other columns under their own names.
* Attributes: ``ds_type = "trials"``, ``source_file`` and ``processing`` (a JSON list of steps, as in
  Recordings: the columns used, the choice labels' mapping, the omissions counted, unit conversions).

Length: the table reader (column roles, choice labels, time units, omissions) and the one dataset builder
that Recordings also go through are one contract; split, the reader's checks and the builder's would drift.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..problems import ProblemsError
from ._raw import reading
from .formats import require_parquet_engine
from .schema import jsonable

__all__ = ["TRIAL_COLUMNS", "TRIAL_VARIABLES", "as_trials", "is_trials", "load_trials", "trials_from_arrays"]

#: The variables every trial dataset has (conditions come on top).
TRIAL_VARIABLES = ("choice", "correct", "reaction_time", "reward", "rewarded", "time", "trial_number")

#: The column names recognised for each role (compared after lower-casing, camelCase split and every run of
#: other characters turned into one ``_``: ``"RT (ms)"`` is ``rt_ms``, ``"reactionTime"`` ``reaction_time``).
#: ``columns={"role": "column"}`` overrides them.
TRIAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "choice": ("choice", "response", "resp", "chosen", "choice_side", "response_side"),
    "correct": ("correct", "outcome", "hit", "is_correct", "accuracy", "correct_response"),
    "reaction_time": ("reaction_time", "rt", "response_time", "rt_s", "reaction_time_s", "response_time_s"),
    "reaction_time_ms": ("reaction_time_ms", "rt_ms", "response_time_ms"),
    "reward": ("reward", "reward_amount", "reward_volume", "reward_size"),
    "rewarded": ("rewarded", "is_rewarded"),
    "stimulus": ("stimulus", "stim", "signed_contrast", "signed_coherence", "signed_stimulus", "evidence"),
    "contrast": ("contrast",),
    "coherence": ("coherence", "coh"),
    "condition": ("condition", "cond"),
    "subject": ("subject", "animal", "mouse", "rat", "subject_id", "animal_id", "mouse_id", "participant"),
    "session": ("session", "date", "session_id", "session_date", "day"),
    "trial_number": ("trial_number", "trial", "trial_num", "trial_id", "trial_index", "trial_in_session"),
    "time": ("time", "trial_start", "start_time", "choice_time", "trial_time"),
}
_CONDITIONS = ("stimulus", "contrast", "coherence", "condition")
_MISSING = {"", "nan", "na", "n/a", "none", "null", "-", "omission", "omitted", "no_response", "no response"}
_SIDES = {"left": 0, "l": 0, "right": 1, "r": 1}
_TRUTH = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "correct": 1.0}
_TRUTH |= {"incorrect": 0.0, "error": 0.0, "wrong": 0.0}
RT_SECONDS_SUSPICIOUS = 20.0  # s: a median "reaction time" above this is almost surely milliseconds


# ------------------------------------------------------------------------------------------- the format


def trials_from_arrays(
    *,
    choice: Any,
    correct: Any = None,
    reaction_time: Any = None,
    reward: Any = None,
    rewarded: Any = None,
    time: Any = None,
    trial_number: Any = None,
    subject: Any = "subject",
    session: Any = "0",
    conditions: Mapping[str, Any] | None = None,
    source_file: str = "",
    processing: Sequence[Mapping[str, Any]] = (),
) -> xr.Dataset:
    """The trial dataset (see the module docstring) of ``n`` trials from arrays of length ``n``.

    Args:
        choice: option numbers, ``-1`` for omissions.
        correct, reaction_time (s), reward, time (s): per trial, NaN unknown; ``None``: all unknown.
        rewarded: per trial (NaN: unknown); ``None``: ``reward > 0`` (unknown where reward is NaN). Where
            some outcome is unknown the dataset gets ``outcome_known (trial)`` bool, and analyses that need
            the outcome leave those trials out.
        trial_number: per trial; ``None``: 0, 1, ... within each run of rows of one subject and session.
        subject, session: one label for all trials or one per trial (stored as strings).
        conditions: further per-trial variables (``stimulus``, ``cue``, ...).
        source_file, processing: the attributes (``processing``: the steps, oldest first).
    """
    ch = np.asarray(choice)
    n = ch.size
    if ch.ndim != 1 or (n and not np.all(np.isfinite(ch.astype(float)))):
        raise ValueError(f"trials_from_arrays: choice must be a 1-D array of option numbers, got {ch!r}")
    ch = ch.astype(np.int64)
    if (ch < -1).any():
        raise ValueError(f"trials_from_arrays: choices are option numbers >= 0 or -1, got {np.unique(ch)}")

    def per_trial(name: str, value: Any, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(n, fill, dtype) if value is None else np.asarray(value).astype(dtype)
        if out.ndim == 0:
            out = np.full(n, out, out.dtype)
        if out.shape != (n,):
            raise ValueError(
                f"trials_from_arrays: {name} has shape {out.shape}, expected ({n},) (one per trial)"
            )
        return out

    rw = per_trial("reward", reward, np.nan, float)
    won = rw > 0 if rewarded is None else per_trial("rewarded", rewarded, np.nan, float)
    known = np.isfinite(rw) if rewarded is None else np.isfinite(won)
    subj = per_trial("subject", None if subject is None else np.asarray(subject, str), "", str)
    sess = per_trial("session", None if session is None else np.asarray(session, str), "", str)
    if trial_number is None:
        new_run = np.r_[True, (subj[1:] != subj[:-1]) | (sess[1:] != sess[:-1])] if n else np.zeros(0, bool)
        start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0)) if n else np.zeros(0, int)
        trial_number = np.arange(n) - start
    variables = {
        "choice": ("trial", ch, {"flag_meanings": "option number; -1 omission"}),
        "correct": ("trial", per_trial("correct", correct, np.nan, float), {"units": "1"}),
        "reaction_time": ("trial", per_trial("reaction_time", reaction_time, np.nan, float), {"units": "s"}),
        "reward": ("trial", rw),
        "rewarded": ("trial", np.where(known, won, 0).astype(bool)),
        "time": ("trial", per_trial("time", time, np.nan, float), {"units": "s"}),
        "trial_number": ("trial", per_trial("trial_number", trial_number, -1, np.int64)),
    }
    if not known.all():
        variables["outcome_known"] = (
            "trial",
            known,
            {"description": "False: rewarded is unknown (not a loss)"},
        )
    for name, value in (conditions or {}).items():
        if name in variables or name in ("trial", "subject", "session"):
            raise ValueError(f"trials_from_arrays: condition {name!r} has the name of a trial variable")
        arr = np.asarray(value)
        kind = arr.dtype.kind
        variables[name] = (
            "trial",
            per_trial(name, arr, np.nan, float if kind == "f" else arr.dtype if kind in "iub" else str),
        )
    return xr.Dataset(
        variables,
        coords={
            "trial": np.arange(n, dtype=np.int64),
            "subject": ("trial", subj),
            "session": ("trial", sess),
        },
        attrs={
            "ds_type": "trials",
            "source_file": str(source_file),
            "processing": json.dumps(jsonable(list(processing))),
        },
    )


def is_trials(ds: Any) -> bool:
    """Whether ``ds`` is laid out as a trial dataset (dim ``trial``, no ``time``), not a Recording."""
    return isinstance(ds, xr.Dataset) and "trial" in ds.dims and "time" not in ds.dims


def as_trials(trials: Any, *, caller: str) -> xr.Dataset:
    """``trials`` checked to be a trial dataset (raises one ValueError naming everything missing)."""
    if not isinstance(trials, xr.Dataset):
        raise ValueError(f"{caller}: expected a trial dataset (xarray.Dataset), got {type(trials).__name__}")
    if "trial" not in trials.dims and "time" in trials.dims:
        raise ValueError(
            f"{caller}: this is a Recording (dim 'time'), not a trial dataset; make one row per trial with "
            "neuroethology.analysis.compute_trials(rec) or read a trial table with load_trials(path)"
        )
    missing = [v for v in (*TRIAL_VARIABLES, "subject", "session") if v not in trials.variables]
    if "trial" not in trials.dims or missing:
        raise ValueError(
            f"{caller}: not a trial dataset (dim 'trial' and variables {', '.join(TRIAL_VARIABLES)}, "
            f"subject, session expected); missing: {missing or ['dim trial']}. Build one with load_trials or "
            "compute_trials"
        )
    return trials


# ------------------------------------------------------------------------------------------- the reader


def load_trials(
    path_or_dataframe: str | os.PathLike | Any,
    *,
    columns: Mapping[str, str] | None = None,
    choice_map: Mapping[Any, int] | None = None,
    subject: str | None = None,
    session: str | None = None,
) -> xr.Dataset:
    """Read a trial table (one row per trial) into a trial dataset (see the module docstring).

    Columns are recognised by the names in :data:`TRIAL_COLUMNS` (any case, spaces or camelCase); every
    other column is kept as a variable under its name in snake_case. Choices may be option numbers (0, 1,
    ...), ``left``/``right`` or ``L``/``R`` (any case), mapped 0 left, 1 right; an empty value (or ``nan``,
    ``none``, ``omission``, ``no response``, ``-1`` beside 0 and 1) is an omission, ``choice = -1``: rows are
    never dropped. The mapping used and the omissions counted are in ``attrs["processing"]``.

    Args:
        path_or_dataframe: a ``.csv``, ``.tsv`` or ``.parquet``/``.pq`` file (Parquet needs the optional
            ``parquet`` extra: ``pip install 'neuroethology[parquet]'``), or a pandas DataFrame.
        columns: ``{role: column}`` for columns whose names are not recognised, roles as in
            :data:`TRIAL_COLUMNS`; reaction times in milliseconds are declared with the role
            ``reaction_time_ms`` (a column named ``rt_ms`` or ``reaction_time_ms`` is read so without it).
        choice_map: ``{label: option}`` for other choice codings, e.g. ``{-1: 0, 1: 1, 0: -1}`` for choices
            coded -1/+1 with 0 for no-go; labels not in it are refused.
        subject: with a subject column, keep only this subject's rows (the others are counted in
            ``processing``); without one, the subject of every row (default: the file's name, ``"subject"``
            for a DataFrame).
        session: the same for sessions (default without a session column: ``"0"``).

    Returns:
        The trial dataset, rows in the table's order.

    Raises:
        ProblemsError (a ValueError): every problem found, naming the file, the column, what was expected and
            the keyword to fix it (``columns=``, ``choice_map=``).
        ImportError: a Parquet file without pyarrow installed.
    """
    source, frame, problems = _read_table(path_or_dataframe)
    found = [str(c) for c in frame.columns]
    roles = _column_roles(found, columns, problems)
    if problems:
        raise ProblemsError(source, problems, what="cannot be loaded as a trial table")
    text = {role: _text(frame[col]) for role, col in roles.items()}
    steps: list[dict[str, Any]] = [{"step": "read_trial_table", "n_rows": len(frame), "columns": roles}]
    choice, choice_step = _choices(text["choice"], roles["choice"], choice_map, problems)
    steps += [choice_step] if choice_step else []
    values = {role: _parse_role(role, text[role], roles[role], problems) for role in text if role != "choice"}
    rt = _reaction_time(values, roles, columns, problems, steps)
    extra = {c: _text(frame[c]) for c in found if c not in roles.values()}
    given = {"subject": subject, "session": session}
    subj, sess, keep = _select(len(frame), values, roles, given, source, steps, problems)
    if problems:
        raise ProblemsError(source, problems, what="cannot be loaded as a trial table")
    rewarded = _rewarded(values, steps)
    conditions = {role: values[role] for role in _CONDITIONS if role in values}
    renamed = _extra_names(extra, set(conditions))
    conditions |= {renamed[c]: _auto_values(v) for c, v in extra.items()}
    if renamed:
        steps.append({"step": "extra_columns", "variables": renamed})
    steps.append(
        {"step": "omissions", "n_omissions": int((choice[keep] < 0).sum()), "n_trials": int(keep.sum())}
    )
    return trials_from_arrays(
        choice=choice[keep],
        correct=_pick(values.get("correct"), keep),
        reaction_time=_pick(rt, keep),
        reward=_pick(values.get("reward"), keep),
        rewarded=_pick(rewarded, keep),
        time=_pick(values.get("time"), keep),
        trial_number=_pick(values.get("trial_number"), keep),
        subject=subj[keep],
        session=sess[keep],
        conditions={k: v[keep] for k, v in conditions.items()},
        source_file=source if not source.startswith("<") else "",
        processing=steps,
    )


def _select(
    n: int,
    values: dict[str, np.ndarray],
    roles: dict[str, str],
    given: dict[str, str | None],
    source: str,
    steps: list[dict[str, Any]],
    problems: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(subject, session, keep)``: each row's labels, and the rows of the ``subject=`` / ``session=`` asked
    for where the table has that column (the rows left out counted in ``steps``)."""
    defaults = {"subject": Path(source).stem if not source.startswith("<") else "subject", "session": "0"}
    keep = np.ones(n, bool)
    labels = {}
    for name, value in given.items():
        if name not in values:
            labels[name] = np.full(n, defaults[name] if value is None else str(value))
            continue
        labels[name] = values[name]
        if value is None:
            continue
        match = values[name] == str(value)
        keep &= match
        if not match.any():
            problems.append(
                f"{name}={value!r} matches no row of column {roles[name]!r}; "
                f"it has {sorted(set(values[name]))}"
            )
        steps.append({"step": f"select_{name}", name: str(value), "n_rows_left_out": int((~match).sum())})
    return labels["subject"], labels["session"], keep


def _pick(values: np.ndarray | None, keep: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[keep]


def _read_table(obj: Any) -> tuple[str, Any, list[str]]:
    """``(source, DataFrame, problems)``: a DataFrame as given, or the file read as text (CSV/TSV) or as
    stored (Parquet)."""
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        frame = obj.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        return "<DataFrame>", frame.reset_index(drop=True), []
    if not isinstance(obj, (str, os.PathLike)):
        raise TypeError(f"load_trials: expected a file path or a pandas DataFrame, got {type(obj).__name__}")
    path = Path(obj).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        require_parquet_engine(path)
        with reading(path, "a Parquet table"):
            frame = pd.read_parquet(path)
        frame.columns = [str(c).strip() for c in frame.columns]
        return str(path), frame, []
    if suffix not in (".csv", ".tsv", ".txt"):
        expected = f"a trial table is a .csv, .tsv or .parquet file (or a pandas DataFrame), not {suffix!r}"
        raise ProblemsError(str(path), [expected], what="cannot be loaded as a trial table")
    sep = "\t" if suffix == ".tsv" else ","
    with reading(path, "a CSV table" if sep == "," else "a TSV table"):
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return str(path), frame, _short_rows(path, sep, len(frame.columns))


def _short_rows(path: Path, sep: str, n_fields: int) -> list[str]:
    """A problem naming the rows with fewer fields than the header (pandas would pad them silently)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        short = [reader.line_num for row in reader if any(c.strip() for c in row) and len(row) < n_fields]
    return (
        [f"lines {short[:10]} have fewer fields than the header's {n_fields} (truncated?)"] if short else []
    )


def _snake_name(name: str) -> str:
    """The name compared: ``"RT (ms)"`` -> ``"rt_ms"``, ``"reactionTime"`` -> ``"reaction_time"``."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip())
    return re.sub(r"[^0-9a-z]+", "_", split.lower()).strip("_")


def _column_roles(found: list[str], columns: Mapping[str, str] | None, problems: list[str]) -> dict[str, str]:
    """The column of each role present: those ``columns=`` gives, then those recognised by name (a column
    named exactly as the role wins over its aliases; two aliases of one role are a problem)."""
    given = dict(columns or {})
    for role in sorted(set(given) - set(TRIAL_COLUMNS)):
        problems.append(f"columns= names an unknown role {role!r}; the roles are {sorted(TRIAL_COLUMNS)}")
    roles: dict[str, str] = {}
    for role, col in given.items():
        if role not in TRIAL_COLUMNS:
            continue
        if col in found:
            roles[role] = col
        else:
            problems.append(
                f"column {col!r} (given as columns={{{role!r}: {col!r}}}) is not in the table; "
                f"its columns are {found}"
            )
    claimed = set(roles.values())
    for role, aliases in TRIAL_COLUMNS.items():
        if role in given:
            continue
        matches = [c for c in found if c not in claimed and _snake_name(c) in aliases]
        exact = [c for c in matches if _snake_name(c) == role]
        if len(matches) > 1 and len(exact) != 1:
            problems.append(
                f"columns {matches} all look like the {role} column; say which with columns={{{role!r}: ...}}"
            )
        elif matches:
            roles[role] = exact[0] if exact else matches[0]
            claimed.add(roles[role])
    if "reaction_time" in roles and "reaction_time_ms" in roles:
        problems.append(
            f"columns {roles['reaction_time']!r} (seconds) and {roles['reaction_time_ms']!r} (milliseconds) "
            "both look like reaction times; keep one with columns={'reaction_time': ...} or "
            "{'reaction_time_ms': ...}"
        )
    if "choice" not in roles and "choice" not in given:
        problems.append(
            f"no choice column: expected one named {' / '.join(TRIAL_COLUMNS['choice'])} (any case); "
            f"the table has columns {found}; name it with columns={{'choice': 'your column'}}"
        )
    return roles


def _text(series: Any) -> np.ndarray:
    """A column as stripped strings, ``""`` where missing (NaN, None, NaT or empty)."""
    import pandas as pd

    missing = pd.isna(series).to_numpy()
    text = series.astype(str).str.strip().to_numpy(dtype=str)
    return np.where(missing, "", text)


def _numbers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, bad)``: floats (NaN for missing labels) and where a non-missing label is not a number."""
    values = np.full(text.size, np.nan)
    bad = np.zeros(text.size, bool)
    for i, t in enumerate(text):
        if t.lower() in _MISSING:
            continue
        try:
            values[i] = float(t)
        except ValueError:
            bad[i] = True
    return values, bad


def _examples(text: np.ndarray, mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    labels = sorted(set(text[mask].tolist()))
    return f"{labels[:8]} (rows {rows[:8].tolist()}{', ...' if rows.size > 8 else ''})"


def _choices(
    text: np.ndarray, col: str, choice_map: Mapping[Any, int] | None, problems: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Option numbers (-1 omissions) and the processing step saying how the labels were mapped."""
    missing = np.array([t.lower() in _MISSING for t in text], bool)
    out = np.full(text.size, -1, np.int64)
    fix = (
        "give the coding with choice_map={label: option} or name another column with columns={'choice': ...}"
    )
    if choice_map is not None:
        lookup = {str(k).strip().lower(): int(v) for k, v in choice_map.items()}
        numeric = {float(k): int(v) for k, v in choice_map.items() if _is_number(k)}
        mapping: dict[str, int] = {}
        for i, t in enumerate(text):
            key = t.lower()
            code = lookup.get(key, numeric.get(float(t)) if _is_number(t) else None)
            if code is None and not missing[i]:
                continue
            out[i] = -1 if code is None else code
            if code is not None:
                mapping[t] = code
        unmapped = ~missing & ~np.isin(text, list(mapping))
        if unmapped.any():
            problems.append(
                f"column {col!r} (choice) has labels not in choice_map: {_examples(text, unmapped)}"
            )
        return out, {"step": "map_choices", "column": col, "mapping": mapping, "source": "choice_map="}
    sides = np.array([t.lower() in _SIDES for t in text], bool)
    values, bad = _numbers(text)
    is_num = ~missing & ~bad
    expected = "option numbers 0, 1, ... or left/right, L/R (empty for an omission)"
    if (sides & ~missing).any() and is_num.any() or (bad & ~sides).any():
        odd = ~missing & ~sides if (sides & ~missing).any() else bad
        problems.append(f"column {col!r} (choice): expected {expected}, found {_examples(text, odd)}; {fix}")
        return out, {}
    if sides.any():
        mapping = {t: _SIDES[t.lower()] for t in sorted(set(text[sides].tolist()))}
        out[sides] = [_SIDES[t.lower()] for t in text[sides]]
        return out, {"step": "map_choices", "column": col, "mapping": mapping, "source": "left/right labels"}
    nums = values[is_num]
    seen = set(np.unique(nums).tolist())
    if any(v != int(v) or v < -1 for v in seen) or (-1 in seen and 0 not in seen and len(seen) > 1):
        why = "are -1 and 1 left/right or an omission and option 1?" if seen == {-1.0, 1.0} else expected
        problems.append(f"column {col!r} (choice): values {sorted(seen)}: {why}; {fix}")
        return out, {}
    out[is_num] = nums.astype(np.int64)
    mapping = {str(int(v)) if v >= 0 else "-1": int(v) for v in sorted(seen)}
    return out, {"step": "map_choices", "column": col, "mapping": mapping, "source": "option numbers"}


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, bool)


def _parse_role(role: str, text: np.ndarray, col: str, problems: list[str]) -> np.ndarray:
    """One recognised column's values: numbers (NaN missing), 1/0 truth values, labels or integers."""
    fix = f"or name another column with columns={{{role!r}: ...}}"
    if role in ("subject", "session", "condition"):
        if role != "condition" and (text == "").any():
            problems.append(
                f"column {col!r} ({role}) is empty in rows {np.flatnonzero(text == '')[:8].tolist()}"
            )
        return _auto_values(text) if role == "condition" else text
    if role in ("correct", "rewarded"):
        out = np.array([_TRUTH.get(t.lower(), np.nan) for t in text])
        odd = np.array([t.lower() not in _TRUTH and t.lower() not in _MISSING for t in text], bool)
        numbers, _ = _numbers(text)
        odd &= ~np.isin(numbers, (0.0, 1.0))
        out = np.where(np.isin(numbers, (0.0, 1.0)), numbers, out)
        if odd.any():
            problems.append(
                f"column {col!r} ({role}): expected 1/0, true/false or correct/incorrect (empty: unknown), "
                f"found {_examples(text, odd)}; recode it in a DataFrame {fix}"
            )
        return out
    values, bad = _numbers(text)
    if bad.any():
        problems.append(
            f"column {col!r} ({role}): expected numbers (empty: unknown), found {_examples(text, bad)} {fix}"
        )
    if role == "trial_number":
        if (~np.isfinite(values) & ~bad).any() or (values[np.isfinite(values)] % 1 != 0).any():
            odd = ~np.isfinite(values) | (np.nan_to_num(values) % 1 != 0)
            problems.append(
                f"column {col!r} (trial_number): expected whole numbers in every row, "
                f"found {_examples(text, odd)}"
            )
        return np.nan_to_num(values, nan=-1).astype(np.int64)
    if role in ("reaction_time", "reaction_time_ms") and (values < 0).any():
        problems.append(
            f"column {col!r} ({role}): reaction times must be >= 0, found {_examples(text, values < 0)}"
        )
    return values


def _reaction_time(
    values: dict[str, np.ndarray],
    roles: dict[str, str],
    columns: Mapping[str, str] | None,
    problems: list[str],
    steps: list[dict[str, Any]],
) -> np.ndarray | None:
    """Reaction times in seconds: a millisecond column divided by 1000 (a step in ``processing``); a column
    recognised by name as seconds whose median exceeds :data:`RT_SECONDS_SUSPICIOUS` is refused."""
    if "reaction_time_ms" in values:
        steps.append(
            {"step": "convert_reaction_time", "column": roles["reaction_time_ms"], "from": "ms", "to": "s"}
        )
        return values["reaction_time_ms"] / 1000.0
    rt = values.get("reaction_time")
    if rt is None:
        return None
    finite = rt[np.isfinite(rt)]
    declared = "reaction_time" in (columns or {})
    if not declared and finite.size and float(np.median(finite)) > RT_SECONDS_SUSPICIOUS:
        col = roles["reaction_time"]
        problems.append(
            f"column {col!r} (reaction_time, read as seconds) has a median of {float(np.median(finite)):g}: "
            f"are these milliseconds? Declare them with columns={{'reaction_time_ms': {col!r}}}, or confirm "
            f"seconds with columns={{'reaction_time': {col!r}}}"
        )
    return rt


def _rewarded(values: dict[str, np.ndarray], steps: list[dict[str, Any]]) -> np.ndarray | None:
    """Whether each trial was a win: the ``rewarded`` column, else reward > 0, else correct (logged)."""
    if "rewarded" in values:
        return np.where(np.isfinite(values["rewarded"]), values["rewarded"] == 1.0, np.nan)
    if "reward" in values:
        return None  # trials_from_arrays: reward > 0
    if "correct" in values:
        steps.append({"step": "rewarded_from_correct", "why": "the table has no reward column"})
        return np.where(np.isfinite(values["correct"]), values["correct"] == 1.0, np.nan)
    steps.append({"step": "rewarded_unknown", "why": "the table has no reward, rewarded or correct column"})
    return None


def _extra_names(extra: Mapping[str, np.ndarray], taken: set[str]) -> dict[str, str]:
    """Variable names (snake_case) of the columns no role took; names of trial variables get ``column_``."""
    reserved = {*TRIAL_VARIABLES, "outcome_known", "trial", "subject", "session", *taken}
    out: dict[str, str] = {}
    for col in extra:
        name = _snake_name(col) or "column"
        while name in reserved or name in out.values():
            name = f"column_{name}"
        out[col] = name
    return out


def _auto_values(text: np.ndarray) -> np.ndarray:
    """Numbers when every non-empty label is one, else the labels."""
    values, bad = _numbers(text)
    return text if bad.any() else values
