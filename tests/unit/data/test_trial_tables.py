"""Trial tables read into the trial dataset: recognised and odd column names, L/R labels, reaction times in
milliseconds, omissions counted (never dropped), subject and session selection, and errors that name the
file, the column and the keyword that fixes them."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from neuroethology.data.trials import TRIAL_VARIABLES, as_trials, load_trials, trials_from_arrays
from neuroethology.problems import ProblemsError


def steps_of(trials) -> dict[str, dict]:
    return {s["step"]: s for s in json.loads(trials.attrs["processing"])}


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


ODD = """Animal ID,Session Date,Resp,Outcome,RT (ms),Signed Contrast,Trial #,Lick Count
m1,2024-03-01,L,1,412,-0.25,1,3
m1,2024-03-01,R,1,388,0.5,2,4
m1,2024-03-01,,,,0,3,0
m1,2024-03-02,r,0,570,-0.125,1,6
m2,2024-03-01,l,correct,301,-1,1,7
m2,2024-03-01,right,incorrect,450,-0.5,2,
"""


def test_odd_names_lr_labels_ms_and_omissions(tmp_path):
    path = write(tmp_path, "odd names.csv", ODD)
    trials = load_trials(path)
    assert trials.attrs["ds_type"] == "trials" and trials.attrs["source_file"] == str(path.resolve())
    assert trials.sizes["trial"] == 6  # every row, the omission included
    assert trials["choice"].values.tolist() == [0, 1, -1, 1, 0, 1]
    np.testing.assert_array_equal(trials["correct"].values, [1, 1, np.nan, 0, 1, 0])
    np.testing.assert_allclose(trials["reaction_time"].values, [0.412, 0.388, np.nan, 0.570, 0.301, 0.450])
    np.testing.assert_array_equal(trials["stimulus"].values, [-0.25, 0.5, 0, -0.125, -1, -0.5])
    assert trials["subject"].values.tolist() == ["m1"] * 4 + ["m2"] * 2
    assert trials["session"].values.tolist() == ["2024-03-01"] * 3 + ["2024-03-02"] + ["2024-03-01"] * 2
    assert trials["trial_number"].values.tolist() == [1, 2, 3, 1, 1, 2]  # "Trial #" -> trial_number
    np.testing.assert_array_equal(trials["lick_count"].values, [3, 4, 0, 6, 7, np.nan])  # kept, snake_case
    # No reward column: a win is a correct trial, and the log says so.
    assert trials["rewarded"].values.tolist() == [True, True, False, False, True, False]
    steps = steps_of(trials)
    assert steps["read_trial_table"]["columns"] == {
        "choice": "Resp",
        "correct": "Outcome",
        "reaction_time_ms": "RT (ms)",
        "stimulus": "Signed Contrast",
        "subject": "Animal ID",
        "session": "Session Date",
        "trial_number": "Trial #",
    }
    assert steps["map_choices"]["mapping"] == {"L": 0, "R": 1, "l": 0, "r": 1, "right": 1}
    assert steps["omissions"] == {"step": "omissions", "n_omissions": 1, "n_trials": 6}
    assert steps["convert_reaction_time"]["from"] == "ms" and "rewarded_from_correct" in steps
    for name in TRIAL_VARIABLES:
        assert name in trials
    assert trials["choice"].dtype == np.int64 and trials["rewarded"].dtype == bool


def test_round_trip_through_csv_tsv_and_dataframe(tmp_path, rng):
    n = 40
    made = trials_from_arrays(
        choice=np.where(rng.uniform(size=n) < 0.1, -1, rng.integers(0, 2, n)),
        correct=rng.integers(0, 2, n).astype(float),
        reaction_time=rng.uniform(0.2, 1.5, n),
        reward=rng.integers(0, 2, n) * 2.5,
        time=np.arange(n) * 4.0,
        subject=np.repeat(["a", "b"], n // 2),
        session=np.tile(np.repeat(["1", "2"], n // 4), 2),
        conditions={
            "stimulus": rng.choice([-0.5, 0.0, 0.5], n),
            "condition": np.repeat(["easy", "hard"], n // 2),
        },
    )
    frame = made.to_dataframe().reset_index()
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_csv(tmp_path / "t.tsv", index=False, sep="\t")
    for back in (load_trials(tmp_path / "t.csv"), load_trials(tmp_path / "t.tsv"), load_trials(frame)):
        for name in (*TRIAL_VARIABLES, "stimulus", "condition", "subject", "session"):
            np.testing.assert_array_equal(back[name].values, made[name].values, err_msg=name)
        assert back["choice"].dtype == made["choice"].dtype
        assert "column_trial" in back  # the running index came back as a column: kept, renamed
    assert steps_of(load_trials(frame))["omissions"]["n_omissions"] == int((made["choice"] < 0).sum())


def test_columns_override_and_subject_session_options(tmp_path):
    path = write(tmp_path, "m3.csv", "side_picked,hit,latency\nleft,1,0.5\nright,0,0.75\nright,1,0.25\n")
    with pytest.raises(ProblemsError) as err:
        load_trials(path)
    assert (
        "no choice column" in str(err.value)
        and "columns=" in str(err.value)
        and "side_picked" in str(err.value)
    )
    trials = load_trials(path, columns={"choice": "side_picked", "reaction_time": "latency"}, session="day 1")
    assert trials["choice"].values.tolist() == [0, 1, 1] and trials["correct"].values.tolist() == [1, 0, 1]
    np.testing.assert_allclose(trials["reaction_time"].values, [0.5, 0.75, 0.25])
    assert set(trials["subject"].values) == {"m3"} and set(trials["session"].values) == {"day 1"}
    # With a subject column, subject= keeps that subject's rows and counts the others.
    frame = pd.DataFrame({"mouse": ["a", "b", "a"], "choice": [0, 1, 1]})
    a = load_trials(frame, subject="a")
    assert a.sizes["trial"] == 2 and steps_of(a)["select_subject"]["n_rows_left_out"] == 1
    with pytest.raises(ProblemsError, match="subject='c' matches no row"):
        load_trials(frame, subject="c")


def test_bad_column_names_file_column_and_keyword(tmp_path):
    path = write(tmp_path, "bad.csv", "choice,correct,rt\nup,1,0.4\ndown,0,0.5\n")
    with pytest.raises(ProblemsError) as err:
        load_trials(path)
    text = str(err.value)
    assert str(path.resolve()) in text and "'choice'" in text and "['down', 'up']" in text
    assert "columns=" in text and "choice_map=" in text and "left/right" in text
    assert load_trials(path, choice_map={"up": 1, "down": 0})["choice"].values.tolist() == [1, 0]
    with pytest.raises(ProblemsError) as err:
        load_trials(path, columns={"choice": "Choice"})
    assert (
        "'Choice'" in str(err.value)
        and "columns=" in str(err.value)
        and str(path.resolve()) in str(err.value)
    )
    with pytest.raises(ProblemsError, match="unknown role 'reaction'"):
        load_trials(path, columns={"reaction": "rt"}, choice_map={"up": 1, "down": 0})
    # Every problem at once: a non-number reaction time and an odd outcome label.
    path = write(tmp_path, "two.csv", "choice,correct,rt\n0,maybe,0.4\n1,0,fast\n")
    with pytest.raises(ProblemsError) as err:
        load_trials(path)
    assert "2 problems" in str(err.value) and "'maybe'" in str(err.value) and "'fast'" in str(err.value)


def test_milliseconds_must_be_declared_or_named(tmp_path):
    path = write(tmp_path, "ms.csv", "choice,rt\n0,412\n1,388\n1,\n")
    with pytest.raises(ProblemsError) as err:
        load_trials(path)
    assert "milliseconds" in str(err.value) and "columns={'reaction_time_ms': 'rt'}" in str(err.value)
    declared = load_trials(path, columns={"reaction_time_ms": "rt"})
    np.testing.assert_allclose(declared["reaction_time"].values, [0.412, 0.388, np.nan])
    confirmed = load_trials(path, columns={"reaction_time": "rt"})  # seconds, as the user says
    np.testing.assert_allclose(confirmed["reaction_time"].values, [412, 388, np.nan])
    with pytest.raises(ProblemsError, match="both look like reaction times"):
        load_trials(pd.DataFrame({"choice": [0], "rt": [0.3], "rt_ms": [300]}))


def test_numeric_choice_codings():
    omissions = load_trials(pd.DataFrame({"choice": [0, 1, -1, 1, None]}))
    assert omissions["choice"].values.tolist() == [0, 1, -1, 1, -1]
    assert steps_of(omissions)["omissions"]["n_omissions"] == 2
    assert load_trials(pd.DataFrame({"choice": [0, 2, 1]}))["choice"].values.tolist() == [
        0,
        2,
        1,
    ]  # 3 options
    # -1/+1 alone is ambiguous (left/right, or omission/option 1): refused until choice_map says.
    ibl = pd.DataFrame({"choice": [-1, 1, 1, 0], "feedback": [1, -1, 1, -1]})
    with pytest.raises(ProblemsError, match="choice_map"):
        load_trials(ibl.iloc[:3])
    coded = load_trials(ibl, choice_map={-1: 0, 1: 1, 0: -1})
    assert coded["choice"].values.tolist() == [0, 1, 1, -1]
    assert steps_of(coded)["map_choices"]["source"] == "choice_map="
    with pytest.raises(ProblemsError, match="left/right"):
        load_trials(pd.DataFrame({"choice": ["L", 1]}))
    with pytest.raises(ProblemsError, match=r"columns \['response', 'resp'\] all look like the choice"):
        load_trials(pd.DataFrame({"response": [0], "resp": [1]}))


def test_camel_case_and_spaced_names():
    frame = pd.DataFrame({"Response Side": ["L", "R"], "reactionTime": [0.25, 0.5], "isCorrect": [1, 0]})
    trials = load_trials(frame)
    assert trials["choice"].values.tolist() == [0, 1] and trials["correct"].values.tolist() == [1, 0]
    assert trials["reaction_time"].values.tolist() == [0.25, 0.5]


def test_parquet(tmp_path):
    if importlib.util.find_spec("pyarrow") is None:
        path = tmp_path / "t.parquet"
        path.write_bytes(b"PAR1")
        with pytest.raises(ImportError, match=r"neuroethology\[parquet\]"):
            load_trials(path)
        return
    frame = pd.DataFrame({"Choice": ["L", "R", None], "RT": [0.3, 0.4, np.nan], "mouse": ["x"] * 3})
    frame.to_parquet(tmp_path / "t.parquet")
    trials = load_trials(tmp_path / "t.parquet")
    assert trials["choice"].values.tolist() == [0, 1, -1] and set(trials["subject"].values) == {"x"}


def test_other_files_and_validation(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_trials(tmp_path / "absent.csv")
    with pytest.raises(ProblemsError, match=r"\.csv, \.tsv or \.parquet"):
        load_trials(write(tmp_path, "t.json", "{}"))
    with pytest.raises(ProblemsError, match="fewer fields than the header"):
        load_trials(write(tmp_path, "short.csv", "choice,correct,rt\n0,1,0.3\n1\n"))
    with pytest.raises(ValueError, match="compute_trials"):
        as_trials(pd.DataFrame({"time": [0.0]}).to_xarray().swap_dims(index="time"), caller="test")
