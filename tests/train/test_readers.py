"""Readers: every task in every registered layout, from hand-written files in the real formats.

Each fixture below copies the shape of the real files' first lines (XTREME's
``download/`` tree at commit 838c13b, the archives as distributed, jiant 2.x's
JSONL): headers, column order, quoting, nesting, and what XTREME strips.
"""

import json
import warnings

import pytest

pytest.importorskip("datasets")

from xdist.train.readers import (  # noqa: E402
    DataError,
    DataWarning,
    RetrievalData,
    canonical_features,
    find_layout,
    load_examples,
    load_retrieval,
)
from xdist.train.tasks import get_task, list_tasks  # noqa: E402

T = "\t"


def tsv(*rows, end="\n"):
    return "".join(T.join(r) + end for r in rows)


def jl(*recs):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)


def squad(*paragraphs, version="1.1"):
    """SQuAD JSON: paragraphs as (context, [(id, question, [(text, start)], extra)])."""
    paras = []
    for ctx, qas in paragraphs:
        out = []
        for q in qas:
            qid, question, answers = q[:3]
            rec = {"answers": [{"answer_start": s, "text": x} for x, s in answers], "question": question,
                   "id": qid}
            rec.update(q[3] if len(q) > 3 else {})
            out.append(rec)
        paras.append({"context": ctx, "qas": out})
    return json.dumps({"data": [{"title": "T", "paragraphs": paras}], "version": version})


def xtreme_blanked(*paragraphs):
    """What XTREME's remove_qa_test_annotations leaves: one article per question, answers blanked."""
    data = [{"paragraphs": [{"context": ctx, "qas": [{"answers": [{"answer_start": 0, "text": ""}],
                                                      "question": q, "id": qid}]}]}
            for ctx, qas in paragraphs for qid, q, *_ in qas]
    return json.dumps({"data": data, "version": "1.1"})


# ---- shared snippets --------------------------------------------------------------------

P1 = "Conceptually cream skimming has two basic dimensions - product and geography ."
H1 = "Product and geography are what make cream skimming work ."
P2 = 'He said , "yes , of course" .'  # csv.writer quotes this field in XTREME's files
H2 = "He agreed ."
XNLI_DEV_HEADER = ("language gold_label sentence1_binary_parse sentence2_binary_parse sentence1_parse "
                   "sentence2_parse sentence1 sentence2 promptID pairID genre label1 label2 label3 label4 "
                   "label5 sentence1_tokenized sentence2_tokenized match").split()


def xnli_row(lang, label, s1, s2, pair_id):
    return (lang, label, "(", "(", "(ROOT", "(ROOT", s1, s2, "1", pair_id, "facetoface", label, label,
            label, label, label, s1, s2, "True")


MNLI_BASE = ("index promptID pairID genre sentence1_binary_parse sentence2_binary_parse sentence1_parse "
             "sentence2_parse sentence1 sentence2").split()


def mnli_row(i, s1, s2, *labels):
    return (str(i), "31193", f"{31193 + i}n", "government", "( (", "( (", "(ROOT", "(ROOT", s1, s2) + labels


CONTEXT = "The Normans were in Normandy, a region in France."
CONTEXT_DE = "Die Normannen lebten in der Normandie, einer Region in Frankreich."
CONLLU_FR_GSD = """# newdoc id = fr-ud-dev_00001
# sent_id = fr-ud-dev_00001
# text = Il parle du chat.
1\tIl\til\tPRON\t_\t_\t2\tnsubj\t2:nsubj\t_
2\tparle\tparler\tVERB\t_\t_\t0\troot\t0:root\t_
3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t5:case\t_
4\tle\tle\tDET\t_\t_\t5\tdet\t5:det\t_
5\tchat\tchat\tNOUN\t_\t_\t2\tobl\t2:obl\tSpaceAfter=No
6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t2:punct\t_

# sent_id = fr-ud-dev_00002
# text = _ _
1\t_\t_\tX\t_\t_\t0\troot\t_\t_
2\t_\t_\tX\t_\t_\t1\tdep\t_\t_

"""
CONLLU_FR_SEQUOIA = """# sent_id = annodis.er_00001
# text = Dámelo 10 000 fois
1-3\tDámelo\t_\t_\t_\t_\t_\t_\t_\t_
1\tDá\tdar\tVERB\t_\t_\t0\troot\t0:root\t_
2\tme\tyo\tPRON\t_\t_\t1\tiobj\t1:iobj\t_
3\tlo\tél\tPRON\t_\t_\t1\tobj\t1:obj\t_
4\t10 000\t10000\tNUM\t_\t_\t5\tnummod\t5:nummod|5.1:nsubj\t_
4.1\tellipsis\t_\tNOUN\t_\t_\t_\t_\t5:obj\t_
5\tfois\tfois\tNOUN\t_\t_\t1\tobl\t1:obl\t_

"""


# ---- the fixtures: (task, layout, split, language, files, expected columns, extra kwargs) ----------

