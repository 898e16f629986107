"""Checks of the shipped data: data/languages/languages.csv and data/results/*.csv.

Only pandas and xdist.languages are used (the results loader is tested
elsewhere).  Checks against the shared reference material
(``../shared/reference``, or ``XDIST_REFERENCE_DIR``) are skipped when it is
not there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from xdist.languages import (
    LANGUAGE_COLUMNS,
    iso639_3,
    load_languages,
    resolve,
    resolve_codes,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
RESULTS = DATA / "results"
REFERENCE = Path(os.environ.get("XDIST_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))

PER_LANGUAGE_FILES = ["published_readme_tables.csv", "udpos_xlmr_base_transfer_matrix.csv"]
RESULT_COLUMNS = [
    "model", "setting", "intermediate_task", "target_task", "source_language", "language",
    "metric", "score", "seed", "run", "split", "source", "note", "flag",
]
KEY = ["model", "setting", "intermediate_task", "target_task", "source_language", "language",
       "metric", "seed", "run"]
GROUP = [c for c in KEY if c != "language"]
EXCLUDED = {"superseded", "duplicate"}
TASKS = {"XNLI", "PAWS-X", "XQuAD", "MLQA", "TyDiQA-GoldP", "WikiAnn-NER", "UD-POS", "Tatoeba", "CoNLL-NER"}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(RESULTS / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def langs() -> pd.DataFrame:
    return pd.read_csv(DATA / "languages" / "languages.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def readme() -> pd.DataFrame:
    return read("published_readme_tables.csv")


@pytest.fixture(scope="module")
def ud() -> pd.DataFrame:
    return read("udpos_xlmr_base_transfer_matrix.csv")


@pytest.fixture(scope="module")
def averages() -> pd.DataFrame:
    return read("published_task_averages.csv")


@pytest.fixture(scope="module")
def results(readme, ud) -> pd.DataFrame:
    """Both per-language files, languages canonicalised as the loader does."""
    df = pd.concat([readme, ud], ignore_index=True)
    df["language"] = resolve_codes(df["language"], param="language")
    df["source_language"] = resolve_codes(df["source_language"], param="source_language")
    return df


def reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared reference file {path} not available")
    return path


def letter_codes() -> dict[str, str]:
    spec = importlib.util.find_spec("lang2vec")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "letter_codes.json"
    return json.loads(path.read_text())


# ---------------------------------------------------------------------------
# languages table
# ---------------------------------------------------------------------------
def test_languages_columns(langs):
    assert list(langs.columns) == LANGUAGE_COLUMNS
    assert (langs["source"] != "").all()
    assert (langs["name"] != "").all() and (langs["iso639_3"] != "").all()


def test_languages_codes_unique_and_canonical(langs):
    assert not langs["code"].duplicated().any()
    assert not langs["iso639_3"].duplicated().any()
    two = langs["iso639_1"] != ""
    # code = ISO 639-1 where one exists, else ISO 639-3
    assert (langs.loc[two, "code"] == langs.loc[two, "iso639_1"]).all()
    assert (langs.loc[~two, "code"] == langs.loc[~two, "iso639_3"]).all()


def test_no_spelling_means_two_languages(langs):
    owner: dict[str, str] = {}
    clashes = []
    for row in langs.itertuples():
        spellings = {row.code, row.iso639_1, row.iso639_3, row.iso639_3_lang2vec, row.name}
        spellings |= {a.strip() for a in row.aliases.split(";")}
        for s in filter(None, (x.lower() for x in spellings)):
            if owner.setdefault(s, row.code) != row.code:
                clashes.append((s, owner[s], row.code))
    assert clashes == []


def test_aliases_resolve_to_their_row(langs):
    for row in langs.itertuples():
        for a in filter(None, row.aliases.split(";")):
            assert resolve(a) == row.code, a


@pytest.mark.parametrize(
    "code, individual, l2v",
    [
        ("ar", "arb", "ara"), ("zh", "cmn", "zho"), ("ms", "zsm", "msa"), ("fa", "pes", "fas"),
        ("sw", "swh", "swa"), ("et", "ekk", "est"), ("sq", "als", "sqi"), ("az", "azj", "aze"),
        ("uz", "uzn", "uzb"), ("mn", "khk", "mon"), ("no", "nob", "nor"), ("lv", "lvs", "lav"),
        ("ku", "kmr", "kur"), ("ne", "npi", "nep"), ("or", "ory", "ori"), ("ps", "pbt", "pus"),
        ("gn", "gug", "grn"), ("om", "gaz", "orm"), ("mg", "plt", "mlg"),
    ],
)
def test_macrolanguage_mapping(code, individual, l2v):
    assert iso639_3(code) == individual
    assert iso639_3(code, mode="lang2vec") == l2v
    assert resolve(individual) == code and resolve(l2v) == code


def test_lang2vec_letter_codes_kept():
    codes = letter_codes()
    assert len(codes) == 204
    for k, v in codes.items():
        canon = resolve(k)
        if k == "nb":  # Bokmal is an alias of 'no' (whose individual language is nob)
            assert canon == "no" and iso639_3("no") == v
        else:
            assert iso639_3(canon, mode="lang2vec") == v, k
        if len(k) == 2 and k != "nb":
            assert canon == k


def test_norwegian_and_bibliographic_aliases():
    assert resolve("nb") == "no" and resolve("nob") == "no" and resolve("nn") == "nn"
    assert resolve("alb") == "sq" and resolve("mao") == "mi" and resolve("may") == "ms"
    assert resolve("hyw") == "hyw" and resolve("hy") == "hy"  # Western Armenian is its own language


def test_validation_languages_present():
    val = pd.read_csv(reference("uriel", "eng_distances_4dp_validation.csv"), dtype=str)
    codes = sorted(val["other_lang_iso639_3"].unique())
    assert len(codes) == 39
    resolve_codes(codes)  # raises on an unknown code


def test_benchmark_languages_present():
    xtreme40 = ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my "
                "nl pt ru sw ta te th tl tr ur vi yo zh").split()
    assert list(resolve_codes(xtreme40)) == xtreme40


def test_result_languages_have_script_and_family(langs, results):
    used = set(results["language"]) | set(results["source_language"])
    sub = langs.set_index("code").loc[sorted(used)]
    assert (sub["script"] != "").all(), sub.index[sub["script"] == ""].tolist()
    assert (sub["family"] != "").all(), sub.index[sub["family"] == ""].tolist()


def test_family_vocabulary(langs):
    fams = set(langs["family"]) - {""}
    assert "IE" not in fams and "Indo-European" in fams
    assert {"Atlantic-Congo", "Austroasiatic", "Japanese", "Korean", "Basque"}.isdisjoint(fams)
    lang = langs.set_index("code")
    assert lang.loc["de", ["family", "genus"]].tolist() == ["Indo-European", "Germanic"]
    assert lang.loc["eu", "family"] == "Isolate"
    assert lang.loc["sw", "family"] == "Niger-Congo"


def test_pretraining_sizes_match_reference():
    sizes = pd.read_csv(reference("results", "xpos_pretraining_sizes.csv"), dtype=str, keep_default_na=False)
    table = load_languages().set_index("code")
    corrected = {"sv": (12950.0, 85.0), "uk": (6960.0, 84.6)}  # authors' correction, see source column
    first = sizes.drop_duplicates("language_id", keep="first")
    checked = 0
    for row in first.itertuples():
        code = resolve(row.language_id)
        got = table.loc[code, ["xlmr_tokens_m", "xlmr_size_gib"]].tolist()
        if row.language_id == "lzh":  # CC-100 zh-Hant, not Classical Chinese: left empty
            assert pd.isna(got).all()
            continue
        want = corrected.get(code, (float(row.tokens), float(row.size)))
        assert got == list(want), code
        checked += 1
    assert checked == 93
    # every language with a size is one of those
    assert table["xlmr_tokens_m"].notna().sum() == 93
    assert table.loc["my", "xlmr_tokens_m"] == 15.0  # not the Zawgyi row


# ---------------------------------------------------------------------------
# results files
# ---------------------------------------------------------------------------
def test_result_files_columns(readme, ud):
    assert list(readme.columns) == RESULT_COLUMNS
    assert list(ud.columns) == RESULT_COLUMNS


def test_counts(readme, ud, averages):
    assert len(ud) == 6825
    assert ud["source_language"].nunique() == 65 and ud["language"].nunique() == 105
    assert len(readme) == 908 - 144 and len(averages) == 144
    assert "avg" not in set(readme["language"])
    assert not (RESULTS / "published_no_source_row.csv").exists()  # no printed table lacks English


def test_every_result_language_resolves(readme, ud):
    for df in (readme, ud):
        resolve_codes(df["language"], param="language")
        resolve_codes(df["source_language"], param="source_language")


def test_vocabulary(results, averages):
    for df in (results, averages):
        assert set(df["target_task"]) <= TASKS
        assert set(df["metric"]) <= {"accuracy", "f1", "em"}
        assert set(df["flag"]) <= {"", "suspect", "superseded", "column_order", "duplicate"}
        assert (df["source"] != "").all()
        assert (df.loc[df["flag"] != "", "note"] != "").all()
    assert (results["seed"] == "").all()
    assert set(results["split"]) == {"test", "dev"}


def test_scores_are_percent_numbers(results, averages):
    for df in (results, averages):
        s = pd.to_numeric(df["score"])
        assert s.between(0, 100).all()
    mx = pd.to_numeric(results["score"]).groupby([results[c] for c in GROUP]).max()
    assert (mx > 1).all()  # no group of fractions


def test_row_keys_unique(results, averages):
    dup = results[results.duplicated(KEY, keep=False)]
    assert dup.empty, dup[KEY].head()
    akey = [c for c in GROUP if c != "seed"]
    assert not averages.duplicated(akey).any()


def test_every_group_has_its_source_row(results):
    def lacking(df):
        has = df.loc[df["language"] == df["source_language"], GROUP].drop_duplicates()
        groups = df[GROUP].drop_duplicates()
        m = groups.merge(has, how="left", indicator=True)
        return m[m["_merge"] == "left_only"]

    assert lacking(results).empty
    # also after the default exclusion of superseded/duplicate rows
    assert lacking(results[~results["flag"].isin(EXCLUDED)]).empty


def test_scores_as_printed():
    ref = pd.read_csv(reference("results", "readme_tables_per_language.csv"), dtype=str, keep_default_na=False)
    ref_ud = pd.read_csv(reference("results", "udpos_xlmr_base_transfer_matrix.csv"), dtype=str,
                         keep_default_na=False)
    per = ref[ref["language"] != "avg"].reset_index(drop=True)
    avg = ref[ref["language"] == "avg"].reset_index(drop=True)
    ours, ours_avg, ours_ud = (read(n) for n in (
        "published_readme_tables.csv", "published_task_averages.csv", "udpos_xlmr_base_transfer_matrix.csv"))
    for a, b in ((per, ours), (avg, ours_avg), (ref_ud, ours_ud)):
        assert a["score"].tolist() == b["score"].tolist()
        assert a["model"].tolist() == b["model"].tolist()
        assert a["source"].tolist() == b["source"].tolist()
    assert per["language"].tolist() == ours["language"].tolist()  # codes kept as printed
    assert ref_ud["language"].tolist() == ours_ud["language"].tolist()
    assert ref_ud["source_language"].tolist() == ours_ud["source_language"].tolist()


def test_flag_counts(readme, averages, ud):
    assert readme["flag"].value_counts().to_dict() == {
        "": 664, "duplicate": 69, "column_order": 30, "superseded": 1}
    assert (ud["flag"] == "").all()
    assert averages["flag"].value_counts().to_dict() == {"": 131, "duplicate": 13}


def test_mlqa_hindi_superseded(readme):
    hi = readme[(readme.model == "XLM-R Large") & (readme.target_task == "MLQA") & (readme.metric == "f1")
                & (readme.language == "hi") & (readme.setting == "zero-shot")]
    got = dict(zip(hi["run"], zip(hi["score"], hi["flag"])))
    assert got == {"fairseq-xlmr-readme": ("69.2", ""), "ernie-m-readme": ("62.9", "superseded")}


def test_xl_xxl_mlqa_column_order(readme):
    sub = readme[readme.model.isin(["XLM-R XL", "XLM-R XXL"]) & (readme.target_task == "MLQA")]
    flagged = sub[sub.flag == "column_order"]
    assert sorted(set(flagged.language)) == ["ar", "es"] and len(flagged) == 8
    assert (sub.loc[~sub.language.isin(["ar", "es"]), "flag"] == "").all()


def test_veco_xnli_column_order(readme):
    veco = readme[(readme.model == "VECO Large") & (readme.target_task == "XNLI")]
    flagged = veco[veco.flag == "column_order"]
    assert len(flagged) == 22
    assert set(veco.loc[veco.flag == "", "language"]) == {"en", "de", "el", "th"}


def test_duplicate_groups_are_whole(results):
    flagged = results[results.flag == "duplicate"]
    for _, g in flagged.groupby(GROUP):
        key = g.iloc[0][GROUP]
        whole = results[(results[GROUP] == key).all(axis=1)]
        assert whole["flag"].isin(EXCLUDED).all()


def test_two_xlmr_large_xnli_runs_not_merged(readme, averages):
    per = readme[(readme.model == "XLM-R Large") & (readme.target_task == "XNLI")
                 & (readme.setting == "zero-shot")]
    assert set(per["run"]) == {"ernie-m-readme"} and (per["flag"] == "").all()
    av = averages[(averages.model == "XLM-R Large") & (averages.target_task == "XNLI")
                  & (averages.setting == "zero-shot")]
    assert dict(zip(av["run"], av["score"])) == {"ernie-m-readme": "80.9", "mt5-readme": "79.2"}
    assert (av["flag"] == "").all()


def test_ernie_typo_documented(readme):
    ernie = readme[readme.note.str.contains("ERNIR-M Large")]
    assert len(ernie) == 15 and set(ernie["model"]) == {"ERNIE-M Large"}


def test_ud_in_language_rows(ud):
    same = ud[ud.language == ud.source_language]
    assert len(same) == 65
    assert (same["setting"] == "zero-shot").all()
    assert same["note"].str.contains("in-language").all()
    assert set(ud["target_task"]) == {"UD-POS"}


def test_build_script_up_to_date():
    for mod in ("pycountry", "iso639", "langcodes", "language_data"):
        pytest.importorskip(mod)
    reference("results", "readme_tables_per_language.csv")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_data.py"), "--check", "--reference", str(REFERENCE)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
