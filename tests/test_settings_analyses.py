"""Comparing settings (xdist.analyses.compare): adapters, multi-task, multilingual, LLMs.

Hand-made results tables with known gaps check every number against a direct
computation (per-language differences, the mean, ``xdist.stats.regression.ols``
on the same rows, least-squares slopes); the shipped zero-shot versus
translate-train-all scores check the functions on published data.
"""

import io
import json
import warnings
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest

from xdist.analyses.compare import (
    GAP_SCALE_COLUMNS,
    GAP_SLOPE_COLUMNS,
    GAP_SUMMARY_COLUMNS,
    MULTITASK_COLUMNS,
    SLOPE_COMPARISON_COLUMNS,
    _weighted_slopes,
    gap_scale,
    gap_slope,
    gap_summary,
    multitask_gains,
    slope_comparison,
)
from xdist.analyses.scale import setting_gap
from xdist.caveats import collect_caveats
from xdist.cli import main
from xdist.distances import distances
from xdist.results import read_results, shipped_results_paths, validate_results
from xdist.stats.regression import ols

LANGS = ["de", "fr", "es", "ru", "ar", "zh", "hi", "tr", "fi", "ja", "sw", "el"]
FAST = dict(n_boot=500, ci="percentile")


@pytest.fixture(scope="module")
def dist():
    return distances(LANGS, source="en", kinds=["syntactic"]).set_index("target")["distance"]


@pytest.fixture(scope="module")
def readme():
    return read_results(shipped_results_paths()[0])


def _table(rows, **const):
    base = dict(model="m", setting="zero-shot", intermediate_task="", target_task="XNLI",
                metric="accuracy", seed="", source="synthetic")
    base.update(const)
    df = pd.DataFrame(rows)
    return validate_results(df.assign(**{k: v for k, v in base.items() if k not in df}))


def _jitter(i):
    return 0.3 * ((i * 7) % 5 - 2)  # deterministic, not collinear with the distance


def _adapter_results(dist):
    """Full fine-tuning and LoRA: gap(l) = -3 + 10 d_l + jitter, two intermediate tasks."""
    rows = []
    for it in ("", "MNLI"):
        rows += [dict(setting="zero-shot", intermediate_task=it, language="en", score=85.0),
                 dict(setting="zero-shot+lora", intermediate_task=it, language="en",
                      score=84.0)]
        for i, lang in enumerate(LANGS):
            full = 80.0 - 30 * dist[lang] - i * 0.1
            gap = -3 + 10 * dist[lang] + _jitter(i)
            rows += [dict(setting="zero-shot", intermediate_task=it, language=lang, score=full),
                     dict(setting="zero-shot+lora", intermediate_task=it, language=lang,
                          score=full + gap + (1.0 if it else 0.0))]
    return _table(rows)


# --------------------------------------------------------------------------- gap summary


def test_gap_summary_matches_hand_computation(dist):
    res = _adapter_results(dist)
    tab = gap_summary(res, seed=3, **FAST)
    assert list(tab.columns) == GAP_SUMMARY_COLUMNS
    lang = tab[(tab.level == "language") & (tab.intermediate_task == "")].set_index("language")
    expected = {l: -3 + 10 * dist[l] + _jitter(i) for i, l in enumerate(LANGS)}
    assert sorted(lang.index) == sorted(LANGS)  # the source language is not a target
    for l, g in expected.items():
        assert lang.loc[l, "estimate"] == pytest.approx(g)
        assert lang.loc[l, "n_positive"] == int(g > 0)
    mean = tab[(tab.level == "mean") & (tab.intermediate_task == "")].iloc[0]
    assert mean["estimate"] == pytest.approx(np.mean(list(expected.values())))
    assert mean["n"] == 12 and mean["n_positive"] == sum(g > 0 for g in expected.values())
    assert mean["ci_low"] < mean["estimate"] < mean["ci_high"]
    assert mean["setting"] == "zero-shot+lora" and mean["reference"] == "zero-shot"
    assert mean["resample_unit"] == "language" and mean["n_boot"] == 500
    # with MNLI the adapters gain one point more (matched on the intermediate task)
    mnli = tab[(tab.level == "mean") & (tab.intermediate_task == "MNLI")].iloc[0]
    assert mnli["estimate"] == pytest.approx(mean["estimate"] + 1.0)


