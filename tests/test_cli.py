"""The command line: defaults on shipped data, formats, output files, bad input."""

import json
import re
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from xdist.cli import main

FAST = ["--n-boot", "500", "--n-perm", "199"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_correlate_no_arguments_runs_on_shipped_data(capsys):
    code, out, err = run(["correlate"], capsys)
    assert code == 0, err
    assert out.startswith("Correlation of degradation with URIEL distance")
    assert "10000 resamples of languages" in out
    assert "UD-POS | XLM-R Base | zero-shot | accuracy | 103 languages" in out
    for task in ("XNLI", "PAWS-X", "XQuAD", "MLQA"):
        assert f"\n{task} | " in out
    assert "note:" in err  # flagged rows and few-language caveats are reported


def test_correlate_json_records_have_fixed_columns(capsys):
    code, out, _ = run(["correlate", "--task", "XNLI", "--model", "XLM-R Base",
                        "--format", "json", *FAST], capsys)
    assert code == 0
    recs = json.loads(out)
    assert isinstance(recs, list) and recs
    for col in ("task", "model", "distance", "method", "estimate", "ci_low", "ci_high",
                "p_value", "p_adjusted", "n"):
        assert col in recs[0]
    assert {r["method"] for r in recs} == {"pearson", "spearman", "kendall"}
    assert {r["distance"] for r in recs} == {"syntactic", "phonological", "inventory",
                                              "featural", "geographic", "genetic"}
    assert all(r["distance_codes"] == "individual" for r in recs)


def test_same_seed_same_output(capsys):
    args = ["correlate", "--task", "PAWS-X", "--format", "csv", "--seed", "7", *FAST]
    _, a, _ = run(args, capsys)
    _, b, _ = run(args, capsys)
    _, c, _ = run(args[:-6] + ["--seed", "8", *FAST], capsys)
    assert a == b
    assert a != c


def test_output_file_and_options(tmp_path, capsys):
    out = tmp_path / "corr.csv"
    code, stdout, _ = run(["correlate", "--task", "UD-POS", "--distance", "syntactic",
                           "--method", "spearman", "--ci", "percentile", "--cluster", "family",
                           "--control", "pretraining_size", "--output", str(out), "--format",
                           "csv", *FAST], capsys)
    assert code == 0 and stdout == ""
    tab = pd.read_csv(out)
    assert len(tab) == 1
    row = tab.iloc[0]
    assert row.ci_method == "percentile" and row.resample_unit == "family"
    # 23 UD languages have no URIEL syntactic data: left out, not imputed
    assert row.covariates == "log_size" and row.n == 81 and row.n_clusters > 10


def test_results_file_and_scale(tmp_path, capsys):
    df = pd.DataFrame({
        "model": "m", "setting": "zero-shot", "intermediate_task": "", "target_task": "T",
        "language": ["en", "de", "fr", "es", "ru", "zh", "ar", "hi", "sw", "ja", "fi", "tr"],
        "metric": "accuracy",
        "score": [0.9, 0.85, 0.86, 0.87, 0.8, 0.7, 0.72, 0.7, 0.6, 0.65, 0.78, 0.74],
        "seed": 1, "source": "test"})
    path = tmp_path / "mine.csv"
    df.to_csv(path, index=False)
    code, out, err = run(["correlate", "--results", str(path), *FAST], capsys)
    assert code == 2
    assert "look like fractions" in err and "--scale fraction" in err
    code, out, err = run(["correlate", "--results", str(path), "--scale", "fraction",
                          "--format", "json", *FAST], capsys)
    assert code == 0, err
    # 11 target languages; Arabic has no URIEL phonological/inventory data
    assert {r["n"] for r in json.loads(out)} == {10, 11}


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["correlate", "--results", "/no/such.csv"], "file not found"),
        (["correlate", "--task", "XNIL"], "did you mean 'XNLI'"),
        (["correlate", "--model", "nope"], "model='nope' is not a known model"),
        (["correlate", "--n-boot", "5"], "n_boot=5 is not valid"),
        (["correlate", "--distance", "syntax"], "invalid choice: 'syntax'"),
        (["correlate", "--scale", "percentage"], "invalid choice: 'percentage'"),
        (["correlate", "--output", "/no/such/dir/out.csv", *FAST], "does not exist"),
        (["distances", "xx"], "unknown language 'xx'"),
        (["distances", "de", "--from", "englsh"], "did you mean"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_failed_run_keeps_existing_output(tmp_path, capsys):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    code = main(["correlate", "--task", "nope", "--output", str(out), *FAST])
    capsys.readouterr()
    assert code == 2
    assert out.read_text() == "precious\n"


def test_distances_table_and_json(capsys):
    code, out, _ = run(["distances", "fr", "ar", "--from", "eng", "--kind", "syntactic"], capsys)
    assert code == 0
    assert "URIEL distances from en (individual-language codes)" in out
    code, out, _ = run(["distances", "fra", "--from", "eng", "--kind", "syntactic",
                        "--kind", "genetic", "--format", "json"], capsys)
    recs = json.loads(out)
    assert [(r["source"], r["target"], r["kind"]) for r in recs] == [
        ("en", "fr", "syntactic"), ("en", "fr", "genetic")]
    assert abs(recs[0]["distance"] - 0.4569) < 2e-4
    code, out, _ = run(["distances", "ar", "--kind", "syntactic", "--codes", "lang2vec",
                        "--format", "json"], capsys)
    assert abs(json.loads(out)[0]["distance"] - 0.5654) < 2e-4


def test_help_does_not_import_torch():
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('torch', 'transformers'):
                    raise ImportError('blocked ' + name)
        sys.meta_path.insert(0, Block())
        from xdist.cli import main
        for argv in (['--help'], ['correlate', '--help'], ['distances', '--help'],
                     ['report', '--help'], ['regress', '--help']):
            try:
                main(argv)
            except SystemExit as e:
                assert e.code == 0, e.code
        # help stays fast: no pandas, scipy or matplotlib behind it
        assert not any(m.split('.')[0] in ('pandas', 'scipy', 'matplotlib') for m in sys.modules)
        import xdist.analyses, xdist.stats, xdist.distances, xdist.results
        assert not any(m.split('.')[0] in ('torch', 'transformers') for m in sys.modules)
        print('ok')
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_control_defaults_to_pearson_and_spearman(capsys):
    """The README's `--control pretraining_size` example works without --method."""
    code, out, err = run(["correlate", "--control", "pretraining_size", "--task", "XNLI",
                          "--format", "json", *FAST], capsys)
    assert code == 0, err
    assert {r["method"] for r in json.loads(out)} == {"pearson", "spearman"}
    code, _, err = run(["correlate", "--control", "pretraining_size", "--method", "kendall",
                        *FAST], capsys)
    assert code == 2 and "--method pearson --method spearman" in err


def test_setting_and_flag_filters(capsys):
    _, out, err = run(["correlate", "--task", "MLQA", "--setting", "zero-shot",
                       "--exclude-flag", "column_order", "--format", "json", *FAST], capsys)
    recs = json.loads(out)
    assert {r["setting"] for r in recs} == {"zero-shot"}
    assert "analysed row(s) flagged 'column_order'" not in err  # excluded, not analysed
    _, out2, err2 = run(["correlate", "--task", "MLQA", "--include-flagged", "--format", "json",
                         *FAST], capsys)
    assert len(json.loads(out2)) > len(recs)
    assert "excluded" not in err2


def test_few_families_caveat(capsys):
    code, _, err = run(["correlate", "--task", "PAWS-X", "--cluster", "family", *FAST], capsys)
    assert code == 0
    assert "fewer than 10 families" in err
