"""qa.json of the fault-injected QA benchmark, assembled from synthetic run data (no ROS)."""

from __future__ import annotations

from robin_bringup.fault_schedule import FaultSchedule
from robin_bringup.pick_truth import TruthTrack, qa_confusion
from robin_bringup.qa_bench import (
    HEADLINE,
    Attempt,
    TornCup,
    assemble,
    attempts_from,
    format_tables,
    losses_vs_alerts,
    torn_cup_table,
)
from robin_core.records import PickRecord
from robin_qa.confusion import TRUTHS, VERDICTS

ALL = ('plan', 'approach', 'suction', 'lift', 'verify', 'transfer', 'release', 'report')
S = FaultSchedule(clean=2, double_picks=2, weakened_cup=1, torn_cup=5, knock_off_at=(1,))


def _record(t0: float, verdict: str, outcome: str = 'succeeded', states: tuple[str, ...] = ALL,
            forced: bool = False) -> PickRecord:
    scene: dict[str, float | int | str] = {'fault_injection': 'all_cups'} if forced else {}
    return PickRecord(outcome=outcome, verdict=verdict, scene=scene,
                      states=[(s, t0 + k) for k, s in enumerate(states)])


def _attempt(k: int, ok: bool = True, truth: str = 'ok') -> Attempt:
    return Attempt(f'r{k}', start_s=10.0 * k, succeeded=ok, verdict='ok' if ok else 'drop', truth=truth,
                   forced_all_cups=False)


def test_attempts_are_labelled_by_the_run_grader_in_start_order() -> None:
    track = TruthTrack()
    for t, st in [(0.0, {1: 'belt', 2: 'belt', 3: 'belt'}), (4.0, {1: 'held', 2: 'held', 3: 'belt'}),
                  (6.0, {1: 'belt', 2: 'belt', 3: 'belt'}), (24.0, {1: 'belt', 2: 'belt', 3: 'held'}),
                  (27.0, {1: 'belt', 2: 'belt', 3: 'on_robot'}), (40.0, {1: 'belt', 2: 'belt', 3: 'on_robot'})]:
        track.add(t, st)
    double = _record(0.0, 'double_pick', 'failed', ('plan', 'approach', 'suction', 'lift', 'recover', 'report'),
                     forced=True)
    single = _record(20.0, 'ok')
    planned_only = PickRecord(outcome='aborted', states=[('plan', 30.0)])
    rows = attempts_from([single, planned_only, double], track)
    assert [(r.record_id, r.truth, r.forced_all_cups, r.succeeded) for r in rows] == [
        (double.record_id, 'double_pick', True, False), (single.record_id, 'ok', False, True)]


def test_torn_cup_detection_counts_picks_from_the_fault_to_the_flag() -> None:
    # block of 10: picks 0-1 clean, 2-3 double, 4 weakened, 5-9 torn; torn at 48 s, flagged at 75 s
    attempts = [_attempt(0), _attempt(1, ok=False), _attempt(2), _attempt(3), _attempt(4),
                _attempt(5, ok=False), _attempt(6, ok=False), _attempt(7), _attempt(8), _attempt(9)]
    (row,) = torn_cup_table(attempts, S, [TornCup(block=0, cup=3, fault_s=48.0, flagged_s=75.0)])
    assert row['detect_picks'] == 3  # picks 5, 6, 7 started after the tear and before the flag
    assert row['pre_fault']['success'] == 0.5 and row['pre_fault']['attempts'] == 2
    assert (row['torn_unflagged']['succeeded'], row['torn_unflagged']['attempts']) == (1, 3)
    assert row['torn_flagged']['success'] == 1.0 and row['torn_flagged']['attempts'] == 2
    (never,) = torn_cup_table(attempts, S, [TornCup(block=0, cup=3, fault_s=48.0, flagged_s=None)])
    assert never['detect_picks'] is None and never['torn_flagged']['attempts'] == 0