def test_gap_summary_reproducible_under_seed(dist):
    res = _adapter_results(dist)
    a = gap_summary(res, seed=7, **FAST)
    b = gap_summary(res, seed=7, **FAST)
    c = gap_summary(res, seed=8, **FAST)
    pd.testing.assert_frame_equal(a, b)
    m = a.level == "mean"
    assert not np.allclose(a.loc[m, "ci_low"], c.loc[m, "ci_low"])
    fam = gap_summary(res, cluster="family", seed=7, **FAST)
    row = fam[fam.level == "mean"].iloc[0]
    assert row["resample_unit"] == "family" and row["n_clusters"] < 12


def test_gap_summary_reference_intermediate_task(dist):
    """LoRA after MNLI against full fine-tuning without intermediate training."""
    res = _adapter_results(dist)
    tab = gap_summary(res, intermediate_tasks=["MNLI"], reference_intermediate_task="",
                      seed=0, **FAST)
    assert set(tab["intermediate_task"]) == {"MNLI"}
    assert set(tab["reference_intermediate_task"]) == {""}
    de = tab[(tab.level == "language") & (tab.language == "de")].iloc[0]
    raw = res.set_index(["setting", "intermediate_task", "language"])["score"]
    assert de["estimate"] == pytest.approx(raw["zero-shot+lora", "MNLI", "de"]
                                           - raw["zero-shot", "", "de"])


def test_gap_summary_on_shipped_data_equals_setting_gap(readme):
    with collect_caveats():
        tab = gap_summary(readme, setting="translate-train-all", reference="zero-shot",
                          tasks=["XNLI"], model_families=["XLM-R"], seed=0, **FAST)
        gap = setting_gap(readme, tasks=["XNLI"], model_families=["XLM-R"],
                          distances=["syntactic"])
    means = tab[tab.level == "mean"].set_index("model")["estimate"]
    assert means.to_dict() == pytest.approx(gap.groupby("model")["gap"].mean().to_dict())


# --------------------------------------------------------------------------- gap slope


def test_gap_slope_matches_ols_directly(dist):
    res = _adapter_results(dist)
    with collect_caveats() as notes:
        tab = gap_slope(res, intermediate_tasks=[""])
    assert not any("only one of the settings" in n for n in notes)
    assert list(tab.columns) == GAP_SLOPE_COLUMNS
    direct = pd.DataFrame({"language": LANGS, "syntactic": [dist[l] for l in LANGS],
                           "gap": [-3 + 10 * dist[l] + _jitter(i) for i, l in enumerate(LANGS)]})
    ref = ols(direct, "gap ~ syntactic", cluster="language").coefficients.set_index("term")
    got = tab.set_index("term")
    for col in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert got.loc["syntactic", col] == pytest.approx(ref.loc["syntactic", col])
    assert got.loc["syntactic", "estimate"] == pytest.approx(10, abs=2)
    assert got.loc["syntactic", "method"] == "OLS, CR1 clustered by language, t(G-1)"


def test_gap_slope_several_distances_and_family_clusters(readme):
    with collect_caveats() as notes:
        tab = gap_slope(readme, setting="translate-train-all", reference="zero-shot",
                        tasks=["XNLI"], models=["XLM-R Base"],
                        distances=["syntactic", "genetic"], cluster="family")
    assert tab["term"].tolist() == ["Intercept", "syntactic", "genetic"]
    assert (tab["n_clusters"] < 14).all() and tab["cluster"].eq("family").all()
    assert any("clusters of 'family'" in n for n in notes)


# --------------------------------------------------------------------------- errors


def test_missing_settings_name_what_is_present(dist):
    res = _adapter_results(dist)
    with pytest.raises(ValueError) as exc:
        gap_summary(res, setting="zero-shot+lora-shared", tasks=["XNLI"])
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("no rows with setting 'zero-shot+lora-shared' for task XNLI: "
                          "settings present are ['zero-shot', 'zero-shot+lora']")
    with pytest.raises(ValueError, match="are the same"):
        gap_summary(res, setting="zero-shot", reference="zero-shot")
    with pytest.raises(ValueError, match="cluster='families'"):
        gap_summary(res, cluster="families")
    with pytest.raises(ValueError, match="no rows with a decoder-LLM setting"):
        slope_comparison(res)
    with pytest.raises(ValueError, match="no rows with a multi-task intermediate_task"):
        multitask_gains(res)
    with pytest.raises(ValueError, match="distances='syntax'"):
        gap_slope(res, distances=["syntax"])


