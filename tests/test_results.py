"""The results table: loading and every kind of bad input."""

import re

import numpy as np
import pandas as pd
import pytest

from xdist.degradation import degradation
from xdist.results import (
    RESULT_COLUMNS,
    ResultsError,
    read_results,
    validate_results,
)


def table(**over):
    base = {
        "model": "XLM-R",
        "setting": "zero-shot",
        "intermediate_task": "",
        "target_task": "XNLI",
        "language": ["en", "de", "sw"],
        "metric": "accuracy",
        "score": [85.0, 78.0, 66.0],
        "seed": "",
        "source": "unit test",
    }
    base.update(over)
    return pd.DataFrame(base)


def write(tmp_path, df, name="r.csv"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False)
    return path


def test_good_table_canonicalises(tmp_path):
    df = table(language=["eng", "deu", "swa"])
    out = read_results(write(tmp_path, df))
    assert out["language"].tolist() == ["en", "de", "sw"]
    assert list(out.columns) == RESULT_COLUMNS + ["origin"]
    assert out["source_language"].unique().tolist() == ["en"]
    assert out["origin"].iloc[1].endswith("r.csv:3")
    assert out["seed"].dtype == "Int64"


def test_parquet_equals_csv(tmp_path):
    df = table(seed=[1, 1, 1])
    a = read_results(write(tmp_path, df))
    b = read_results(write(tmp_path, df, "r.parquet"))
    cols = [c for c in RESULT_COLUMNS]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_input_not_modified():
    df = table(language=["eng", "deu", "swa"])
    before = df.copy()
    validate_results(df)
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda d: d.drop(columns="metric"), r"missing required column\(s\) \['metric'\]"),
        (lambda d: d.assign(scroe=1), r"unknown column\(s\) 'scroe' \(did you mean 'score'\?\)"),
        (lambda d: d.assign(language=["en", "xx", "sw"]), r"row 3: unknown language 'xx'"),
        (lambda d: d.assign(language=["en", "deu", "swahli"]), r"did you mean .*swahili"),
        (lambda d: d.assign(language=["en", "de", "de"]), r"duplicate rows for the same key"),
        (lambda d: d.assign(score=["85", "abc", "60"]), r"row 3: score 'abc' is not a finite"),
        (lambda d: d.assign(score=["85", "", "60"]), r"row 3: missing score"),
        (lambda d: d.assign(score=[85, 101, 60]), r"row 3: score 101 is outside 0-100"),
        (lambda d: d.assign(score=[85, -1, 60]), r"row 3: score -1 is outside 0-100"),
        (lambda d: d.assign(score=[0.85, 0.7, 0.6]), r"look like fractions: pass scale='fraction'"),
        (lambda d: d.assign(language=["fr", "de", "sw"]), r"has no row for its source language 'en'"),
        (lambda d: d.assign(seed=["1", "x", "1"]), r"row 3: seed 'x' is not an integer"),
        (lambda d: d.assign(flag=["", "wrong", ""]), r"row 3: unknown flag 'wrong'"),
        (lambda d: d.assign(model=["m", "", "m"]), r"row 3: empty 'model'"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, mutate, pattern):
    path = write(tmp_path, mutate(table()))
    with pytest.raises(ResultsError) as err:
        read_results(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert re.search(pattern, msg), msg


def test_fraction_scale(tmp_path):
    path = write(tmp_path, table(score=[0.85, 0.78, 0.66]))
    out = read_results(path, scale="fraction")
    np.testing.assert_allclose(out["score"], [85.0, 78.0, 66.0])
    with pytest.raises(ResultsError, match="outside 0-1 for scale='fraction'.*scale='percent'"):
        read_results(write(tmp_path, table()), scale="fraction")
    with pytest.raises(ResultsError, match=r"scale='percents' is not valid.*'percent', 'fraction'"):
        read_results(path, scale="percents")


def test_duplicates_across_files_name_both(tmp_path):
    a = write(tmp_path, table(), "a.csv")
    b = write(tmp_path, table(), "b.csv")
    with pytest.raises(ResultsError, match=r"a\.csv:2, .*b\.csv:2"):
        read_results([a, b])


def test_runs_and_seeds_are_distinct_groups(tmp_path):
    df = pd.concat([table(run="paper"), table(run="repo", score=[80.0, 70.0, 50.0]),
                    table(seed=[3, 3, 3])])
    out = read_results(write(tmp_path, df))
    assert len(out) == 9
    deg = degradation(out)
    assert sorted(deg.loc[deg.language == "sw", "degradation"]) == [19.0, 19.0, 30.0]


def test_source_language_other_than_english(tmp_path):
    df = table(language=["de", "en", "nl"], source_language="de", score=[90.0, 80.0, 85.0])
    deg = degradation(read_results(write(tmp_path, df)))
    assert deg.set_index("language")["degradation"].to_dict() == {"en": 10.0, "nl": 5.0}


def test_file_errors(tmp_path):
    with pytest.raises(ResultsError, match="file not found"):
        read_results(tmp_path / "nope.csv")
    (tmp_path / "r.xlsx").write_text("x")
    with pytest.raises(ResultsError, match=r"unsupported file type '\.xlsx'; expected \.csv"):
        read_results(tmp_path / "r.xlsx")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ResultsError, match="cannot read as csv"):
        read_results(tmp_path / "empty.csv")
    with pytest.raises(ResultsError, match="no files given"):
        read_results([])


