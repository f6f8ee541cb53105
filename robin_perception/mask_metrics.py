"""Instance-mask metrics on label images: COCO-style AP, recall, type accuracy, per-case breakdown.

Ground truth and predictions are non-overlapping label images, so all IoUs of a frame come
from one joint histogram. Ground-truth packages smaller than ``min_gt_area`` are "ignore"
regions (as COCO crowd): a prediction on them is neither a hit nor a false positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robin_perception.confidence_calibration import auroc
from robin_perception.instance_table_builder import label_overlap

IOU_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)


@dataclass
class FrameMatch:
    """Everything the metrics need from one frame.

    Attributes:
        iou: (P, G) IoU of predictions vs ground truth.
        scores: (P,) instance confidence.
        pred_types: (P,) predicted type ids.
        gt_types: (G,) true type ids.
        gt_tags: per ground-truth package, its hard-case tags.
        gt_ignore: (G,) bool, too small to count.
    """

    iou: np.ndarray
    scores: np.ndarray
    pred_types: np.ndarray
    gt_types: np.ndarray
    gt_tags: list[tuple[str, ...]]
    gt_ignore: np.ndarray


def frame_match(gt_labels: np.ndarray, gt_types: np.ndarray, gt_tags: list[tuple[str, ...]], *,
                pred_labels: np.ndarray, scores: np.ndarray, pred_types: np.ndarray,
                min_gt_area: int = 200) -> FrameMatch:
    """IoUs of one frame; ids must be 1..G and 1..P in the label images (rows in id order)."""
    g, p = len(gt_types), len(scores)
    inter = label_overlap(pred_labels, gt_labels)
    inter = np.pad(inter, ((0, max(0, p + 1 - inter.shape[0])), (0, max(0, g + 1 - inter.shape[1]))))
    area_p, area_g = inter.sum(1)[1 : p + 1], inter.sum(0)[1 : g + 1]
    core = inter[1 : p + 1, 1 : g + 1]
    iou = core / np.maximum(area_p[:, None] + area_g[None, :] - core, 1)
    return FrameMatch(iou, np.asarray(scores, np.float64), np.asarray(pred_types), np.asarray(gt_types),
                      list(gt_tags), area_g < min_gt_area)


def _greedy(m: FrameMatch, thr: float, gt_valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO greedy matching at ``thr``: per prediction (by score) the best free gt.

    Returns (pred_status, pred_gt, gt_matched): status 1 = true positive, 0 = false positive,
    -1 = ignored (matched an ignore/out-of-subset gt).
    """
    p, g = m.iou.shape
    status = np.zeros(p, np.int8)
    pred_gt = np.full(p, -1)
    taken = np.zeros(g, bool)
    for i in np.argsort(-m.scores, kind='stable'):  # per instance, not per pixel
        cand = np.where(~taken & (m.iou[i] >= thr), m.iou[i], -1.0)
        # prefer counted gts; fall back to ignore gts
        counted = np.where(gt_valid, cand, -1.0)
        j = int(np.argmax(counted)) if g and counted.max() >= thr else -1
        if j < 0:
            j2 = int(np.argmax(cand)) if g and cand.max() >= thr else -1
            if j2 >= 0:
                status[i], pred_gt[i] = -1, j2
                taken[j2] = True
            continue
        status[i], pred_gt[i] = 1, j
        taken[j] = True
    return status, pred_gt, taken & gt_valid


