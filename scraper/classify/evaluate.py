"""Measure the classifier against a hand-labelled file in the dev-set format.

Each line: {"id", "text", optional "title"/"subject", "labels": {"exosome_related",
"regen_medicine_related", "violation_types": [...]}}. Per label: precision, recall, F1 and
support (documents whose gold label is positive). Macro F1 averages the labels whose F1 is
defined: a label with no gold positives and no predictions has nothing to measure and is
shown as "n/a" rather than counted as a perfect 1.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .classifier import CLASSIFIER_VERSION, classify_document
from .violations import VIOLATION_LABELS

BINARY_LABELS = ("exosome_related", "regen_medicine_related")
ALL_LABELS = BINARY_LABELS + VIOLATION_LABELS


class EvalError(ValueError):
    """A labelled file that cannot be evaluated (one line explains why)."""


@dataclass(slots=True)
class LabelScore:
    """Counts and metrics for one label."""

    label: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return None  # nothing to find and nothing found: undefined, not perfect
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)


@dataclass(slots=True)
class Report:
    """Everything `fdatrack eval` prints."""

    scores: dict[str, LabelScore]
    documents: int
    errors: list[dict]

    @property
    def macro_f1(self) -> float:
        values = [s.f1 for s in self.scores.values() if s.f1 is not None]
        return sum(values) / len(values) if values else 0.0

    @property
    def exosome_confusion(self) -> dict[str, int]:
        s = self.scores["exosome_related"]
        return {"tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": s.tn}

    def as_dict(self) -> dict:
        return {
            "classifier_version": CLASSIFIER_VERSION,
            "documents": self.documents,
            "labels": {
                k: {
                    "precision": v.precision,
                    "recall": v.recall,
                    "f1": v.f1,
                    "support": v.support,
                    "tp": v.tp,
                    "fp": v.fp,
                    "fn": v.fn,
                }
                for k, v in self.scores.items()
            },
            "macro_f1": self.macro_f1,
            "exosome_confusion": self.exosome_confusion,
            "errors": self.errors,
        }


def load_labelled(path: str | Path) -> list[dict]:
    """Read a labelled JSON-lines file; a malformed line raises EvalError naming the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise EvalError(f"{path}: not a UTF-8 text file (expected JSON lines)") from None
    except OSError as exc:
        raise EvalError(f"{path}: cannot read ({exc.strerror})") from None
    docs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str) or not isinstance(doc.get("labels"), dict):
            raise EvalError(f'{path}:{n}: needs a "text" string and a "labels" object')
        if not isinstance(doc["labels"].get("violation_types", []), list):
            raise EvalError(f'{path}:{n}: "labels.violation_types" must be a list')
        docs.append(doc)
    if not docs:
        raise EvalError(f"{path}: no labelled documents")
    return docs


def gold_labels(doc: dict) -> set[str]:
    """The set of positive labels a labelled document carries."""
    labels = doc["labels"]
    gold = {b for b in BINARY_LABELS if labels.get(b)}
    gold.update(v for v in labels.get("violation_types") or [] if v in VIOLATION_LABELS)
    return gold


def predicted_labels(result: dict) -> set[str]:
    """The set of positive labels in a classify_document result."""
    pred = {b for b in BINARY_LABELS if result.get(b)}
    pred.update(result.get("violation_types") or [])
    return pred


def evaluate(docs: Iterable[dict], classify: Callable[..., dict] = classify_document) -> Report:
    """Classify each labelled document and score every label."""
    scores = {label: LabelScore(label) for label in ALL_LABELS}
    errors = []
    count = 0
    for doc in docs:
        count += 1
        result = classify(doc["text"], title=doc.get("title"), subject=doc.get("subject"))
        gold, pred = gold_labels(doc), predicted_labels(result)
        for label, s in scores.items():
            g, p = label in gold, label in pred
            s.tp += g and p
            s.fp += p and not g
            s.fn += g and not p
            s.tn += not g and not p
        if gold != pred:
            errors.append({"id": doc.get("id"), "missed": sorted(gold - pred), "extra": sorted(pred - gold)})
    return Report(scores, count, errors)


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.3f}"


def format_report(report: Report) -> str:
    """The per-label table, macro F1, the exosome confusion matrix and the documents it got wrong."""
    lines = [f"classifier {CLASSIFIER_VERSION} on {report.documents} documents", ""]
    lines.append(f"{'label':<26}{'precision':>10}{'recall':>9}{'f1':>8}{'support':>9}")
    for label, s in report.scores.items():
        lines.append(f"{label:<26}{_fmt(s.precision):>10}{_fmt(s.recall):>9}{_fmt(s.f1):>8}{s.support:>9}")
    lines.append(f"{'macro F1 (defined labels)':<26}{'':>10}{'':>9}{report.macro_f1:8.3f}")
    c = report.exosome_confusion
    lines += [
        "",
        "exosome_related confusion matrix (rows = gold, columns = predicted)",
        f"{'':<14}{'pred yes':>10}{'pred no':>10}",
        f"{'gold yes':<14}{c['tp']:>10}{c['fn']:>10}",
        f"{'gold no':<14}{c['fp']:>10}{c['tn']:>10}",
    ]
    if report.errors:
        lines += ["", "documents with differences:"]
        for e in report.errors:
            lines.append(f"  {e['id']}: missed {e['missed'] or '-'}; extra {e['extra'] or '-'}")
    return "\n".join(lines)