# --------------------------------------------------------------------------- multi-task


def _multitask_results():
    """MNLI, QQP and MNLI,QQP with LoRA; the multi-task run wins everywhere but in sw."""
    langs = ["en", "de", "fr", "es", "ru", "zh", "sw"]
    base = [85.0, 78.0, 79.0, 80.0, 74.0, 72.0, 65.0]
    shift = {"MNLI": 0.0, "QQP": -2.0, "MNLI,QQP": 1.0}
    rows = []
    for t, d in shift.items():
        for l, s in zip(langs, base):
            extra = -3.0 if (t == "MNLI,QQP" and l == "sw") else 0.0
            for seed, eps in ((1, 0.1), (2, -0.1)):
                rows.append(dict(intermediate_task=t, language=l, seed=seed,
                                 score=s + d + extra + eps))
    return _table(rows, setting="zero-shot+lora")


def test_multitask_against_best_single():
    res = _multitask_results()
    tab = multitask_gains(res, seed=0, **FAST)
    assert list(tab.columns) == MULTITASK_COLUMNS
    assert set(tab["single_task"]) == {"MNLI"}  # the better single task on average
    lang = tab[tab.level == "language"].set_index("language")
    assert lang.loc["de", "estimate"] == pytest.approx(1.0)
    assert lang.loc["sw", "estimate"] == pytest.approx(-2.0)
    assert lang.loc["sw", "n_positive"] == 0 and lang.loc["de", "n_positive"] == 1
    assert lang["paired"].all()  # same seeds on both sides
    mean = tab[tab.level == "mean"].iloc[0]
    assert mean["estimate"] == pytest.approx((5 * 1.0 - 2.0) / 6)
    assert mean["n"] == 6 and mean["n_positive"] == 5 and mean["against"] == "best"


def test_multitask_against_each_and_reproducible():
    res = _multitask_results()
    tab = multitask_gains(res, against="each", seed=1, **FAST)
    means = tab[tab.level == "mean"].set_index("single_task")["estimate"]
    assert means.to_dict() == pytest.approx({"MNLI": 0.5, "QQP": 2.5})
    again = multitask_gains(res, against="each", seed=1, **FAST)
    pd.testing.assert_frame_equal(tab, again)


def test_multitask_missing_component_and_single_setting():
    res = _multitask_results()
    no_qqp = res[res["intermediate_task"] != "QQP"]
    with collect_caveats() as notes:
        tab = multitask_gains(no_qqp, against="each", seed=0, **FAST)
    assert set(tab["single_task"]) == {"MNLI"}
    assert any("lack single-task scores" in n and "QQP" in n for n in notes)
    # single-task scores of another setting (per-task adapters vs one shared adapter)
    shared = res.copy()
    multi = shared["intermediate_task"] == "MNLI,QQP"
    shared.loc[multi, "setting"] = "zero-shot+lora-shared"
    tab = multitask_gains(shared, setting="zero-shot+lora-shared",
                          single_setting="zero-shot+lora", seed=0, **FAST)
    assert tab["single_setting"].eq("zero-shot+lora").all()
    assert tab.loc[tab.level == "mean", "estimate"].iloc[0] == pytest.approx(0.5)


# --------------------------------------------------------------------------- scale


SIZES = {"sim-S": 1e8, "sim-M": 3e8, "sim-L": 1e9, "sim-XL": 3e9}


def _multilingual_results(dist):
    """gap = 4 - 2 * (log10 params - 9) + 5 d + jitter: larger models gain less."""
    rows = []
    for m, p in SIZES.items():
        for s in ("zero-shot", "zero-shot+multilingual-intermediate"):
            rows.append(dict(model=m, setting=s, language="en", score=85.0))
        for i, l in enumerate(LANGS):
            gap = 4 - 2 * (np.log10(p) - 9) + 5 * dist[l] + _jitter(i + len(m))
            rows += [dict(model=m, setting="zero-shot", language=l, score=70.0),
                     dict(model=m, setting="zero-shot+multilingual-intermediate",
                          language=l, score=70.0 + gap)]
    return _table(rows, intermediate_task="XNLI")