def average_precision(frames: list[FrameMatch], thr: float, subset: str | None = None) -> float:
    """101-point interpolated AP at IoU ``thr`` over all frames (for gts tagged ``subset`` if given)."""
    scores, tps, n_gt = [], [], 0
    for m in frames:
        valid = ~m.gt_ignore & np.array([subset is None or subset in t for t in m.gt_tags], bool)
        status, _, _ = _greedy(m, thr, valid)
        keep = status >= 0
        scores.append(m.scores[keep])
        tps.append(status[keep] == 1)
        n_gt += int(valid.sum())
    if n_gt == 0:
        return float('nan')
    s = np.concatenate(scores) if scores else np.zeros(0)
    tp = np.concatenate(tps) if tps else np.zeros(0, bool)
    if s.size == 0:
        return 0.0
    order = np.argsort(-s, kind='stable')
    tp = tp[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # interpolated: best precision at >= recall
    idx = np.searchsorted(recall, np.linspace(0, 1, 101), side='left')
    return float(np.mean(np.where(idx < precision.size, precision[np.minimum(idx, precision.size - 1)], 0.0)))


@dataclass
class CaseStats:
    """Recall and type accuracy at IoU 0.5 of one subset of ground truth."""

    count: int = 0
    found: int = 0
    type_correct: int = 0
    missed_best_iou: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        return {
            'count': self.count,
            'recall': self.found / self.count if self.count else float('nan'),
            'type_accuracy': self.type_correct / self.found if self.found else float('nan'),
            'missed': self.count - self.found,
            'missed_mean_best_iou': float(np.mean(self.missed_best_iou)) if self.missed_best_iou else float('nan'),
        }


def summarize(frames: list[FrameMatch], class_names: tuple[str, ...], cases: tuple[str, ...]) -> dict:
    """All headline metrics plus per-case, per-type breakdowns (a JSON-ready dict)."""
    groups: dict[str, CaseStats] = {'all': CaseStats()}
    groups.update({c: CaseStats() for c in cases})
    groups.update({f'type:{n}': CaseStats() for n in class_names})
    conf_s, conf_ok, type_ok = [], [], []
    confusion = np.zeros((len(class_names), len(class_names)), np.int64)  # [true type, predicted type]
    for m in frames:
        valid = ~m.gt_ignore
        status, pred_gt, matched = _greedy(m, 0.5, valid)
        conf_s.append(m.scores[status >= 0])
        conf_ok.append(status[status >= 0] == 1)
        gt_pred = np.full(len(m.gt_types), -1)
        gt_pred[pred_gt[status == 1]] = np.flatnonzero(status == 1)
        best = m.iou.max(0) if m.iou.shape[0] else np.zeros(len(m.gt_types))
        for j in np.flatnonzero(valid):
            names = ['all', *[c for c in cases if c in m.gt_tags[j]], f'type:{class_names[m.gt_types[j]]}']
            hit = bool(matched[j])
            correct = hit and m.pred_types[gt_pred[j]] == m.gt_types[j]
            if hit:
                type_ok.append(correct)
                pred_type = int(m.pred_types[gt_pred[j]])
                if 0 <= pred_type < len(class_names):
                    confusion[m.gt_types[j], pred_type] += 1
            for nme in names:
                st = groups[nme]
                st.count += 1
                st.found += hit
                st.type_correct += correct
                if not hit:
                    st.missed_best_iou.append(float(best[j]))
    ap = {t: average_precision(frames, t) for t in IOU_THRESHOLDS}
    per_case = {k: v.as_dict() for k, v in groups.items() if k != 'all'}
    for c in cases:
        per_case[c]['ap50'] = average_precision(frames, 0.5, c)
    s = np.concatenate(conf_s) if conf_s else np.zeros(0)
    ok = np.concatenate(conf_ok) if conf_ok else np.zeros(0, bool)
    return {
        'frames': len(frames),
        'recall_all': groups['all'].as_dict()['recall'],
        'recall_pickable': per_case.get('pickable', {}).get('recall', float('nan')),
        'type_accuracy': float(np.mean(type_ok)) if type_ok else float('nan'),
        'ap50_all': ap[0.5],
        'ap75_all': ap[0.75],
        'ap_all': float(np.mean(list(ap.values()))),
        'confidence_auroc': auroc(s, ok),
        'predictions': int(s.size),
        'per_case': per_case,
        'type_confusion': {'classes': list(class_names), 'counts': confusion.tolist()},
    }