CASES = [
    # XNLI
    ("XNLI", "xtreme", "train", "en",
     {"xnli/train-en.tsv": f'{P1}\t{H1}\tneutral\r\n"He said , ""yes , of course"" ."\t{H2}\tentailment\r\n'},
     {"text_a": [P1, P2], "text_b": [H1, H2], "label": ["neutral", "entailment"],
      "id": ["train-en-0", "train-en-1"]}, {}),
    ("XNLI", "xtreme", "dev", "de",
     {"xnli/dev-de.tsv": "Er kommt .\tEr geht nicht .\tcontradiction\r\n"},
     {"text_a": ["Er kommt ."], "label": ["contradiction"], "language": ["de"]}, {}),
    ("XNLI", "xtreme", "test", "de",
     {"xnli/test-de.tsv": "Er kommt .\tEr geht .\r\n"}, {"text_b": ["Er geht ."], "label": [-1]}, {}),
    ("XNLI", "original", "train", "en",
     {"XNLI-MT-1.0/multinli/multinli.train.en.tsv":
      tsv(("premise", "hypo", "label"), (P1, H1, "neutral"), ('He said "hi', "He spoke .", "contradictory"))},
     {"text_a": [P1, 'He said "hi'], "label": ["neutral", "contradiction"]}, {}),
    ("XNLI", "original", "dev", "de",
     {"XNLI-1.0/xnli.dev.tsv": tsv(XNLI_DEV_HEADER, xnli_row("ar", "neutral", "a", "b", "1"),
                                   xnli_row("de", "neutral", "Er kommt .", "Er geht .", "1"),
                                   xnli_row("de", "contradiction", 'Sie sagt "ja', "Nein .", "2"))},
     {"text_a": ["Er kommt .", 'Sie sagt "ja'], "label": ["neutral", "contradiction"], "id": ["1", "2"],
      "language": ["de", "de"]}, {}),
    ("XNLI", "original", "test", "sw",
     {"XNLI-1.0/xnli.test.tsv": tsv(XNLI_DEV_HEADER, xnli_row("sw", "entailment", "Mtu analala .", "Mtu .", "7"),
                                    xnli_row("en", "neutral", "x", "y", "7"))},
     {"text_a": ["Mtu analala ."], "label": ["entailment"], "id": ["7"]}, {"require_labels": True}),
    # PAWS-X
    ("PAWS-X", "xtreme", "train", "en",
     {"pawsx/train-en.tsv": "In Paris , in October 1560 , he met .\tIn October 1560 , he met in Paris .\t1\r\n"},
     {"text_b": ["In October 1560 , he met in Paris ."], "label": ["1"]}, {}),
    ("PAWS-X", "xtreme", "dev", "ja", {"pawsx/dev-ja.tsv": '"""A"" b"\tc\t0\r\n'},
     {"text_a": ['"A" b'], "label": ["0"]}, {}),
    ("PAWS-X", "xtreme", "test", "ja", {"pawsx/test-ja.tsv": "a\tb\r\n"}, {"label": [-1]}, {}),
    ("PAWS-X", "original", "train", "en",
     {"x-final/en/train.tsv": tsv(("id", "sentence1", "sentence2", "label"), ("1", "a b", "b a", "0"),
                                  ("2", "c d", "c d", "1"))},
     {"id": ["1", "2"], "label": ["0", "1"]}, {}),
    ("PAWS-X", "original", "dev", "fr",
     {"x-final/fr/dev_2k.tsv": tsv(("id", "sentence1", "sentence2", "label"), ("1", "Il a dit « oui »", "x", "1"))},
     {"text_a": ["Il a dit « oui »"], "label": ["1"]}, {}),
    ("PAWS-X", "original", "test", "zh",
     {"x-final/zh/test_2k.tsv": tsv(("id", "sentence1", "sentence2", "label"), ("5", "他来了", "他走了", "0"))},
     {"text_a": ["他来了"], "label": ["0"], "id": ["5"]}, {"require_labels": True}),
    # UD-POS
    ("UD-POS", "xtreme", "train", "en",
     {"udpos/train-en.tsv": "Al\tPROPN\n-\tPUNCT\n\nThe\tDET\nend\tNOUN\n"},
     {"tokens": [["Al", "-"], ["The", "end"]], "tags": [["PROPN", "PUNCT"], ["DET", "NOUN"]],
      "id": ["train-en-0", "train-en-1"]}, {}),
    ("UD-POS", "xtreme", "dev", "fr", {"udpos/dev-fr.tsv": "Il\tPRON\ndu\tADP\n\n"},
     {"tokens": [["Il", "du"]], "tags": [["PRON", "ADP"]]}, {}),
    ("UD-POS", "xtreme", "test", "fr", {"udpos/test-fr.tsv": "Il\ndort\n\nOui\n"},
     {"tokens": [["Il", "dort"], ["Oui"]], "tags": [[-1, -1], [-1]]}, {}),
    ("UD-POS", "original", "dev", "fr",
     {"ud-treebanks-v2.5/UD_French-Sequoia/fr_sequoia-ud-dev.conllu": CONLLU_FR_SEQUOIA,
      "ud-treebanks-v2.5/UD_French-GSD/fr_gsd-ud-dev.conllu": CONLLU_FR_GSD,
      "ud-treebanks-v2.5/UD_French-GSD/fr_gsd-ud-train.conllu": "1\tx\tx\tX\t_\t_\t0\troot\t_\t_\n\n"},
     # gsd before sequoia (sorted file names, as XTREME); 'du' = de+le keeps ADP (French precedence);
     # the '_ _' sentence is dropped; 'Dámelo' keeps the tag of its root word; spaces in '10 000' removed
     {"tokens": [["Il", "parle", "du", "chat", "."], ["Dámelo", "10000", "fois"]],
      "tags": [["PRON", "VERB", "ADP", "NOUN", "PUNCT"], ["VERB", "NUM", "NOUN"]]}, {}),
    ("UD-POS", "original", "train", "fa",
     {"ud-treebanks-v2.5/UD_Persian-Seraji/fa_seraji-ud-train.conllu":
      "# text = x\n1\tمی\u200cخواهم\t_\tVERB\t_\t_\t0\troot\t_\t_\n"},  # no final blank line
     {"tokens": [["میخواهم"]], "tags": [["VERB"]]}, {}),
    ("UD-POS", "original", "test", "de",
     {"ud-treebanks-v2.5/UD_German-GSD/de_gsd-ud-test.conllu":
      "1-2\tzum\t_\t_\t_\t_\t_\t_\t_\t_\n"
      "1\tzu\tzu\tADP\t_\t_\t3\tcase\t_\t_\n2\tdem\tder\tDET\t_\t_\t3\tdet\t_\t_\n"
        "3\tHaus\tHaus\tNOUN\t_\t_\t0\troot\t_\t_\n\n"},
     {"tokens": [["zum", "Haus"]], "tags": [["ADP", "NOUN"]]}, {"require_labels": True}),
    # PAN-X
    ("PAN-X", "xtreme", "train", "en",
     {"panx/train-en.tsv": "R.H.\tB-ORG\nSaunders\tI-ORG\n(\tO\n\nParis\tB-LOC\n"},
     {"tokens": [["R.H.", "Saunders", "("], ["Paris"]], "tags": [["B-ORG", "I-ORG", "O"], ["B-LOC"]]}, {}),
    ("PAN-X", "xtreme", "dev", "sw", {"panx/dev-sw.tsv": "Nairobi\tB-LOC\nni\tO\n"},
     {"tokens": [["Nairobi", "ni"]], "tags": [["B-LOC", "O"]]}, {}),
    ("PAN-X", "xtreme", "test", "sw", {"panx/test-sw.tsv": "Nairobi\nni\n\n"},
     {"tokens": [["Nairobi", "ni"]], "tags": [[-1, -1]]}, {}),
    ("PAN-X", "original", "train", "en",
     {"panx_dataset/en-train": "en:R.H.\tB-ORG\nen:Saunders\tI-ORG\nen:http://x.org\tO\nnoprefix\tO\n\n"
                               "en:Paris\tB-LOC\n\n"},
     {"tokens": [["R.H.", "Saunders", "http://x.org"], ["Paris"]],
      "tags": [["B-ORG", "I-ORG", "O"], ["B-LOC"]]}, {}),
    ("PAN-X", "original", "dev", "ja", {"panx_dataset/ja-dev": "ja:東京\tB-LOC\nja:に\tO\n"},
     {"tokens": [["東京", "に"]], "tags": [["B-LOC", "O"]]}, {}),
    ("PAN-X", "original", "test", "ar", {"panx_dataset/ar-test": "ar:القاهرة\tB-LOC\n\n"},
     {"tokens": [["القاهرة"]], "tags": [["B-LOC"]]}, {"require_labels": True}),
    # XQuAD
    ("XQuAD", "xtreme", "test", "de",
     {"xquad/xquad.de.json": xtreme_blanked((CONTEXT_DE, [("q1", "Wo lebten die Normannen?")]))},
     {"question": ["Wo lebten die Normannen?"], "answers": [{"text": [], "answer_start": []}], "id": ["q1"]}, {}),
    ("XQuAD", "original", "test", "de",
     {"xquad.de.json": squad((CONTEXT_DE, [("q1", "Wo?", [("in der Normandie", 21)]),
                                           ("q2", "Was?", [("Region", 48), ("einer Region", 42)])]))},
     {"id": ["q1", "q2"], "context": [CONTEXT_DE] * 2,
      "answers": [{"text": ["in der Normandie"], "answer_start": [21]},
                  {"text": ["Region", "einer Region"], "answer_start": [48, 42]}]}, {"require_labels": True}),
    # MLQA
    ("MLQA", "xtreme", "dev", "es",
     {"mlqa/MLQA_V1/dev/dev-context-es-question-es.json": squad(("Hola mundo.", [("a1", "¿Qué?", [("mundo", 5)])]))},
     {"answers": [{"text": ["mundo"], "answer_start": [5]}]}, {}),
    ("MLQA", "xtreme", "test", "es",
     {"mlqa/MLQA_V1/test/test-context-es-question-es.json": xtreme_blanked(("Hola mundo.", [("a1", "¿Qué?")]))},
     {"answers": [{"text": [], "answer_start": []}]}, {}),
    ("MLQA", "original", "dev", "zh",
     {"MLQA_V1/dev/dev-context-zh-question-zh.json": squad(("北京是首都。", [("z1", "哪里?", [("北京", 0)])]))},
     {"answers": [{"text": ["北京"], "answer_start": [0]}], "language": ["zh"]}, {}),
    ("MLQA", "original", "test", "zh",
     {"MLQA_V1/test/test-context-zh-question-zh.json": squad(("北京是首都。", [("z1", "哪里?", [("首都", 3)])]))},
     {"answers": [{"text": ["首都"], "answer_start": [3]}]}, {"require_labels": True}),
    # TyDiQA-GoldP
    ("TyDiQA-GoldP", "xtreme", "train", "en",
     {"tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json":
      squad(("A b c.", [("1", "b?", [("b", 2)])]), ("D e.", [("1", "e?", [("e", 2)])]))},
     # question ids lose their language prefix in XTREME's split and repeat: row ids instead
     {"id": ["train-en-0", "train-en-1"], "answers": [{"text": ["b"], "answer_start": [2]},
                                                      {"text": ["e"], "answer_start": [2]}]}, {}),
    ("TyDiQA-GoldP", "xtreme", "test", "sw",
     {"tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.sw.dev.json": xtreme_blanked(("Ndiyo.", [("swahili-9-0", "?")]))},
     {"answers": [{"text": [], "answer_start": []}], "id": ["swahili-9-0"]}, {}),
    ("TyDiQA-GoldP", "original", "train", "ar",
     {"tydiqa-goldp-v1.1-train.json": squad(("A b.", [("english-1-0", "b?", [("b", 2)])]),
                                            ("ج د.", [("arabic-2-0", "د?", [("د", 2)]),
                                                      ("arabic-3-0", "ج?", [("ج", 0)])]))},
     {"id": ["arabic-2-0", "arabic-3-0"], "language": ["ar", "ar"]}, {}),
    ("TyDiQA-GoldP", "original", "test", "fi",
     {"tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-finnish.json": squad(("Kyllä.", [("finnish-5-0", "?", [("Kyllä", 0)])]))},
     {"answers": [{"text": ["Kyllä"], "answer_start": [0]}]}, {"require_labels": True}),
    # intermediate tasks
    ("MNLI", "original", "train", None,
     {"MNLI/train.tsv": tsv(MNLI_BASE + ["label1", "gold_label"], mnli_row(0, P1, H1, "neutral", "neutral"),
                            mnli_row(1, 'you know "during', "x", "entailment", "entailment"))},
     {"text_a": [P1, 'you know "during'], "label": ["neutral", "entailment"], "id": ["31193n", "31194n"],
      "language": ["en", "en"]}, {}),
    ("MNLI", "original", "dev", None,
     {"MNLI/dev_matched.tsv": tsv(MNLI_BASE + ["label1", "label2", "label3", "label4", "label5", "gold_label"],
                                  mnli_row(0, "a", "b", *(["contradiction"] * 6)))},
     {"label": ["contradiction"]}, {}),
    ("MNLI", "original", "dev_mismatched", None,
     {"MNLI/dev_mismatched.tsv": tsv(MNLI_BASE + ["label1", "label2", "label3", "label4", "label5", "gold_label"],
                                     mnli_row(0, "a", "b", *(["neutral"] * 6)))},
     {"label": ["neutral"]}, {}),
    ("MNLI", "original", "test", None, {"MNLI/test_matched.tsv": tsv(MNLI_BASE, mnli_row(0, "a", "b"))},
     {"text_b": ["b"], "label": [-1]}, {}),
    ("MNLI", "jiant", "train", None,
     {"mnli/train.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "neutral", "idx": 0},
                             {"premise": "c", "hypothesis": "d", "label": "contradiction", "idx": 1})},
     {"label": ["neutral", "contradiction"], "id": ["0", "1"]}, {}),
    ("MNLI", "jiant", "dev", None,
     {"mnli/val.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "entailment", "idx": 0})},
     {"label": ["entailment"]}, {}),
    ("MNLI", "jiant", "dev_mismatched", None,
     {"mnli_mismatched/val.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "neutral", "idx": 0})},
     {"label": ["neutral"]}, {}),
    ("MNLI", "jiant", "test", None,
     {"mnli/test.jsonl": jl({"premise": "a", "hypothesis": "b", "label": -1, "idx": 0})}, {"label": [-1]}, {}),
    ("QQP", "original", "train", None,
     {"QQP/train.tsv": tsv(("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
                           ("133273", "213221", "213222", 'How is "life"?', "How is life?", "1"))},
     {"text_a": ['How is "life"?'], "label": ["1"], "id": ["133273"]}, {}),
    ("QQP", "original", "dev", None,
     {"QQP/dev.tsv": tsv(("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
                         ("1", "2", "3", "a?", "b?", "0"))}, {"label": ["0"]}, {}),
    ("QQP", "original", "test", None,
     {"QQP/test.tsv": tsv(("id", "question1", "question2"), ("0", "a?", "b?"))}, {"label": [-1], "id": ["0"]}, {}),
    ("QQP", "jiant", "train", None,
     {"qqp/train.jsonl": jl({"text_a": "a?", "text_b": "b?", "label": "1", "idx": 0})}, {"label": ["1"]}, {}),
    ("QQP", "jiant", "dev", None,
     {"qqp/val.jsonl": jl({"text_a": "a?", "text_b": "b?", "label": "0", "idx": 0})}, {"label": ["0"]}, {}),
    ("QQP", "jiant", "test", None,
     {"qqp/test.jsonl": jl({"text_a": "a?", "text_b": "b?", "label": -1, "idx": 0})}, {"label": [-1]}, {}),
    ("CCG", "jiant", "train", None,
     {"CCG/ccg_1363.train": "Pierre Vinken , 61\t12 5 3 1362\nthe dog\t0 7\n"},
     {"tokens": [["Pierre", "Vinken", ",", "61"], ["the", "dog"]], "tags": [[12, 5, 3, 1362], [0, 7]]}, {}),
    ("CCG", "jiant", "dev", None, {"CCG/ccg_1363.dev": "a b\t1 2\n"}, {"tags": [[1, 2]]}, {}),
    ("CCG", "jiant", "test", None, {"CCG/ccg_1363.test": "a\t9\n"}, {"tags": [[9]]}, {}),
    ("SQuAD-v1.1", "original", "train", None,
     {"train-v1.1.json": squad((CONTEXT, [("5733be", "Where?", [("Normandy", 22)])]))},
     {"id": ["5733be"], "answers": [{"text": ["Normandy"], "answer_start": [22]}]}, {}),
    ("SQuAD-v1.1", "original", "dev", None,
     {"dev-v1.1.json": squad((CONTEXT, [("d1", "Where?", [("Normandy", 22), ("in Normandy", 19)])]))},
     {"answers": [{"text": ["Normandy", "in Normandy"], "answer_start": [22, 19]}]}, {}),
    ("SQuAD-v1.1", "xtreme", "train", None,
     {"squad/train-v1.1.json": squad((CONTEXT, [("x1", "Where?", [("France", 43)])]))},
     {"answers": [{"text": ["France"], "answer_start": [43]}]}, {}),
    ("SQuAD-v1.1", "xtreme", "dev", None,
     {"squad/dev-v1.1.json": squad((CONTEXT, [("x2", "Who?", [("The Normans", 0)])]))},
     {"answers": [{"text": ["The Normans"], "answer_start": [0]}]}, {}),
    ("SQuAD-v1.1", "jiant", "train", None,
     {"squad_v1/train-v1.1.json": squad((CONTEXT, [("j1", "Who?", [("Normans", 4)])]))}, {"id": ["j1"]}, {}),
    ("SQuAD-v1.1", "jiant", "dev", None,
     {"squad_v1/dev-v1.1.json": squad((CONTEXT, [("j2", "Who?", [("Normans", 4)])]))}, {"id": ["j2"]}, {}),
    ("SQuAD-v2.0", "original", "train", None,
     {"train-v2.0.json": squad((CONTEXT, [("v1", "Where?", [("Normandy", 22)], {"is_impossible": False}),
                                          ("v2", "When?", [], {"is_impossible": True,
                                                               "plausible_answers": [{"text": "a", "answer_start": 1}]})]),
                               version="v2.0")},
     {"answers": [{"text": ["Normandy"], "answer_start": [22]}, {"text": [], "answer_start": []}]}, {}),
    ("SQuAD-v2.0", "original", "dev", None,
     {"dev-v2.0.json": squad((CONTEXT, [("v3", "Why?", [], {"is_impossible": True})]), version="v2.0")},
     {"answers": [{"text": [], "answer_start": []}]}, {"require_labels": True}),
    ("SQuAD-v2.0", "jiant", "train", None,
     {"squad_v2/train-v2.0.json": squad((CONTEXT, [("v4", "Where?", [("France", 43)])]), version="v2.0")},
     {"id": ["v4"]}, {}),
    ("SQuAD-v2.0", "jiant", "dev", None,
     {"squad_v2/dev-v2.0.json": squad((CONTEXT, [("v5", "Where?", [("France", 43)])]), version="v2.0")},
     {"id": ["v5"]}, {}),
    # multiple choice
    ("HellaSwag", "original", "train", None,
     {"hellaswag_train.jsonl": jl({"ind": 4, "activity_label": "Removing ice from car", "ctx_a": "Then, the man "
                                   "writes over the snow covering the window of a car.", "ctx_b": "then",
                                   "ctx": "...", "split": "train", "split_type": "indomain", "label": 3,
                                   "endings": ["a", "b", "c", "d"], "source_id": "activitynet~v_-1IBHYS3L-Y"})},
     {"context": ["Then, the man writes over the snow covering the window of a car."], "question": ["then"],
      "choices": [["a", "b", "c", "d"]], "label": [3], "id": ["4"]}, {}),
    ("HellaSwag", "original", "dev", None,
     {"hellaswag_val.jsonl": jl({"ind": 24, "ctx_a": "x", "ctx_b": "y", "label": 0, "endings": list("abcd")})},
     {"label": [0]}, {}),
    ("HellaSwag", "original", "test", None,
     {"hellaswag_test.jsonl": jl({"ind": 1, "ctx_a": "x", "ctx_b": "", "endings": list("abcd")})},
     {"label": [-1], "question": [""]}, {}),
    ("HellaSwag", "jiant", "train", None,
     {"hellaswag/train.jsonl": jl({"ind": 4, "ctx_a": "x", "ctx_b": "y", "label": 2, "endings": list("abcd")})},
     {"label": [2]}, {}),
    ("HellaSwag", "jiant", "dev", None,
     {"hellaswag/val.jsonl": jl({"ind": 5, "ctx_a": "x", "ctx_b": "y", "label": 1, "endings": list("abcd")})},
     {"label": [1]}, {}),
    ("HellaSwag", "jiant", "test", None,
     {"hellaswag/test.jsonl": jl({"ind": 6, "ctx_a": "x", "ctx_b": "y", "label": "", "endings": list("abcd")})},
     {"label": [-1]}, {}),
    ("CosmosQA", "original", "train", None,
     {"cosmosqa/data/train.csv": 'id,context,question,answer0,answer1,answer2,answer3,label\n'
                                 '3Q9SPIIR,"Good, ""old"" times.\nThe end.",What may happen?,a,"b, c",d,e,1\n'},
     {"context": ['Good, "old" times.\nThe end.'], "choices": [["a", "b, c", "d", "e"]], "label": [1],
      "id": ["3Q9SPIIR"]}, {}),
    ("CosmosQA", "original", "dev", None,
     {"cosmosqa/data/valid.csv": "id,context,question,answer0,answer1,answer2,answer3,label\nv1,c,q,a,b,c,d,3\n"},
     {"label": [3]}, {}),
    ("CosmosQA", "original", "test", None,
     {"cosmosqa/data/test.jsonl": jl({"id": "t1", "context": "c", "question": "q", "answer0": "a",
                                      "answer1": "b", "answer2": "c", "answer3": "d"})},
     {"label": [-1], "choices": [["a", "b", "c", "d"]]}, {}),
    ("CosmosQA", "jiant", "train", None,
     {"cosmosqa/train.jsonl": jl({"id": "j", "context": "c", "question": "q", "answer0": "a", "answer1": "b",
                                  "answer2": "c", "answer3": "d", "label": 2})}, {"label": [2]}, {}),
    ("CosmosQA", "jiant", "dev", None,
     {"cosmosqa/val.jsonl": jl({"id": "j", "context": "c", "question": "q", "answer0": "a", "answer1": "b",
                                "answer2": "c", "answer3": "d", "label": 0})}, {"label": [0]}, {}),
    ("CosmosQA", "jiant", "test", None,
     {"cosmosqa/test.jsonl": jl({"id": "j", "context": "c", "question": "q", "answer0": "a", "answer1": "b",
                                 "answer2": "c", "answer3": "d", "label": -1})}, {"label": [-1]}, {}),
    ("CommonsenseQA", "original", "train", None,
     {"train_rand_split.jsonl": jl({"answerKey": "B", "id": "075e48", "question": {
         "question_concept": "punishing", "choices": [{"label": k, "text": v} for k, v in
                                                      zip("ABCDE", ["ignore", "enforce", "authoritarian", "yell at",
                                                                    "avoid"])],
         "stem": "The sanctions were a punishing blow, and they seemed to what?"}})},
     {"context": [""], "question": ["The sanctions were a punishing blow, and they seemed to what?"],
      "choices": [["ignore", "enforce", "authoritarian", "yell at", "avoid"]], "label": [1], "id": ["075e48"]}, {}),
    ("CommonsenseQA", "original", "dev", None,
     {"dev_rand_split.jsonl": jl({"answerKey": "E", "id": "d", "question": {
         "stem": "q", "choices": [{"label": k, "text": k.lower()} for k in "ABCDE"]}})}, {"label": [4]}, {}),
    ("CommonsenseQA", "original", "test", None,
     {"test_rand_split_no_answers.jsonl": jl({"id": "t", "question": {
         "stem": "q", "choices": [{"label": k, "text": k.lower()} for k in "ABCDE"]}})},
     {"label": [-1], "choices": [list("abcde")]}, {}),
    ("CommonsenseQA", "jiant", "train", None,
     {"commonsenseqa/train.jsonl": jl({"id": "j", "question": "q", "question_concept": "c",
                                       "choices": {"label": list("ABCDE"), "text": list("vwxyz")},
                                       "answerKey": "C"})},
     {"question": ["q"], "choices": [list("vwxyz")], "label": [2]}, {}),
    ("CommonsenseQA", "jiant", "dev", None,
     {"commonsenseqa/val.jsonl": jl({"id": "j", "question": "q", "question_concept": "c",
                                     "choices": {"label": list("ABCDE"), "text": list("vwxyz")},
                                     "answerKey": "A"})}, {"label": [0]}, {}),
    ("CommonsenseQA", "jiant", "test", None,
     {"commonsenseqa/test.jsonl": jl({"id": "j", "question": "q", "question_concept": "c",
                                      "choices": {"label": list("ABCDE"), "text": list("vwxyz")},
                                      "answerKey": ""})}, {"label": [-1]}, {}),
    # components of ANLI+
    ("ANLI", "original", "dev", None,
     {f"anli_v1.0/R{r}/dev.jsonl": jl({"uid": f"u{r}", "context": "Premise.", "hypothesis": f"H{r}.",
                                       "label": "ecn"[r - 1], "reason": ""}) for r in (1, 2, 3)},
     {"id": ["u1", "u2", "u3"], "label": ["entailment", "contradiction", "neutral"], "text_b": ["H1.", "H2.", "H3."]},
     {}),
    ("ANLI", "original", "train", None,
     {f"anli_v1.0/R{r}/train.jsonl": jl({"uid": f"t{r}", "context": "P", "hypothesis": "H", "label": "n",
                                         "reason": ""}) for r in (1, 2, 3)}, {"id": ["t1", "t2", "t3"]}, {}),
    ("ANLI", "original", "test", None,
     {f"anli_v1.0/R{r}/test.jsonl": jl({"uid": f"s{r}", "context": "P", "hypothesis": "H", "label": "c",
                                        "reason": ""}) for r in (1, 2, 3)}, {"label": ["contradiction"] * 3}, {}),
    ("ANLI", "jiant", "dev", None,
     {f"adversarial_nli_r{r}/val.jsonl": jl({"uid": f"v{r}", "context": "P", "hypothesis": "H", "label": "e",
                                             "reason": ""}) for r in (1, 2, 3)}, {"label": ["entailment"] * 3}, {}),
    ("ANLI", "jiant", "train", None,
     {f"adversarial_nli_r{r}/train.jsonl": jl({"uid": f"w{r}", "context": "P", "hypothesis": "H", "label": "n",
                                               "reason": ""}) for r in (1, 2, 3)}, {"label": ["neutral"] * 3}, {}),
    ("ANLI", "jiant", "test", None,
     {f"adversarial_nli_r{r}/test.jsonl": jl({"uid": f"x{r}", "context": "P", "hypothesis": "H", "label": "c",
                                              "reason": ""}) for r in (1, 2, 3)}, {"id": ["x1", "x2", "x3"]}, {}),
    ("SNLI", "original", "train", None,
     {"snli_1.0/snli_1.0_train.jsonl": jl(
         {"annotator_labels": ["neutral"], "captionID": "3416050480.jpg#4", "gold_label": "neutral",
          "pairID": "3416050480.jpg#4r1n", "sentence1": "A person on a horse.", "sentence2": "A person is outdoors."},
         {"gold_label": "-", "pairID": "p2", "sentence1": "x", "sentence2": "y"},
         {"gold_label": "entailment", "pairID": "p3", "sentence1": "z", "sentence2": "w"})},
     # '-' (no annotator consensus) is dropped, as jiant does
     {"id": ["3416050480.jpg#4r1n", "p3"], "label": ["neutral", "entailment"]}, {}),
    ("SNLI", "original", "dev", None,
     {"snli_1.0/snli_1.0_dev.jsonl": jl({"gold_label": "contradiction", "pairID": "d1", "sentence1": "a",
                                         "sentence2": "b"})}, {"label": ["contradiction"]}, {}),
    ("SNLI", "original", "test", None,
     {"snli_1.0/snli_1.0_test.jsonl": jl({"gold_label": "neutral", "pairID": "s1", "sentence1": "a",
                                          "sentence2": "b"})}, {"label": ["neutral"]}, {}),
    ("SNLI", "jiant", "train", None,
     {"snli/train.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "entailment"},
                             {"premise": "c", "hypothesis": "d", "label": -1})},
     {"text_a": ["a"], "label": ["entailment"]}, {}),
    ("SNLI", "jiant", "dev", None,
     {"snli/val.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "neutral"})}, {"label": ["neutral"]}, {}),
    ("SNLI", "jiant", "test", None,
     {"snli/test.jsonl": jl({"premise": "a", "hypothesis": "b", "label": "contradiction"})},
     {"label": ["contradiction"]}, {}),
    # the generic jsonl layout, one per format
    ("XNLI", "jsonl", "test", "th",
     {"xnli/test-th.jsonl": jl({"text_a": "a", "text_b": "b", "label": "neutral"},
                               {"text_a": "c", "text_b": "d", "label": 0, "id": "own"})},
     {"label": ["neutral", "contradiction"], "id": ["test-th-0", "own"]}, {}),
    ("PAWS-X", "jsonl", "dev", "ko", {"pawsx/dev-ko.jsonl": jl({"text_a": "a", "text_b": "b", "label": 1})},
     {"label": ["1"]}, {}),
    ("UD-POS", "jsonl", "train", "en",
     {"udpos/train-en.jsonl": jl({"tokens": ["I", "run"], "tags": ["PRON", "VERB"]})},
     {"tokens": [["I", "run"]], "tags": [["PRON", "VERB"]]}, {}),
    ("PAN-X", "jsonl", "test", "yo",
     {"panx/test-yo.jsonl": jl({"tokens": ["Èkó"], "tags": [0]})}, {"tags": [["B-LOC"]]}, {}),
    ("XQuAD", "jsonl", "test", "el",
     {"xquad/test-el.jsonl": jl({"id": "q", "context": "α β", "question": "β;",
                                 "answers": {"text": ["β"], "answer_start": [2]}})},
     {"answers": [{"text": ["β"], "answer_start": [2]}], "id": ["q"]}, {}),
    ("MLQA", "jsonl", "dev", "hi",
     {"mlqa/dev-hi.jsonl": jl({"id": "q", "context": "क ख", "question": "?",
                               "answers": {"text": ["ख"], "answer_start": [2]}})}, {"id": ["q"]}, {}),
    ("TyDiQA-GoldP", "jsonl", "train", "en",
     {"tydiqa/train-en.jsonl": jl({"id": "q", "context": "a b", "question": "?",
                                   "answers": {"text": ["b"], "answer_start": [2]}})}, {"id": ["q"]}, {}),
    ("MNLI", "jsonl", "dev_mismatched", None,
     {"mnli/dev_mismatched-en.jsonl": jl({"text_a": "a", "text_b": "b", "label": 2})}, {"label": ["neutral"]}, {}),
    ("QQP", "jsonl", "train", None, {"qqp/train-en.jsonl": jl({"text_a": "a", "text_b": "b", "label": "0"})},
     {"label": ["0"]}, {}),
    ("CCG", "jsonl", "dev", None, {"ccg/dev-en.jsonl": jl({"tokens": ["a", "b"], "tags": [3, "4"]})},
     {"tags": [[3, 4]]}, {}),
    ("SQuAD-v1.1", "jsonl", "dev", None,
     {"squad_v1/dev-en.jsonl": jl({"id": "s", "context": "a b", "question": "?",
                                   "answers": {"text": ["a"], "answer_start": [0]}})}, {"id": ["s"]}, {}),
    ("SQuAD-v2.0", "jsonl", "train", None,
     {"squad_v2/train-en.jsonl": jl({"id": "s", "context": "a b", "question": "?",
                                     "answers": {"text": [], "answer_start": []}})},
     {"answers": [{"text": [], "answer_start": []}]}, {}),
    ("HellaSwag", "jsonl", "dev", None,
     {"hellaswag/dev-en.jsonl": jl({"id": "h", "context": "c", "question": "q", "choices": list("abcd"),
                                    "label": 3})}, {"label": [3]}, {}),
    ("CosmosQA", "jsonl", "train", None,
     {"cosmosqa/train-en.jsonl": jl({"id": "h", "context": "c", "question": "q", "choices": list("abcd"),
                                     "label": 1})}, {"label": [1]}, {}),
    ("CommonsenseQA", "jsonl", "test", None,
     {"commonsenseqa/test-en.jsonl": jl({"id": "h", "context": "", "question": "q", "choices": list("abcde"),
                                         "label": 4})}, {"label": [4]}, {}),
]

RETRIEVAL_CASES = [
    ("BUCC", "xtreme", "dev", "de",
     {"bucc2018/de-en.dev.de": "de-000000001\tDer Hund schläft.\nde-000000002\tJa.\n",
      "bucc2018/de-en.dev.en": "en-000000001\tYes.\nen-000000002\tThe dog sleeps.\n",
      "bucc2018/de-en.dev.gold": "de-000000001\ten-000000002\n"},
     {"source": (["de-000000001", "de-000000002"], ["Der Hund schläft.", "Ja."]),
      "target": (["en-000000001", "en-000000002"], ["Yes.", "The dog sleeps."]),
      "gold": [("de-000000001", "en-000000002")], "labelled": True}, {}),
    ("BUCC", "xtreme", "test", "fr",
     {"bucc2018/fr-en.test.fr": "fr-000000001\tOui.\n", "bucc2018/fr-en.test.en": "en-000000001\tYes.\n"},
     {"source": (["fr-000000001"], ["Oui."]), "gold": None, "labelled": False}, {"require_labels": False}),
    ("BUCC", "original", "dev", "zh",
     {"bucc2018/zh-en/zh-en.sample.zh": "zh-000000001\t狗睡了。\n",
      "bucc2018/zh-en/zh-en.sample.en": "en-000000001\tThe dog sleeps.\n",
      "bucc2018/zh-en/zh-en.sample.gold": "zh-000000001\ten-000000001\n"},
     {"gold": [("zh-000000001", "en-000000001")], "labelled": True}, {}),
    ("BUCC", "original", "test", "ru",
     {"bucc2018/ru-en/ru-en.training.ru": "ru-000000001\tДа.\n",
      "bucc2018/ru-en/ru-en.training.en": "en-000000001\tYes.\n",
      "bucc2018/ru-en/ru-en.training.gold": "ru-000000001\ten-000000001\n"},
     {"source": (["ru-000000001"], ["Да."]), "gold": [("ru-000000001", "en-000000001")]}, {}),
    ("Tatoeba", "xtreme", "test", "de",
     {"tatoeba/de-en.de": "Danke.\nHallo.\n", "tatoeba/de-en.en": "Hello.\nThanks.\n"},
     {"source": (["test-de-0", "test-de-1"], ["Danke.", "Hallo."]), "gold": None, "labelled": False},
     {"require_labels": False}),
    ("Tatoeba", "original", "test", "fa",
     {"LASER/data/tatoeba/v1/tatoeba.pes-eng.pes": "سلام.\nممنون.\n",
      "LASER/data/tatoeba/v1/tatoeba.pes-eng.eng": "Hello.\nThanks.\n"},
     {"source": (["test-fa-0", "test-fa-1"], ["سلام.", "ممنون."]),
      "target": (["test-en-0", "test-en-1"], ["Hello.", "Thanks."]), "gold": None, "labelled": True}, {}),
    ("BUCC", "jsonl", "test", "de",
     {"bucc2018/test-de.source.jsonl": jl({"id": "s1", "text": "Ja."}),
      "bucc2018/test-de.target.jsonl": jl({"id": "t1", "text": "Yes."}, {"id": "t2", "text": "No."}),
      "bucc2018/test-de.gold.jsonl": jl({"source": "s1", "target": "t1"})},
     {"source": (["s1"], ["Ja."]), "target": (["t1", "t2"], ["Yes.", "No."]), "gold": [("s1", "t1")]}, {}),
    ("Tatoeba", "jsonl", "test", "sw",
     {"tatoeba/test-sw.source.jsonl": jl({"id": "a", "text": "Ndiyo."}),
      "tatoeba/test-sw.target.jsonl": jl({"id": "b", "text": "Yes."})},
     {"source": (["a"], ["Ndiyo."]), "target": (["b"], ["Yes."]), "gold": None}, {}),
]


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


def _indices(task, column, values):
    t = get_task(task)
    if column == "label":
        return [t.labels.index(v) if isinstance(v, str) else v for v in values]
    if column == "tags":
        return [[t.labels.index(v) if isinstance(v, str) else v for v in row] for row in values]
    return values


def _case_id(case):
    return f"{case[0]}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_layout_fixture(tmp_path, case):
    task, layout, split, lang, files, expect, kw = case
    _write(tmp_path, files)
    ds = load_examples(task, split, lang, data_dir=tmp_path, layout=layout, **kw)
    t = get_task(task)
    assert ds.column_names == list(canonical_features(t))
    assert ds.features == canonical_features(t)
    for col, values in expect.items():
        assert ds[col] == _indices(task, col, values), col
    n = len(next(iter(expect.values())))
    assert len(ds) == n
    assert len(set(ds["id"])) == len(ds)
    assert set(ds["language"]) == {lang or t.train_language}
    # the default layout finds the same files
    assert find_layout(task, split, data_dir=tmp_path, language=lang) == layout
    assert load_examples(task, split, lang, data_dir=tmp_path).to_list() == ds.to_list()


@pytest.mark.parametrize("case", RETRIEVAL_CASES, ids=_case_id)
def test_retrieval_fixture(tmp_path, case):
    task, layout, split, lang, files, expect, kw = case
    _write(tmp_path, files)
    data = load_retrieval(task, split, lang, data_dir=tmp_path, layout=layout, **kw)
    assert isinstance(data, RetrievalData)
    for side in ("source", "target"):
        ds = getattr(data, side)
        assert ds.column_names == ["id", "language", "text"]
        assert set(ds["language"]) == {lang if side == "source" else "en"}
        if side in expect:
            assert (list(ds["id"]), list(ds["text"])) == expect[side]
    if "gold" in expect:
        assert data.gold == expect["gold"]
    assert data.labelled == expect.get("labelled", True)


def test_every_task_and_layout_has_a_fixture():
    covered = {(c[0], c[1]) for c in CASES + RETRIEVAL_CASES}
    covered_splits = {(c[0], c[1], c[2]) for c in CASES + RETRIEVAL_CASES}
    for kind in ("target", "intermediate", "component"):
        for name in list_tasks(kind):
            t = get_task(name)
            for lay in t.layouts:
                assert (name, lay.name) in covered, (name, lay.name)
                if lay.name != "jsonl":
                    for split in lay.splits:
                        assert (name, lay.name, split) in covered_splits, (name, lay.name, split)


# ---- composites -------------------------------------------------------------------------


def _anli_plus_files(root):
    files = {f"anli_v1.0/R{r}/{sp}.jsonl": jl({"uid": f"{sp}{r}", "context": "P", "hypothesis": "H", "label": "e",
                                               "reason": ""}) for r in (1, 2, 3) for sp in ("train", "dev")}
    files["mnli/train.jsonl"] = jl({"premise": "a", "hypothesis": "b", "label": "neutral", "idx": 0})
    files["snli_1.0/snli_1.0_train.jsonl"] = jl({"gold_label": "contradiction", "pairID": "p", "sentence1": "x",
                                                 "sentence2": "y"})
    _write(root, files)


def test_anli_plus_concatenates_components(tmp_path):
    _anli_plus_files(tmp_path)
    ds = load_examples("ANLI+", "train", data_dir=tmp_path)
    assert ds["id"] == ["ANLI/train1", "ANLI/train2", "ANLI/train3", "MNLI/0", "SNLI/p"]
    assert ds["label"] == [1, 1, 1, 2, 0]
    dev = load_examples("anli_plus", "dev", "en", data_dir=tmp_path)
    assert dev["id"] == ["ANLI/dev1", "ANLI/dev2", "ANLI/dev3"]
    assert load_examples("ANLI+", "train", data_dir=tmp_path, limit=4)["id"][-1] == "MNLI/0"
    with pytest.raises(DataError, match="components"):
        find_layout("ANLI+", "train", data_dir=tmp_path)  # MNLI's files are jiant's, ANLI's original
    # a named layout: components that have it use it, the others are found
    _write(tmp_path, {"mnli/train-en.jsonl": jl({"text_a": "a", "text_b": "b", "label": "entailment"})})
    ds = load_examples("ANLI+", "train", data_dir=tmp_path, layout="jsonl")
    assert ds["id"][3:] == ["MNLI/train-en-0", "SNLI/p"] and ds["label"][3] == 1
    with pytest.raises(DataError, match="adversarial_nli_r1/train.jsonl"):
        load_examples("ANLI+", "train", data_dir=tmp_path, layout="jiant")
    # components without the layout use their first, as Task.paths does
    assert find_layout("ANLI+", "train", data_dir=tmp_path) == "jsonl"
    assert find_layout("ANLI+", "dev", data_dir=tmp_path) == "original"
    with pytest.raises(ValueError, match="layout='xtreme'"):
        load_examples("ANLI+", "train", data_dir=tmp_path, layout="xtreme")


# ---- errors and options -----------------------------------------------------------------


def test_missing_files_list_paths_and_layouts(tmp_path):
    with pytest.raises(DataError) as err:
        load_examples("XNLI", "dev", "de", data_dir=tmp_path)
    msg = str(err.value)
    assert "xnli/dev-de.tsv" in msg and "XNLI-1.0/xnli.dev.tsv" in msg and "xnli/dev-de.jsonl" in msg
    assert "['xtreme', 'original', 'jsonl']" in msg
    with pytest.raises(DataError, match=r"missing files .* \['xnli/dev-de.tsv'\]"):
        load_examples("XNLI", "dev", "de", data_dir=tmp_path, layout="xtreme")
    with pytest.raises(DataError, match="ud-treebanks-v2.5/UD_\\*/th_\\*-ud-test.conllu"):
        load_examples("UD-POS", "test", "th", data_dir=tmp_path, layout="original")


def test_require_labels_names_the_labelled_layout(tmp_path):
    _write(tmp_path, {"xnli/test-de.tsv": "a\tb\r\n", "panx/test-de.tsv": "Berlin\n"})
    assert load_examples("XNLI", "test", "de", data_dir=tmp_path)["label"] == [-1]
    with pytest.raises(DataError, match=r"XTREME strips .* use layout='original' .*XNLI-1.0/xnli.test.tsv"):
        load_examples("XNLI", "test", "de", data_dir=tmp_path, require_labels=True)
    with pytest.raises(DataError, match="layout='original'"):
        load_examples("XNLI", "test", "de", data_dir=tmp_path, layout="xtreme", require_labels=True)
    with pytest.raises(DataError, match="panx_dataset/de-test"):
        load_examples("PAN-X", "test", "de", data_dir=tmp_path, require_labels=True)
    # once the original files are there, they are found
    _write(tmp_path, {"XNLI-1.0/xnli.test.tsv": tsv(XNLI_DEV_HEADER, xnli_row("de", "neutral", "a", "b", "1"))})
    assert find_layout("XNLI", "test", data_dir=tmp_path, language="de") == "xtreme"
    assert find_layout("XNLI", "test", data_dir=tmp_path, language="de", require_labels=True) == "original"
    assert load_examples("XNLI", "test", "de", data_dir=tmp_path, require_labels=True)["label"] == [2]


def test_require_labels_checks_content(tmp_path):
    _write(tmp_path, {"xnli/test-de.jsonl": jl({"text_a": "a", "text_b": "b", "label": -1})})
    assert load_examples("XNLI", "test", "de", data_dir=tmp_path)["label"] == [-1]
    with pytest.raises(DataError, match="hold no gold labels"):
        load_examples("XNLI", "test", "de", data_dir=tmp_path, require_labels=True)


def test_retrieval_labels(tmp_path):
    _write(tmp_path, RETRIEVAL_CASES[1][4])  # BUCC xtreme test: no gold file
    with pytest.raises(DataError, match="layout='original'"):
        load_retrieval("BUCC", "test", "fr", data_dir=tmp_path)
    _write(tmp_path, {"tatoeba/de-en.de": "a\n", "tatoeba/de-en.en": "b\n"})
    with pytest.raises(DataError, match="LASER/data/tatoeba/v1/tatoeba.deu-eng.deu"):
        load_retrieval("Tatoeba", "test", "de", data_dir=tmp_path, layout="xtreme")
    _write(tmp_path, {"LASER/data/tatoeba/v1/tatoeba.deu-eng.deu": "a\nb\n",
                      "LASER/data/tatoeba/v1/tatoeba.deu-eng.eng": "c\n"})
    with pytest.raises(DataError, match="2 and 1 lines"):
        load_retrieval("Tatoeba", "test", "de", data_dir=tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split='validation'"):
        load_examples("XNLI", "validation", "de", data_dir=tmp_path)
    with pytest.raises(ValueError, match="language='xx'"):
        load_examples("XNLI", "dev", "xx", data_dir=tmp_path)
    with pytest.raises(ValueError, match="language='Japanese' is not a language of task 'XNLI'"):
        load_examples("XNLI", "dev", "Japanese", data_dir=tmp_path)
    with pytest.raises(ValueError, match="layout='hf'"):
        load_examples("XNLI", "dev", "de", data_dir=tmp_path, layout="hf")
    with pytest.raises(ValueError, match="limit=-1"):
        load_examples("XNLI", "dev", "de", data_dir=tmp_path, limit=-1)
    with pytest.raises(ValueError, match="load_retrieval"):
        load_examples("BUCC", "dev", "de", data_dir=tmp_path)
    with pytest.raises(ValueError, match="load_examples"):
        load_retrieval("XNLI", "dev", "de", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown task"):
        load_examples("XNLX", "dev", "de", data_dir=tmp_path)
    with pytest.raises(DataError, match="data_dir="):
        load_examples("XNLI", "dev", "de", data_dir=tmp_path / "nope")
    with pytest.raises(DataError, match="language 'de'|only for|expected one of \\['en'\\]"):
        load_examples("PAWS-X", "train", "de", data_dir=tmp_path, layout="xtreme")


def test_language_spellings_and_limit(tmp_path):
    _write(tmp_path, {"xnli/dev-de.tsv": "a\tb\tneutral\r\nc\td\tentailment\r\ne\tf\tneutral\r\n"})
    ds = load_examples("xnli", "dev", "German", data_dir=tmp_path, limit=2)
    assert ds["id"] == ["dev-de-0", "dev-de-1"] and ds["language"] == ["de", "de"]
    assert len(load_examples("XNLI", "dev", "deu", data_dir=tmp_path, limit=0)) == 0


def test_malformed_files(tmp_path):
    _write(tmp_path, {"xnli/dev-de.tsv": "a\tb\tneutral\r\nbroken line\r\n",
                      "xnli/dev-fr.tsv": "a\tb\tneutre\r\n",
                      "xnli/dev-es.tsv": "just one field\r\n",
                      "xnli/dev-ar.jsonl": "{not json\n",
                      "panx/dev-de.tsv": "Berlin\tB-LOC\nist\n",
                      "CCG/ccg_1363.dev": "a b\t1 2\nc d\t3\n",
                      "hellaswag_val.jsonl": jl({"ind": 1, "ctx_a": "x", "ctx_b": "y", "label": 0,
                                                 "endings": ["a", "b"]})})
    with pytest.warns(DataWarning, match="skipped 1 rows"):
        assert load_examples("XNLI", "dev", "de", data_dir=tmp_path)["text_a"] == ["a"]
    with pytest.raises(DataError, match="label 'neutre' is not one of"):
        load_examples("XNLI", "dev", "fr", data_dir=tmp_path)
    with pytest.raises(DataError, match="no row has the expected"):
        load_examples("XNLI", "dev", "es", data_dir=tmp_path)
    with pytest.raises(DataError, match="not a JSON object"):
        load_examples("XNLI", "dev", "ar", data_dir=tmp_path)
    with pytest.raises(DataError, match="no tag on the line"):
        load_examples("PAN-X", "dev", "de", data_dir=tmp_path)
    with pytest.warns(DataWarning, match="one tag per token"):
        assert load_examples("CCG", "dev", data_dir=tmp_path)["tags"] == [[1, 2]]
    with pytest.raises(DataError, match="2 choices, HellaSwag has 4"):
        load_examples("HellaSwag", "dev", data_dir=tmp_path)
    (tmp_path / "xnli/dev-ru.tsv").write_bytes("Он пришёл\tx\tneutral\n".encode("cp1251"))
    with pytest.raises(DataError, match="dev-ru.tsv: not UTF-8"):
        load_examples("XNLI", "dev", "ru", data_dir=tmp_path)


def test_unlabelled_rows_of_labelled_files(tmp_path):
    # a labelled file whose rows all lack labels is read as unlabelled, not emptied
    _write(tmp_path, {"snli/test.jsonl": jl({"premise": "a", "hypothesis": "b", "label": -1})})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_examples("SNLI", "test", data_dir=tmp_path)["label"] == [-1]


def test_datasets_live_in_memory(tmp_path):
    _write(tmp_path, {"xnli/dev-de.tsv": "a\tb\tneutral\r\n"})
    assert load_examples("XNLI", "dev", "de", data_dir=tmp_path).cache_files == []