def test_qa_json_has_the_headline_keys_and_says_when_the_run_was_cut_short() -> None:
    conf = {'picks': 4, 'double_pick_recall': 1.0, 'double_pick_precision': 0.5, 'drop_recall': None,
            'drop_precision': None, 'missorted_unalerted': 1, 'unlabelled': 1, 'not_graded': 0,
            'confusion': {t: dict.fromkeys(VERDICTS, 0) for t in TRUTHS}}
    conf['confusion']['ok']['ok'] = 2
    conf['confusion']['ok']['double_pick'] = 1
    conf['confusion']['double_pick']['double_pick'] = 1
    attempts = [_attempt(k) for k in range(10)] + [_attempt(k) for k in range(10, 22)]
    torn = [TornCup(0, 3, 48.0, 75.0), TornCup(1, 2, 148.0, 185.0), TornCup(2, 1, 248.0, None)]
    qa = assemble(confusion=conf, confusion_source='test', attempts=attempts, schedule=S, torn=torn,
                  fault_log=[{'pick': 0}], knock_offs=[{'pick': 1, 'sim_s': 12.0, 'alert_s': None}],
                  picks_requested=300, run={'picks_done': 22})
    assert all(k in qa for k in HEADLINE) and qa['double_pick_precision'] == 0.5 and qa['missorted_unalerted'] == 1
    assert (qa['picks_requested'], qa['picks_done'], qa['complete'], qa['picks_graded']) == (300, 22, False, 4)
    assert qa['cup_fault_detect_picks'] == 4  # the worst detected tear: picks 15-18 before the flag at 185 s
    assert qa['cup_faults'] == {'injected': 3, 'detected': 2, 'undetected': 0, 'detect_within': 10}  # 2 picks only
    assert qa['phase_table']['torn_cup']['attempts'] == 5 + 5 + 0 and qa['phase_table']['clean']['attempts'] == 6
    text = format_tables(qa)
    assert 'INCOMPLETE' in text and 'double_pick_precision 50%' in text and 'knock-offs: 1 injected, 0 alerted' in text
    assert text.splitlines()[3].split()[:4] == ['double_pick', '0', '1', '0']  # matrix row: truth double_pick
    done = assemble(confusion=qa_confusion([], TruthTrack()), confusion_source='test', attempts=[], schedule=S,
                    torn=[], fault_log=[], knock_offs=[], picks_requested=0, run={'picks_done': 0})
    assert done['complete'] and done['cup_fault_detect_picks'] is None and done['double_pick_recall'] is None


def test_packages_that_left_the_cell_are_matched_to_alerts_and_false_alarms_listed() -> None:
    track = TruthTrack()
    track.add(0.0, {1: 'belt', 2: 'belt', 3: 'belt'})
    track.add(50.0, {1: 'fell_off', 2: 'belt', 3: 'belt'})  # knocked off: QA alerted at 48 s (saw it leave)
    track.add(200.0, {1: 'fell_off', 2: 'fell_off', 3: 'belt'})  # a drop onto the floor nobody alerted
    track.add(210.0, {1: 'fell_off', 2: 'fell_off', 3: 'fell_off'})
    alerts = [(48.0, 'knocked off'), (120.0, 'phantom'), (230.0, 'late')]
    out = losses_vs_alerts(track, alerts)
    assert [(x['package'], x['alert_s']) for x in out['left_cell']] == [(1, 48.0), (2, 230.0), (3, 230.0)]
    assert out['left_cell_unalerted'] == 0
    assert out['alerts_without_loss'] == [{'sim_s': 120.0, 'reason': 'phantom'}]
    strict = losses_vs_alerts(track, alerts, after_s=20.0)
    assert strict['left_cell_unalerted'] == 1 and strict['left_cell'][1]['alert_s'] is None
    track.add(300.0, {1: 'fell_off', 2: 'fell_off', 3: 'fell_off', 4: 'fell_unseen'})  # dropped upstream
    out = losses_vs_alerts(track, alerts)
    assert out['left_cell_unalerted'] == 0 and out['lost_before_view'] == [{'package': 4, 'sim_s': 300.0}]


def test_a_kept_run_is_graded_again_from_its_raw_data() -> None:
    import json

    from robin_bringup.qa_bench import grade_raw
    from robin_core.records import to_json

    track = TruthTrack()
    for t, st in [(0.0, {1: 'belt', 2: 'belt'}), (2.5, {1: 'held', 2: 'held'}), (3.5, {1: 'held', 2: 'belt'}),
                  (7.0, {1: 'on_robot', 2: 'belt'}), (30.0, {1: 'on_robot', 2: 'fell_off'})]:
        track.add(t, st)
    rec = _record(0.0, 'ok')
    raw = {'picks_requested': 3, 'run': {'picks_done': 1}, 'records': [json.loads(to_json(rec))],
           'truth_track': track.as_dict(), 'alerts': [[31.0, 'a package fell']], 'torn': [], 'knock_offs': [],
           'fault_log': []}
    qa = grade_raw(json.loads(json.dumps(raw)))
    assert qa['confusion_source'].startswith('bench monitor')  # no run report given: graded here
    assert qa['labels'] == [[rec.record_id, 'ok', 'ok']]  # the neighbour touched while sealing: no double pick
    assert qa['complete'] is False and qa['picks_done'] == 1
    assert qa['left_cell'][0]['alert_reason'] == 'a package fell' and qa['lost_before_view'] == []
    given = grade_raw(raw, run_confusion={'picks': 1, 'double_pick_recall': 1.0})
    assert given['double_pick_recall'] == 1.0 and given['run']['bench_monitor_confusion']['picks'] == 1