def test_gap_scale_recovers_size_effect(dist):
    res = _multilingual_results(dist)
    tab = gap_scale(res, parameters=SIZES, distance="syntactic")
    assert list(tab.columns) == GAP_SCALE_COLUMNS
    t = tab.set_index("term")
    assert t.loc["log_params", "estimate"] == pytest.approx(-2, abs=0.3)
    assert t.loc["syntactic", "estimate"] == pytest.approx(5, abs=3)
    assert int(t.loc["log_params", "n_models"]) == 4 and int(t.loc["log_params", "n"]) == 48
    assert t.loc["log_params", "models"] == "sim-S, sim-M, sim-L, sim-XL"
    # the same as OLS on the gaps directly (centered)
    g = setting_gap(res, settings=("zero-shot", "zero-shot+multilingual-intermediate"),
                    distances=["syntactic"], parameters=SIZES)
    g["log_params"] -= g["log_params"].mean()
    g["syntactic"] -= g["syntactic"].mean()
    ref = ols(g, "gap ~ log_params + syntactic", cluster="language").coefficients
    assert t.loc["log_params", "se"] == pytest.approx(ref.set_index("term").loc["log_params", "se"])


def test_gap_scale_unknown_models_need_parameters(dist):
    res = _multilingual_results(dist)
    with collect_caveats() as notes:
        tab = gap_scale(res, parameters={k: v for k, v in SIZES.items() if k != "sim-XL"})
    assert int(tab["n_models"].iloc[0]) == 3
    assert any("['sim-XL'] are not in data/models/models.csv" in n for n in notes)
    assert any("left out: ['sim-XL']" in n for n in notes)
    with pytest.raises(ValueError, match="two or more model sizes"):
        with collect_caveats():
            gap_scale(res)
    with pytest.raises(ValueError, match="parameters: 'sim-S'"):
        gap_scale(res, parameters={"sim-S": -1})


# --------------------------------------------------------------------------- LLM slopes


def _llm_results(dist):
    """An encoder (zero-shot, slope 30) and an LLM (llm-0shot slope 15, llm-5shot slope 20).

    The LLM is not evaluated in ``el`` and ``sw`` (partial overlap).
    """
    rows = []
    for model, setting, slope, langs in (
        ("enc", "zero-shot", 30.0, LANGS),
        ("llm", "llm-0shot", 15.0, LANGS[:10]),
        ("llm", "llm-5shot", 20.0, LANGS[:10]),
    ):
        rows.append(dict(model=model, setting=setting, language="en", score=80.0))
        rows += [dict(model=model, setting=setting, language=l,
                      score=80.0 - 2 - slope * dist[l] + _jitter(i))
                 for i, l in enumerate(langs)]
    return _table(rows)


def test_slope_comparison_llm_against_encoder(dist):
    res = _llm_results(dist)
    tab = slope_comparison(res, seed=0, **FAST)
    assert list(tab.columns) == SLOPE_COMPARISON_COLUMNS
    slopes = tab[tab.quantity == "slope"].set_index("setting")
    assert set(slopes.index) == {"zero-shot", "llm-0shot", "llm-5shot"}
    # each slope is OLS of degradation on distance, clustered by language
    d = pd.DataFrame({"language": LANGS[:10], "syntactic": [dist[l] for l in LANGS[:10]]})
    d["degradation"] = [2 + 15.0 * dist[l] - _jitter(i) for i, l in enumerate(LANGS[:10])]
    ref = ols(d, "degradation ~ syntactic", cluster="language").coefficients.iloc[1]
    assert slopes.loc["llm-0shot", "estimate"] == pytest.approx(ref["estimate"])
    assert slopes.loc["llm-0shot", "se"] == pytest.approx(ref["se"])
    diff = tab[tab.quantity == "slope_difference"].set_index("setting")
    assert diff.loc["llm-0shot", "estimate"] == pytest.approx(
        slopes.loc["llm-0shot", "estimate"] - slopes.loc["zero-shot", "estimate"])
    assert diff.loc["llm-0shot", "estimate"] == pytest.approx(-15, abs=3)
    row = diff.loc["llm-0shot"]
    assert (row["n"], row["n_reference"], row["n_shared"]) == (10, 12, 10)
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["reference_model"] == "enc" and "stratified" in row["method"]
    again = slope_comparison(res, seed=0, **FAST)
    pd.testing.assert_frame_equal(tab, again)