def test_degradation_values_and_flags():
    df = table(language=["en", "de", "sw", "fr"], score=[80.0, 72.0, 60.0, 70.0],
               flag=["", "", "", "duplicate"])
    out = validate_results(df)
    deg = degradation(out)
    assert deg["language"].tolist() == ["de", "sw"]
    np.testing.assert_allclose(deg["degradation"], [8.0, 20.0])
    np.testing.assert_allclose(deg["degradation_relative"], [0.1, 0.25])
    assert degradation(out, exclude_flags=())["language"].tolist() == ["de", "sw", "fr"]


def test_degradation_needs_unflagged_source_row():
    df = table(flag=["superseded", "", ""])
    out = validate_results(df)
    with pytest.raises(ResultsError, match="no usable source-language"):
        degradation(out)


def test_results_store_directory_is_read(tmp_path):
    """`xdist correlate --results STORE`: a store directory loads like a results file."""
    from xdist.cli import main
    from xdist.store import ResultsStore

    store = ResultsStore(tmp_path / "store", create=True)
    run = store.start_run({"lr": 2e-5}, 1, model="tiny", setting="zero-shot",
                          intermediate_task="", target_task="XNLI", source="unit test")
    langs = ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "sw", "tr", "vi", "th"]
    for i, lang in enumerate(langs):
        run.record(lang, "accuracy", 85.0 - 2.0 * i)
    run.finish()
    res = read_results(tmp_path / "store")
    assert len(res) == len(langs) and set(res["language"]) == set(langs)
    assert res["origin"].str.contains("scores").all()
    assert main(["correlate", "--results", str(tmp_path / "store"), "--n-boot", "200",
                 "--n-perm", "99", "--format", "csv", "--output",
                 str(tmp_path / "c.csv")]) == 0
    assert pd.read_csv(tmp_path / "c.csv")["n"].max() == 11
    (tmp_path / "notastore").mkdir()
    (tmp_path / "notastore" / "x.txt").write_text("x")
    with pytest.raises(ResultsError, match="notastore"):
        read_results(tmp_path / "notastore")


def test_validating_twice_is_idempotent():
    """A validated table (Int64 seeds, canonical codes) validates again unchanged, so tables
    from several sources can be concatenated and re-checked."""
    once = validate_results(table(seed=[1, 1, 1], language=["eng", "deu", "swa"]))
    twice = validate_results(once.drop(columns="origin"))
    pd.testing.assert_frame_equal(once.drop(columns="origin"), twice.drop(columns="origin"))
    both = validate_results(pd.concat([once, validate_results(table(run="b"))]))
    assert len(both) == 6
