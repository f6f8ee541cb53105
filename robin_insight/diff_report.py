"""The decision diff's report: one entry per pick record, as JSON and as a text table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from robin_insight.bag_source import SkipReport
from robin_insight.decision_diff import PickDecision, PickDiff

SCHEMA = 'robin.decision_diff/1'
WIDTH = 30  # text table column of a decision: '#id type cups' (o = on, cup 0 first)


@dataclass
class PickEntry:
    """A compared pick: the diff plus what the offline run used."""

    diff: PickDiff
    frame_stamp_ns: int
    rank_source: str  # 'record' (option_rank) | 'matched' (found in the recorded decision) | 'assumed 0'
    unhealthy_cups: list[int]
    unhealthy_source: str  # 'recorded decision' | 'pick record'
    model: str  # what segmented this frame offline
    labels_identical: bool | None  # offline labels == recorded labels (None: not recorded)
    instances: tuple[int | None, int]  # (recorded, offline)
    arm_mask: str = 'none'  # where the offline arm mask came from (robin_insight/replay_arm_mask.py)
    image: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.diff.as_dict(), 'frame_stamp_ns': self.frame_stamp_ns, 'rank_source': self.rank_source,
                'unhealthy_cups': self.unhealthy_cups, 'unhealthy_source': self.unhealthy_source,
                'model': self.model, 'arm_mask': self.arm_mask,
                'perception': {'labels_identical': self.labels_identical, 'recorded_instances': self.instances[0],
                               'offline_instances': self.instances[1]},
                'image': self.image}


@dataclass
class DiffReport:
    bag: str
    model: str  # the --model choice, described
    perception_params: str
    planner_params: str
    entries: list[PickEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    bag_report: SkipReport = field(default_factory=SkipReport)

    @property
    def changed(self) -> list[PickEntry]:
        return [e for e in self.entries if e.diff.changed]

    @property
    def identical(self) -> list[PickEntry]:
        return [e for e in self.entries if e.diff.identical]

    def summary(self) -> dict[str, int]:
        return {'picks': len(self.entries) + len(self.skipped), 'compared': len(self.entries),
                'identical': len(self.identical), 'changed': len(self.changed), 'skipped': len(self.skipped)}

    def as_dict(self) -> dict[str, Any]:
        r = self.bag_report
        return {
            'schema': SCHEMA, 'bag': self.bag, 'model': self.model, 'perception_params': self.perception_params,
            'planner_params': self.planner_params, 'summary': self.summary(),
            'picks': [e.as_dict() for e in self.entries],
            'skipped': [{'record_id': rid, 'reason': why} for rid, why in self.skipped],
            'bag_problems': list(r.problems),
            'skipped_topics': {t: {'messages': r.skipped_counts[t], 'reason': why}
                               for t, why in sorted(r.skipped_topics.items())},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1)

    def text(self) -> str:
        s = self.summary()
        lines = [f'decision diff: {self.bag}', f'  model: {self.model}', f'  perception: {self.perception_params}',
                 f'  planner: {self.planner_params}',
                 f"  {s['picks']} pick records: {s['compared']} compared, {s['identical']} identical, "
                 f"{s['changed']} changed, {s['skipped']} skipped", '']
        w = WIDTH
        head = f"{'record':<10} {'rank':>4}  {'recorded':<{w}} {'offline':<{w}} {'iou':>5} {'dist mm':>8}  result"
        lines += [head, '-' * len(head)]
        for e in self.entries:
            d = e.diff
            iou = '' if d.target_iou is None else f'{d.target_iou:.2f}'
            dist = '' if d.suction_distance_m is None else f'{1000 * d.suction_distance_m:.1f}'
            result = 'identical' if d.identical else ('changed: ' + ', '.join(d.changes) if d.changed else 'same')
            lines.append(f'{d.record_id[:10]:<10} {d.rank:>4}  {_short(d.recorded):<{w}} {_short(d.offline):<{w}} '
                         f'{iou:>5} {dist:>8}  {result}')
        lines += [f'  arm mask {e.diff.record_id[:10]}: {e.arm_mask}' for e in self.entries
                  if e.arm_mask.startswith(('approximated', 'not rebuilt'))]
        lines += [f'  skipped {rid[:10]}: {why}' for rid, why in self.skipped]
        lines += [f'  bag problem: {p}' for p in self.bag_report.problems]
        r = self.bag_report
        lines += [f'  skipped {r.skipped_counts[t]} messages on {t}: {why}'
                  for t, why in sorted(r.skipped_topics.items())]
        return '\n'.join(lines)


def _short(d: PickDecision) -> str:
    if d.instance_id is None:
        return ('none: ' + d.status)[:WIDTH]
    cups = ''.join('o' if (d.cup_mask >> k) & 1 else '.' for k in range(8))  # cup 0 first
    return f"#{d.instance_id} {d.package_type or '?'} {cups}"[:WIDTH]