def test_slope_comparison_match_models_on_shipped(readme):
    with collect_caveats():
        tab = slope_comparison(readme, settings=["translate-train-all"], tasks=["XNLI"],
                               models=["XLM-R Base", "XLM-R Large"], match_models=True,
                               seed=0, **FAST)
    diff = tab[tab.quantity == "slope_difference"]
    assert (diff["model"] == diff["reference_model"]).all() and len(diff) == 2
    assert (diff["n_shared"] == 14).all() and diff["method"].str.endswith("(paired)").all()
    assert (diff["estimate"] < 0).all()  # translate-train-all flattens the distance slope


def test_weighted_slopes_equal_refits_on_resamples():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=9), rng.normal(size=9)
    w = rng.integers(0, 3, size=(9, 4)).astype(float)
    w[:3, :] += 1  # at least three distinct points
    got = _weighted_slopes(x, y, w)
    for b in range(4):
        idx = np.repeat(np.arange(9), w[:, b].astype(int))
        assert got[b] == pytest.approx(np.polyfit(x[idx], y[idx], 1)[0])
    assert np.isnan(_weighted_slopes(x, y, np.eye(9)[:, :1] * 3))[0]  # one point: undefined


# --------------------------------------------------------------------------- CLI


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def test_cli_compare_end_to_end(dist, tmp_path):
    path = tmp_path / "runs.csv"
    pd.concat([_adapter_results(dist), _llm_results(dist)]).drop(
        columns=["origin"]).to_csv(path, index=False)
    rc, out, err = _run(["compare", "gap", "--results", str(path), "--n-boot", "500",
                         "--ci", "percentile", "--format", "csv"])
    assert rc == 0, err
    tab = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(tab.columns) == GAP_SUMMARY_COLUMNS
    direct = gap_summary(_adapter_results(dist), seed=0, **FAST)
    got = tab[tab.level == "mean"]["estimate"].astype(float).to_numpy()
    assert got == pytest.approx(direct[direct.level == "mean"]["estimate"].to_numpy())
    rc, out, err = _run(["compare", "slope", "--results", str(path), "--model", "m",
                         "--distance", "syntactic", "--format", "json"])
    assert rc == 0, err
    assert [r["term"] for r in json.loads(out)] == ["Intercept", "syntactic"] * 2
    rc, out, err = _run(["compare", "llm", "--results", str(path), "--n-boot", "200",
                         "--output", str(tmp_path / "llm.csv"), "--format", "csv"])
    assert rc == 0, err
    assert set(pd.read_csv(tmp_path / "llm.csv")["quantity"]) == {"slope", "slope_difference"}
    rc, out, err = _run(["compare", "gap", "--results", str(path), "--setting",
                         "zero-shot+lora-shared", "--task", "XNLI"])
    assert rc == 2 and out == ""
    assert err.strip().splitlines()[-1].startswith(
        "xdist compare: error: no rows with setting 'zero-shot+lora-shared' for task XNLI")
    rc, _, err = _run(["compare", "scale", "--results", str(path), "--parameters", "m"])
    assert rc == 2 and "MODEL=COUNT" in err


def test_cli_compare_multitask(tmp_path):
    path = tmp_path / "multi.csv"
    _multitask_results().drop(columns=["origin"]).to_csv(path, index=False)
    rc, out, err = _run(["compare", "multitask", "--results", str(path), "--against", "each",
                         "--setting", "zero-shot+lora", "--n-boot", "200", "--format", "csv"])
    assert rc == 0, err
    tab = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(tab.columns) == MULTITASK_COLUMNS
    assert sorted(tab.loc[tab.level == "mean", "single_task"]) == ["MNLI", "QQP"]
    rc, _, err = _run(["compare", "multitask", "--results", str(path), "--setting", "a",
                       "--setting", "b"])
    assert rc == 2 and "--setting given 2 times" in err
