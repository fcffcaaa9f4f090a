import json
import random

import numpy as np
import pytest

from keras_textnet.data.annotation import (
    AnnotationError,
    AnnotationSet,
    ImageRecord,
    Line,
    Word,
)
from keras_textnet.evaluation.protocol import (
    EvaluationResult,
    MatchCounts,
    evaluate,
    greedy_match,
    levenshtein,
    load_predictions,
    normalize_text,
    pairwise_iou,
    precision_recall_f,
    predictions_from_json,
)


def _rec(file="page.png", words=(), doc=None, lines=()):
    return ImageRecord(file=file, width=400, height=300,
                       words=[Word(box=tuple(b), text=t, ignore=ig) for b, t, ig in words],
                       lines=list(lines), doc=doc)


def _preds(file="page.png", words=()):
    return {"images": [{"file": file, "words": [{"box": list(b), "text": t, "score": 0.9}
                                                 for b, t in words]}]}


def _scores(result, key):
    return tuple(round(result.to_dict()[key][k], 6) for k in ("precision", "recall", "f"))


GT_WORDS = [((10, 10, 60, 30), "Invoice", False), ((70, 10, 110, 30), "No.", False),
            ((120, 10, 170, 30), "4711", False), ((10, 50, 40, 70), "###", True)]


# -- text helpers -------------------------------------------------------------

def _dp(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_levenshtein_matches_dynamic_programme():
    rng = random.Random(0)
    for _ in range(3000):
        a = "".join(rng.choice("abcé ") for _ in range(rng.randint(0, 14)))
        b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 14)))
        assert levenshtein(a, b) == _dp(a, b) == levenshtein(b, a)
    a = "".join(rng.choice("abcde") for _ in range(150))
    b = "".join(rng.choice("abcde") for _ in range(130))
    assert levenshtein(a, b) == _dp(a, b)          # longer than a machine word
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == levenshtein("abc", "") == 3


def test_normalize_text():
    assert normalize_text("Hello,") == "hello"
    assert normalize_text('"(Straße)."') == "strasse"        # case-folded
    assert normalize_text("  New\t York ") == "new york"
    assert normalize_text("e.g.") == "e.g"                   # only the ends
    assert normalize_text("50%") == "50%"                    # meaningful symbols stay
    assert normalize_text("...") == "..."                    # never empty
    assert normalize_text("") == ""


# -- matching -----------------------------------------------------------------

