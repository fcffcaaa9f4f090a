"""Does an exported model read the same lines as the Keras model? Measured per page.

Two runs of the same page (output dicts of :data:`~keras_textnet.export.outputs.OUTPUT_TENSORS`
names, batch 1, or the SavedModel's) are compared line by line: each reference
line is matched one-to-one to the candidate line of highest IoU (>= 0.5),
greedily by decreasing IoU (:func:`~keras_textnet.evaluation.matching.greedy_match`,
the evaluation protocol's matching). Reported: whether the counts agree, how many lines
matched, the largest box coordinate difference over matched lines (pixels), and
how many matched lines have the identical string, and the character agreement
over matched lines (one minus the summed edit distance over the reference
characters).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_textnet.evaluation.matching import greedy_match, pairwise_iou
from keras_textnet.evaluation.text_metrics import levenshtein


@dataclasses.dataclass
class PageAgreement:
    """How one page's candidate outputs agree with the reference outputs."""

    reference_count: int
    candidate_count: int
    matched: int
    identical_text: int
    max_box_diff: float
    characters: int = 0  # characters of the matched reference lines
    edits: int = 0  # edit distance between the matched lines' strings, summed
    boxes_within_1px: int = 0  # matched lines whose box coordinates all differ by <= 1 px

    @property
    def same_count(self) -> bool:
        return self.reference_count == self.candidate_count

    @property
    def exact(self) -> bool:
        """Same number of lines, every one matched within 1 px with the identical string."""
        return (self.same_count and self.matched == self.reference_count
                and self.identical_text == self.reference_count and self.max_box_diff <= 1.0)


def _texts(out, charset, count):
    if "transcriptions" in out:
        return [t.decode("utf-8") if isinstance(t, bytes) else str(t)
                for t in np.asarray(out["transcriptions"])[0][:count]]
    ids, lengths = np.asarray(out["char_ids"])[0], np.asarray(out["lengths"])[0]
    return [charset.decode(ids[d, :lengths[d]]) for d in range(count)]


def compare_page(reference: dict, candidate: dict, charset=None) -> PageAgreement:
    """Agreement of two runs on one page (batch 1 output dicts, same box convention)."""
    n_ref = int(np.asarray(reference["count"]).reshape(-1)[0])
    n_got = int(np.asarray(candidate["count"]).reshape(-1)[0])
    ref_boxes = np.asarray(reference["boxes"], np.float64)[0][:n_ref]
    got_boxes = np.asarray(candidate["boxes"], np.float64)[0][:n_got]
    ref_text = _texts(reference, charset, n_ref)
    got_text = _texts(candidate, charset, n_got)
    matched = identical = characters = edits = within = 0
    max_diff = 0.0
    if n_ref and n_got:
        for i, j, _ in greedy_match(pairwise_iou(ref_boxes, got_boxes), 0.5):
            matched += 1
            identical += ref_text[i] == got_text[j]
            characters += len(ref_text[i])
            edits += levenshtein(ref_text[i], got_text[j])
            diff = float(np.abs(ref_boxes[i] - got_boxes[j]).max())
            within += diff <= 1.0
            max_diff = max(max_diff, diff)
    return PageAgreement(n_ref, n_got, matched, identical, max_diff, characters, edits, within)


def summarize(pages: list) -> dict:
    """Totals over pages of :class:`PageAgreement`."""
    ref_lines = sum(p.reference_count for p in pages)
    return {
        "pages": len(pages),
        "pages_same_count": sum(p.same_count for p in pages),
        "pages_exact": sum(p.exact for p in pages),
        "reference_lines": ref_lines,
        "candidate_lines": sum(p.candidate_count for p in pages),
        "matched_lines": sum(p.matched for p in pages),
        "identical_text": sum(p.identical_text for p in pages),
        "max_box_diff": max([p.max_box_diff for p in pages], default=0.0),
        "boxes_within_1px": sum(p.boxes_within_1px for p in pages),
        "character_agreement": 1.0 - sum(p.edits for p in pages) / max(
            sum(p.characters for p in pages), 1),
    }


def format_summary(name: str, summary: dict) -> str:
    """One line, e.g. ``tflite fp16: 8/8 pages same count, 97/98 lines matched ...``."""
    lines = max(summary["reference_lines"], 1)
    return (f"{name}: {summary['pages_same_count']}/{summary['pages']} pages same count, "
            f"{summary['matched_lines']}/{summary['reference_lines']} lines matched "
            f"({summary['boxes_within_1px']} within 1 px, max box diff "
            f"{summary['max_box_diff']:.3f} px), "
            f"{summary['identical_text']}/{summary['reference_lines']} identical strings "
            f"({100 * summary['identical_text'] / lines:.1f}%; characters "
            f"{100 * summary['character_agreement']:.2f}%), "
            f"{summary['pages_exact']}/{summary['pages']} pages exact")


__all__ = ["PageAgreement", "compare_page", "format_summary", "summarize"]
