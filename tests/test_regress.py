"""`regress`: OLS / mixed dispatch, the CLI paths, bad formulas."""

import json

import numpy as np
import pandas as pd
import pytest

from xdist.analyses.regression import regress
from xdist.cli import main


@pytest.fixture(scope="module")
def tidy():
    rng = np.random.default_rng(5)
    langs = [f"l{i:02d}" for i in range(16)]
    tasks = ["XNLI", "PAWS-X", "XQuAD", "MLQA", "UD-POS"]
    syn = dict(zip(langs, rng.uniform(0.3, 0.75, len(langs))))
    size = dict(zip(langs, rng.uniform(1, 4, len(langs))))
    lang_eff = dict(zip(langs, rng.normal(0, 1.0, len(langs))))
    task_slope = dict(zip(tasks, rng.normal(0, 4, len(tasks))))
    rows = []
    for t in tasks:
        for lang in langs:
            deg = (3 + (20 + task_slope[t]) * syn[lang] - 1.5 * size[lang] + lang_eff[lang]
                   + rng.normal(0, 1.0))
            rows.append(dict(task=t, language=lang, syntactic=syn[lang], log_size=size[lang],
                             family=f"f{int(lang[1:]) % 6}", degradation=deg))
    return pd.DataFrame(rows)


def test_ols_recovers_slope_with_clustered_se(tidy):
    rep = regress(tidy, "degradation ~ syntactic + log_size", cluster="language")
    fx = rep.fixed.set_index("term")
    assert rep.fit["model"] == "ols" and rep.random.empty
    assert fx.loc["syntactic", "estimate"] == pytest.approx(20, abs=4)
    assert fx.loc["log_size", "estimate"] == pytest.approx(-1.5, abs=0.5)
    assert fx.loc["syntactic", "inference"] == "t(G-1)"
    assert fx.loc["syntactic", "n_clusters"] == 16


def test_mixed_formula_gives_variance_components(tidy):
    rep = regress(tidy, "degradation ~ syntactic + log_size + (1 | task) + (1 | language)")
    assert rep.fit["model"] == "mixed" and rep.fit["method"] == "REML"
    assert set(rep.random["group"]) >= {"task", "language", "Residual"}
    assert rep.fixed.set_index("term").loc["syntactic", "estimate"] == pytest.approx(20, abs=5)
    ml = regress(tidy, "degradation ~ syntactic + (1 | language)", reml=False)
    assert ml.fit["method"] == "ML"


def test_wild_bootstrap_is_seeded(tidy):
    a = regress(tidy, "degradation ~ syntactic", bootstrap=499, seed=3, cluster="family")
    b = regress(tidy, "degradation ~ syntactic", bootstrap=499, seed=3, cluster="family")
    pd.testing.assert_frame_equal(a.fixed, b.fixed)
    assert "wild" in a.fixed["inference"].iloc[1]


@pytest.mark.parametrize(
    "formula, match",
    [
        ("degradation syntactic", r"formula='degradation syntactic' is not valid"),
        ("degradation ~ syntactc", r"syntactc"),
        ("degradation ~ syntactic + (1 | langauge)", r"langauge"),
    ],
)
def test_bad_formulas(tidy, formula, match):
    with pytest.raises(ValueError, match=match):
        regress(tidy, formula)


def test_cli_regress_data_json(tmp_path, tidy, capsys):
    path = tmp_path / "tidy.csv"
    tidy.to_csv(path, index=False)
    code = main(["regress", "--data", str(path), "--formula",
                 "degradation ~ syntactic + (1 | task)", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rep = json.loads(out)
    assert set(rep) == {"fixed", "random", "fit", "warnings"}
    assert {"term", "estimate", "se", "ci_low", "ci_high", "p_value"} <= set(rep["fixed"][0])
    assert rep["fit"]["model"] == "mixed"


def test_cli_regress_results_table(capsys):
    code = main(["regress", "--task", "UD-POS", "--formula",
                 "degradation ~ syntactic + log_size", "--cluster", "family"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("Least squares: degradation ~ syntactic + log_size")
    assert "(family)" in out and "syntactic" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["regress", "--formula", "degradation ~ nope"], "nope"),
        (["regress", "--formula", "y ~ x", "--data", "/no/file.csv"], "file not found"),
        (["regress", "--formula", "degradation ~ syntactic", "--cluster", "genus2"],
         "cluster='genus2'"),
        (["regress", "--formula", "degradation ~ syntactic", "--bootstrap", "-1"],
         "bootstrap=-1 is not valid"),
    ],
)
def test_cli_regress_bad_input(argv, needle, capsys):
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_regress_results_and_data_conflict(tmp_path, capsys):
    code = main(["regress", "--formula", "y ~ x", "--data", "a.csv", "--results", "b.csv"])
    _, err = capsys.readouterr()
    assert code == 2 and "either --results or --data" in err