def test_pairwise_iou_and_empty_inputs():
    iou = pairwise_iou([[0, 0, 10, 10]], [[0, 0, 10, 5], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(iou, [[0.5, 0.0, 1.0]])
    assert pairwise_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert greedy_match(np.zeros((0, 3))) == []


def test_perfect_predictions_score_one():
    gt = AnnotationSet(images=[_rec(words=GT_WORDS)])
    result = evaluate(gt, gt)          # the GT itself (its ignored word included)
    d = result.to_dict()
    for key in ("detection", "e2e_exact", "e2e_normalized"):
        assert d[key] == {"precision": 1.0, "recall": 1.0, "f": 1.0}
    assert d["cer"] == 0.0
    assert d["counts"]["gt"] == 3 and d["counts"]["gt_ignored"] == 1
    assert d["counts"]["pred"] == 3 and d["counts"]["pred_discarded"] == 1
    json.dumps(d)                      # JSON-ready


def test_empty_predictions_and_empty_ground_truth():
    gt = [_rec(words=GT_WORDS)]
    result = evaluate(gt, {"images": [{"file": "page.png", "words": []}]})
    assert _scores(result, "detection") == (0.0, 0.0, 0.0)
    assert result.to_dict()["cer"] is None
    # nothing to find and nothing claimed: perfect
    result = evaluate([_rec(words=[])], {"images": [{"file": "page.png", "words": []}]})
    assert _scores(result, "detection") == (1.0, 1.0, 1.0)
    # only ignored GT and no predictions: also nothing to find
    assert _scores(evaluate([_rec(words=[GT_WORDS[3]])], {"images": []}),
                   "e2e_exact") == (1.0, 1.0, 1.0)
    # claims on a page without text
    result = evaluate([_rec(words=[])], _preds(words=[((0, 0, 5, 5), "x")]))
    assert _scores(result, "detection") == (0.0, 0.0, 0.0)
    assert precision_recall_f(0, 0, 0) == {"precision": 1.0, "recall": 1.0, "f": 1.0}
    assert precision_recall_f(0, 5, 0)["precision"] == 0.0
    assert precision_recall_f(0, 0, 5)["recall"] == 0.0


@pytest.mark.parametrize("pred_box, hit", [
    ((0, 0, 100, 50), True),     # IoU exactly 0.5 counts
    ((0, 0, 100, 51), True),     # 0.51
    ((0, 0, 100, 49), False),    # 0.49
    ((49, 0, 149, 100), False),  # shifted right: 51 / 149
    ((33, 0, 133, 100), True),   # 67 / 133 = 0.504
    ((34, 0, 134, 100), False),  # 66 / 134 = 0.493
])
def test_iou_threshold_boundaries(pred_box, hit):
    gt = [_rec(words=[((0, 0, 100, 100), "word", False)])]
    result = evaluate(gt, _preds(words=[(pred_box, "word")]))
    assert result.totals.matched == int(hit)
    assert result.totals.matched_exact == int(hit)


def test_iou_threshold_argument():
    gt = [_rec(words=[((0, 0, 100, 100), "word", False)])]
    pred = _preds(words=[((0, 0, 100, 60), "word")])
    assert evaluate(gt, pred, iou_threshold=0.7).totals.matched == 0
    assert evaluate(gt, pred, iou_threshold=0.6).totals.matched == 1
    for bad in (0, 1.5, "0.5", float("nan")):
        with pytest.raises(ValueError, match="iou_threshold"):
            evaluate(gt, pred, iou_threshold=bad)
    with pytest.raises(ValueError, match="level"):
        evaluate(gt, pred, level="chars")


def test_wrong_text_is_a_detection_hit_but_an_end_to_end_miss():
    gt = [_rec(words=[((10, 10, 60, 30), "Invoice", False)])]
    result = evaluate(gt, _preds(words=[((10, 10, 60, 30), "Involce")]))
    assert _scores(result, "detection") == (1.0, 1.0, 1.0)
    assert _scores(result, "e2e_exact") == (0.0, 0.0, 0.0)
    assert _scores(result, "e2e_normalized") == (0.0, 0.0, 0.0)
    assert result.to_dict()["cer"] == pytest.approx(1 / 7)


@pytest.mark.parametrize("gt_text, pred_text, exact, normalized", [
    ("Invoice", "invoice", False, True),
    ("INVOICE", "Invoice", False, True),
    ("Hello,", "Hello", False, True),
    ("Hello", "(hello).", False, True),
    ("e.g.", "e.g", False, True),
    ("...", "...", True, True),      # punctuation-only GT keeps its punctuation
    ("...", ".", False, False),
    ("...", "", False, False),
    ("50%", "50", False, False),
    ("4711", "4711", True, True),
])
def test_exact_and_normalized_text(gt_text, pred_text, exact, normalized):
    gt = [_rec(words=[((10, 10, 60, 30), gt_text, False)])]
    result = evaluate(gt, _preds(words=[((10, 10, 60, 30), pred_text)]))
    assert result.totals.matched == 1
    assert result.totals.matched_exact == int(exact)
    assert result.totals.matched_normalized == int(normalized)


def test_ignored_ground_truth():
    gt = [_rec(words=[((0, 0, 100, 20), "word", False), ((0, 50, 100, 80), "###", True)])]
    preds = _preds(words=[
        ((0, 0, 100, 20), "word"),       # true positive
        ((0, 50, 100, 80), "xyz"),       # matched to the ignored word: discarded
        ((10, 55, 40, 75), "x"),         # small, fully inside the ignored word: discarded
        ((80, 50, 120, 80), "y"),        # exactly half inside (20 of 40): a false positive
        ((200, 200, 220, 220), "z"),     # nowhere: a false positive
    ])
    result = evaluate(gt, preds)
    im = result.images[0]
    assert im.discarded == [1, 2]
    assert im.false_positives == [3, 4]
    assert im.missed == []
    c = result.totals
    assert (c.gt, c.gt_ignored, c.pred, c.pred_discarded, c.matched) == (1, 1, 3, 2, 1)
    assert _scores(result, "detection") == (round(1 / 3, 6), 1.0, 0.5)


def test_ignored_ground_truth_is_not_a_miss():
    gt = [_rec(words=[((0, 0, 100, 20), "word", False), ((0, 50, 100, 80), "###", True)])]
    result = evaluate(gt, _preds(words=[((0, 0, 100, 20), "word")]))
    assert _scores(result, "detection") == (1.0, 1.0, 1.0)
    assert result.images[0].missed == []


def test_true_positive_inside_an_ignored_region_still_counts():
    # an ignored region covering a real word (e.g. a stamp over text)
    gt = [_rec(words=[((0, 0, 100, 20), "word", False), ((0, 0, 200, 100), "stamp", True)])]
    result = evaluate(gt, _preds(words=[((0, 0, 100, 20), "word")]))
    assert result.images[0].discarded == []
    assert _scores(result, "e2e_exact") == (1.0, 1.0, 1.0)


def test_one_to_one():
    gt = [_rec(words=[((0, 0, 100, 20), "word", False)])]
    result = evaluate(gt, _preds(words=[((0, 0, 100, 20), "word"), ((0, 0, 95, 20), "word")]))
    c = result.totals
    assert (c.matched, c.false_positives, c.missed) == (1, 1, 0)
    assert result.images[0].matches == [(0, 0, 1.0)]
    assert _scores(result, "detection") == (0.5, 1.0, round(2 / 3, 6))


def test_greedy_by_decreasing_iou():
    # GT 0 = A, GT 1 = B. Prediction 0 overlaps A (0.695) and B (0.96); prediction 1
    # overlaps A (0.905) and B (0.739). Greedy by IoU gives B-0 and A-1; matching in
    # index order (A with the first prediction above 0.5) would give A-0 and B-1.
    gt = [_rec(words=[((0, 0, 100, 10), "alpha", False), ((20, 0, 120, 10), "beta", False)])]
    preds = _preds(words=[((18, 0, 118, 10), "beta"), ((5, 0, 105, 10), "alpha")])
    result = evaluate(gt, preds)
    assert sorted((g, p) for g, p, _ in result.images[0].matches) == [(0, 1), (1, 0)]
    assert result.totals.matched_exact == 2


def test_greedy_ties_go_to_the_lower_index():
    assert greedy_match(np.array([[0.8, 0.8], [0.8, 0.8]])) == [(0, 0, 0.8), (1, 1, 0.8)]
    assert greedy_match(np.array([[0.6, 0.9], [0.9, 0.4]])) == [(0, 1, 0.9), (1, 0, 0.9)]


def test_micro_average_over_images():
    gt = [_rec("a.png", words=[((0, 0, 10, 10), "a", False)]),
          _rec("b.png", words=[((0, 0, 10, 10), "b", False), ((20, 0, 30, 10), "c", False),
                               ((40, 0, 50, 10), "d", False)])]
    preds = {"images": [{"file": "a.png", "words": [{"box": [0, 0, 10, 10], "text": "a"}]},
                        {"file": "b.png", "words": [{"box": [0, 0, 10, 10], "text": "x"}]}]}
    result = evaluate(gt, preds)
    assert _scores(result, "detection")[:2] == (1.0, 0.5)           # 2/2, 2/4
    assert _scores(result, "e2e_exact")[:2] == (0.5, 0.25)          # 1/2, 1/4 (macro: 0.625)
    assert [im.counts.matched for im in result.images] == [1, 1]


def test_missing_and_unknown_images():
    gt = [_rec("dir/a.png", words=[((0, 0, 10, 10), "a", False)]),
          _rec("dir/b.png", words=[((0, 0, 10, 10), "b", False)])]
    preds = {"images": [{"file": "a.png", "words": [{"box": [0, 0, 10, 10], "text": "a"}]},
                        {"file": "zzz.png", "words": [{"box": [0, 0, 10, 10], "text": "q"}]}]}
    with pytest.warns(UserWarning, match="1 prediction image.*'zzz.png'"):
        result = evaluate(gt, preds)
    assert result.unknown_predictions == ["zzz.png"]
    assert [im.has_predictions for im in result.images] == [True, False]
    assert result.totals.images_without_predictions == 1
    assert _scores(result, "e2e_exact") == (1.0, 0.5, round(2 / 3, 6))
    assert "1 without predictions" in str(result)


def test_file_name_matching_rules():
    gt = [_rec("x/page.png", words=[((0, 0, 10, 10), "a", False)]),
          _rec("y/page.png", words=[((0, 0, 10, 10), "b", False)])]
    with pytest.raises(ValueError, match="fits several"):
        evaluate(gt, _preds("page.png", words=[((0, 0, 10, 10), "a")]))
    # the relative path disambiguates
    result = evaluate(gt, _preds("y/page.png", words=[((0, 0, 10, 10), "b")]))
    assert [im.counts.matched for im in result.images] == [0, 1]
    gt = [_rec("x/page.png", words=[])]
    doubled = {"images": [{"file": "page.png", "words": []},
                          {"file": "x/page.png", "words": []}]}
    with pytest.raises(ValueError, match="two prediction entries"):
        evaluate(gt, doubled)


def test_cer_on_known_pairs():
    gt = [_rec(words=[((0, 0, 50, 20), "kitten", False), ((60, 0, 100, 20), "Hello", False),
                      ((200, 0, 250, 20), "missed", False)])]
    preds = _preds(words=[((0, 0, 50, 20), "sitting"), ((60, 0, 100, 20), "hello,")])
    d = evaluate(gt, preds).to_dict()
    assert d["cer"] == pytest.approx((3 + 2) / (6 + 5))       # unmatched words do not count
    assert d["cer_normalized"] == pytest.approx(3 / (6 + 5))
    assert d["counts"]["edit_distance"] == 5 and d["counts"]["gt_chars"] == 11


def test_per_document_breakdown():
    gt = [_rec("a1.png", doc="A", words=[((0, 0, 10, 10), "a", False)]),
          _rec("b1.png", doc="B", words=[((0, 0, 10, 10), "b", False)]),
          _rec("a2.png", doc="A", words=[((0, 0, 10, 10), "c", False)]),
          _rec("n.png", words=[((0, 0, 10, 10), "d", False)])]
    preds = {"images": [{"file": f, "words": [{"box": [0, 0, 10, 10], "text": t}]}
                        for f, t in (("a1.png", "a"), ("b1.png", "x"), ("a2.png", "c"))]}
    result = evaluate(gt, preds)
    docs = result.by_doc()
    assert list(docs) == ["A", "B", None]
    assert all(isinstance(r, EvaluationResult) for r in docs.values())
    assert _scores(docs["A"], "e2e_exact") == (1.0, 1.0, 1.0)
    assert _scores(docs["B"], "e2e_exact") == (0.0, 0.0, 0.0)
    assert docs["A"].totals.images == 2
    d = result.to_dict()
    assert set(d["by_doc"]) == {"A", "B", "<no doc>"}
    assert d["by_doc"]["A"]["e2e_exact"]["f"] == 1.0
    table = str(result)
    assert "document" in table and "<no doc>" in table
    # no docs: no breakdown
    assert "by_doc" not in evaluate([_rec(words=[])], {"images": []}).to_dict()


def test_str_table_and_per_image_dict():
    gt = AnnotationSet(images=[_rec(words=GT_WORDS)])
    result = evaluate(gt, _preds(words=[((10, 10, 60, 30), "invoice"),
                                        ((120, 10, 170, 30), "4711")]))
    table = str(result)
    for name in ("detection", "e2e exact", "e2e normalized", "CER", "counts"):
        assert name in table
    d = result.to_dict(per_image=True)
    (im,) = d["per_image"]
    assert im["matches"] == [{"gt": 0, "pred": 0, "iou": 1.0, "exact": False, "normalized": True},
                             {"gt": 2, "pred": 1, "iou": 1.0, "exact": True, "normalized": True}]
    assert im["missed"] == [1]
    json.dumps(d)


def test_counts_add_up():
    a = MatchCounts(gt=2, pred=3, matched=1, images=1)
    b = MatchCounts(gt=1, pred=0, images=1)
    s = a + b
    assert (s.gt, s.pred, s.matched, s.images, s.missed, s.false_positives) == (3, 3, 1, 2, 2, 2)


def test_line_level():
    words = [Word(box=(10, 10, 60, 30), text="Invoice", line=0),
             Word(box=(70, 10, 110, 30), text="No.", line=0),
             Word(box=(10, 50, 80, 70), text="Total", line=1)]
    gt = [ImageRecord(file="p.png", width=400, height=300, words=words)]
    preds = {"images": [{"file": "p.png", "words": [],
                         "lines": [{"box": [10, 10, 110, 30], "text": "invoice no",
                                    "score": 0.9},
                                   {"box": [10, 50, 82, 70], "text": "Total"}]}]}
    result = evaluate(gt, preds, level="lines")
    assert result.level == "lines"
    c = result.totals
    assert (c.gt, c.matched, c.matched_exact, c.matched_normalized) == (2, 2, 1, 2)
    assert evaluate(gt, preds).totals.matched == 0         # words level: no words predicted
    # explicit lines, one ignored
    gt = [ImageRecord(file="p.png", width=400, height=300, words=[],
                      lines=[Line(box=(0, 0, 100, 20), text="a b"),
                             Line(box=(0, 40, 100, 60), text="???", ignore=True)])]
    preds = {"images": [{"file": "p.png", "words": [],
                         "lines": [{"box": [0, 0, 100, 20], "text": "a b"},
                                   {"box": [0, 40, 100, 60], "text": "x"}]}]}
    c = evaluate(gt, preds, level="lines").totals
    assert (c.gt, c.pred, c.pred_discarded, c.matched_exact) == (1, 1, 1, 1)


# -- prediction files ---------------------------------------------------------

def test_load_predictions_round_trip_and_paths(tmp_path):
    gt_path = tmp_path / "labels.json"
    AnnotationSet(images=[_rec("sub/page.png", words=GT_WORDS)]).save(gt_path)
    pred_path = tmp_path / "pred.json"
    pred_path.write_text(json.dumps(_preds(words=[(b, t) for b, t, _ in GT_WORDS[:3]])),
                         encoding="utf-8")
    preds = load_predictions(pred_path)
    assert preds.images[0].words[0].extra == {"score": 0.9}
    assert preds.images[0].words[0].box == (10, 10, 60, 30)
    result = evaluate(str(gt_path), pred_path)
    assert _scores(result, "e2e_exact") == (1.0, 1.0, 1.0)
    # the other input forms give the same answer
    gt = AnnotationSet.load(gt_path, check_images=False)
    assert evaluate(gt, preds).to_dict() == result.to_dict()
    assert evaluate(gt.images, list(preds.images)).to_dict() == result.to_dict()
    as_mapping = {"page.png": [Word(box=b, text=t) for b, t, _ in GT_WORDS[:3]]}
    assert evaluate(gt, as_mapping).to_dict() == result.to_dict()


@pytest.mark.parametrize("mutate, pieces", [
    (lambda d: d["images"][0]["words"][1].pop("text"),
     ["image 'page.png'", "word 1", "field 'text'", "is missing"]),
    (lambda d: d["images"][0]["words"][0].update(box=[10, 10, 5, 30]),
     ["word 0", "field 'box'", "degenerate", "[10, 10, 5, 30]"]),
    (lambda d: d["images"][0]["words"][0].update(box=[1, 2, 3]),
     ["word 0", "field 'box'", "[1, 2, 3]"]),
    (lambda d: d["images"][0]["words"][0].update(text=7),
     ["word 0", "field 'text'", "int 7"]),
    (lambda d: d["images"][0]["words"][0].update(score="high"),
     ["word 0", "field 'score'", "'high'"]),
    (lambda d: d["images"][0].pop("words"),
     ["image 'page.png'", "field 'words'", "is missing"]),
    (lambda d: d["images"][0].update(words={"a": 1}),
     ["field 'words'", "must be a list"]),
    (lambda d: d["images"][0].update(lines=[{"box": [0, 0, 1, 1]}]),
     ["line 0", "field 'text'", "is missing"]),
    (lambda d: d["images"][0].pop("file"),
     ["images[0]", "'file'"]),
    (lambda d: d["images"].append(dict(d["images"][0])),
     ["image 'page.png'", "appears twice"]),
    (lambda d: d.pop("images"),
     ["'images' list"]),
])
def test_prediction_validation_errors(tmp_path, mutate, pieces):
    doc = _preds(words=[((10, 10, 60, 30), "a"), ((70, 10, 110, 30), "b")])
    mutate(doc)
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(AnnotationError) as err:
        load_predictions(path)
    message = str(err.value)
    assert str(path) in message
    for piece in pieces:
        assert piece in message
    with pytest.raises(AnnotationError):
        predictions_from_json(doc)


def test_prediction_file_errors(tmp_path):
    with pytest.raises(AnnotationError, match="cannot read"):
        load_predictions(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [', encoding="utf-8")
    with pytest.raises(AnnotationError, match="not valid JSON.*line 1"):
        load_predictions(bad)
    with pytest.raises(TypeError, match="predictions must be"):
        evaluate([], 42)
