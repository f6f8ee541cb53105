"""Ground-truth labels of pick attempts from simulator package states, and the QA confusion (no ROS)."""

from __future__ import annotations

from robin_bringup.pick_truth import GraderStates, TruthTrack, label_attempt, qa_confusion
from robin_core.records import PickRecord

ALL = ('plan', 'approach', 'suction', 'lift', 'verify', 'transfer', 'release', 'report')


def _record(t0: float, states: tuple[str, ...] = ALL, verdict: str = 'ok') -> PickRecord:
    """A final record whose states are 1 s apart from ``t0`` (approach at t0 + 1, ... report at t0 + 7)."""
    return PickRecord(outcome='succeeded', verdict=verdict, states=[(s, t0 + k) for k, s in enumerate(states)])


def _track(snapshots: list[tuple[float, dict[int, str]]]) -> TruthTrack:
    track = TruthTrack()
    for t, states in snapshots:
        track.add(t, states)
    return track


def test_track_keeps_changes_only_and_answers_in_force_states() -> None:
    tr = _track([(0.0, {1: 'belt'}), (0.5, {1: 'belt'}), (1.0, {1: 'held'}), (0.7, {1: 'in_air'})])
    assert tr.times == [0.0, 1.0] and tr.last_time == 1.0  # duplicates and out-of-order snapshots dropped
    assert tr.at(0.9) == {1: 'belt'} and tr.at(5.0) == {1: 'held'} and tr.at(-1.0) == {}
    assert [t for t, _ in tr.between(0.5, 2.0)] == [0.0, 1.0]


def test_one_package_delivered_is_ok_two_are_a_double_pick() -> None:
    one = _track([(0.0, {1: 'belt', 2: 'belt'}), (4.0, {1: 'held', 2: 'belt'}), (7.0, {1: 'on_robot', 2: 'belt'}),
                  (20.0, {1: 'on_robot', 2: 'belt'})])
    two = _track([(0.0, {1: 'belt', 2: 'belt'}), (4.0, {1: 'held', 2: 'belt'}),
                  (7.0, {1: 'on_robot', 2: 'on_robot'}), (20.0, {1: 'on_robot', 2: 'on_robot'})])
    both_held = _track([(0.0, {1: 'belt', 2: 'belt'}), (4.0, {1: 'held', 2: 'held'}),
                        (6.0, {1: 'belt', 2: 'belt'}), (20.0, {1: 'belt', 2: 'belt'})])
    assert label_attempt(_record(0.0), one) == 'ok'
    assert label_attempt(_record(0.0), two) == 'double_pick'
    assert label_attempt(_record(0.0, ('plan', 'approach', 'suction', 'lift', 'recover', 'report')),
                         both_held) == 'double_pick'


def test_packages_delivered_before_the_attempt_do_not_count() -> None:
    tr = _track([(0.0, {1: 'on_robot', 2: 'belt'}), (4.0, {1: 'delivered', 2: 'held'}),
                 (7.0, {1: 'delivered', 2: 'on_robot'}), (20.0, {1: 'delivered', 2: 'on_robot'})])
    assert label_attempt(_record(0.0), tr) == 'ok'


def test_drop_misplace_missed_and_put_back() -> None:
    dropped = _track([(0.0, {1: 'belt'}), (4.0, {1: 'held'}), (5.5, {1: 'fell_off'}), (20.0, {1: 'fell_off'})])
    misplaced = _track([(0.0, {1: 'belt'}), (4.0, {1: 'held'}), (7.5, {1: 'fell_off'}), (20.0, {1: 'fell_off'})])
    never_held = _track([(0.0, {1: 'belt'}), (20.0, {1: 'belt'})])
    put_back = _track([(0.0, {1: 'belt'}), (4.0, {1: 'held'}), (5.0, {1: 'belt'}), (20.0, {1: 'belt'})])
    assert label_attempt(_record(0.0), dropped) == 'drop'  # held 4 → 5.5 s, released at 6 s
    assert label_attempt(_record(0.0), misplaced) == 'misplace'  # held 4 → 7.5 s, past the release (6 s)
    assert label_attempt(_record(0.0), never_held) == 'missed'
    assert label_attempt(_record(0.0, ('plan', 'approach', 'suction', 'lift', 'recover', 'report')), put_back) == 'ok'


def test_unlabelled_until_the_track_covers_the_settle_time_and_ungraded_without_suction() -> None:
    tr = _track([(0.0, {1: 'belt'}), (4.0, {1: 'held'}), (7.0, {1: 'on_robot'})])
    assert label_attempt(_record(0.0), tr, settle_s=2.0) is None  # report at 7 s, track ends at 7 s
    tr.add(9.5, {1: 'on_robot'})
    assert label_attempt(_record(0.0), tr, settle_s=2.0) == 'ok'
    assert label_attempt(_record(0.0, ('plan', 'approach', 'report')), tr) is None


def test_confusion_counts_truth_against_verdict() -> None:
    tr = _track([(0.0, {1: 'belt', 2: 'belt', 3: 'belt'}),
                 (4.0, {1: 'held', 2: 'belt', 3: 'belt'}), (7.0, {1: 'on_robot', 2: 'belt', 3: 'belt'}),  # pick 1
                 (14.0, {1: 'on_robot', 2: 'held', 3: 'belt'}), (16.0, {1: 'on_robot', 2: 'fell_off', 3: 'belt'}),
                 (40.0, {1: 'on_robot', 2: 'fell_off', 3: 'belt'})])
    records = [_record(0.0, verdict='ok'), _record(10.0, verdict='ok'),  # the second one was a drop QA missed
               _record(20.0, ('plan', 'approach', 'report'), verdict='not_run')]  # cups never on
    out = qa_confusion(records, tr)
    assert out['picks'] == 2 and out['not_graded'] == 1 and out['unlabelled'] == 0 and out['truth_ok'] == 1
    assert out['confusion']['ok']['ok'] == 1 and out['confusion']['drop']['ok'] == 1
    assert out['drop_recall'] == 0.0
    # each graded attempt with its label: which pick a matrix cell counts
    assert out['labels'] == [[records[0].record_id, 'ok', 'ok'], [records[1].record_id, 'drop', 'ok']]


def test_a_neighbour_touched_only_while_the_cups_seal_and_rise_is_no_double_pick() -> None:
    # states 1 s apart: approach 1, suction 2, lift 3, verify 4 (the lift is over), transfer 5, release 6
    touched = _track([(0.0, {1: 'belt', 2: 'belt'}), (2.5, {1: 'held', 2: 'held'}), (3.5, {1: 'held', 2: 'belt'}),
                      (7.0, {1: 'on_robot', 2: 'belt'}), (20.0, {1: 'on_robot', 2: 'belt'})])
    carried = _track([(0.0, {1: 'belt', 2: 'belt'}), (2.5, {1: 'held', 2: 'held'}), (4.5, {1: 'held', 2: 'held'}),
                      (5.5, {1: 'held', 2: 'fell_off'}), (7.0, {1: 'on_robot', 2: 'fell_off'}),
                      (20.0, {1: 'on_robot', 2: 'fell_off'})])
    assert label_attempt(_record(0.0), touched) == 'ok'
    assert label_attempt(_record(0.0), carried) == 'double_pick'  # still both held at 4.5 s, after the lift


def test_disagreements_carry_the_evidence_of_their_label() -> None:
    tr = _track([(0.0, {1: 'belt', 2: 'belt'}), (2.5, {1: 'held', 2: 'held'}), (4.5, {1: 'held', 2: 'held'}),
                 (7.0, {1: 'on_robot', 2: 'fell_off'}), (20.0, {1: 'on_robot', 2: 'fell_off'})])
    agree, missed = _record(0.0, verdict='double_pick'), _record(0.0, verdict='ok')
    assert qa_confusion([agree], tr)['evidence'] == {}
    ev = qa_confusion([missed], tr)['evidence'][missed.record_id]
    assert ev['held'] == {'1': {'first_s': 1.5, 'last_s': 3.5, 'raised': True, 'then': 'on_robot'},
                          '2': {'first_s': 1.5, 'last_s': 3.5, 'raised': True, 'then': 'fell_off'}}
    assert ev['placed'] == [1] and ev['lift_end_s'] == 3.0 and ev['states'][0] == ['plan', -1.0]


def test_a_track_survives_json_so_a_run_can_be_graded_again() -> None:
    import json

    tr = _track([(0.0, {1: 'belt', 2: 'belt'}), (0.5, {1: 'belt', 2: 'belt'}), (4.0, {1: 'held', 2: 'belt'}),
                 (7.0, {1: 'on_robot', 2: 'belt'}), (20.0, {1: 'on_robot', 2: 'belt'})])
    back = TruthTrack.from_dict(json.loads(json.dumps(tr.as_dict())))
    assert back == tr and back.at(5.0) == {1: 'held', 2: 'belt'} and back.first_sample_from(0.2) == 0.5
    assert label_attempt(_record(0.0), back) == 'ok'


def test_held_splits_by_whether_the_package_came_up() -> None:
    states = GraderStates(lifted_m=0.02)

    def pkg(i: int, state: str, z: float) -> dict[str, object]:
        return {'id': i, 'state': state, 'pose': [0.0, 0.0, z, 1.0, 0.0, 0.0, 0.0]}

    assert states([pkg(1, 'belt', 0.10), pkg(2, 'belt', 0.05)]) == {1: 'belt', 2: 'belt'}
    assert states([pkg(1, 'held', 0.11), pkg(2, 'held', 0.30)]) == {1: 'held_down', 2: 'held'}
    assert states([pkg(3, 'held', 0.0)]) == {3: 'held'}  # never seen at rest: taken as raised


def test_a_package_that_falls_before_the_camera_ever_saw_it_is_kept_apart() -> None:
    states = GraderStates(view=((0.1, 0.9), (-0.5, 0.5)))

    def pkg(i: int, state: str, x: float, y: float) -> dict[str, object]:
        return {'id': i, 'state': state, 'pose': [x, y, 0.05, 1.0, 0.0, 0.0, 0.0]}

    states([pkg(1, 'belt', 0.5, 0.0), pkg(2, 'in_air', 0.5, -0.9)])  # 2: dropped upstream, out of view
    assert states([pkg(1, 'fell_off', 0.5, 1.2), pkg(2, 'fell_off', 1.1, -0.9)]) == {1: 'fell_off', 2: 'fell_unseen'}
    assert GraderStates()([pkg(2, 'fell_off', 1.1, -0.9)]) == {2: 'fell_off'}  # without a view: as reported


def test_a_pinned_package_the_cups_pulled_on_but_never_raised_is_a_miss() -> None:
    pinned = _track([(0.0, {1: 'belt'}), (2.5, {1: 'held_down'}), (4.5, {1: 'held_down'}), (5.0, {1: 'belt'}),
                     (20.0, {1: 'belt'})])
    put_back = _track([(0.0, {1: 'belt'}), (2.5, {1: 'held_down'}), (3.5, {1: 'held'}), (5.0, {1: 'belt'}),
                       (20.0, {1: 'belt'})])
    aborted = ('plan', 'approach', 'suction', 'lift', 'recover', 'report')
    assert label_attempt(_record(0.0, aborted), pinned) == 'missed'
    assert label_attempt(_record(0.0, aborted), put_back) == 'ok'  # still up when the lift ended (4 s)
    # up during the lift, down again before it ended: the lift lost it, nothing was carried
    lost = _track([(0.0, {1: 'belt'}), (3.2, {1: 'held'}), (3.8, {1: 'belt'}), (20.0, {1: 'belt'})])
    assert label_attempt(_record(0.0, aborted), lost) == 'missed'
    ev = qa_confusion([_record(0.0, aborted, verdict='ok')], pinned)['evidence']
    assert next(iter(ev.values()))['held'] == {'1': {'first_s': 1.5, 'last_s': 3.5, 'raised': False, 'then': 'belt'}}


def test_the_previous_package_still_in_the_air_at_the_approach_is_not_this_attempts() -> None:
    # approach at 1 s, suction at 2 s; the 2 Hz snapshot in force at 1 s still shows package 1 falling
    # onto the tray from the previous release; this attempt's package 2 falls off during the transfer
    tr = _track([(0.0, {1: 'in_air', 2: 'belt'}), (1.5, {1: 'on_robot', 2: 'belt'}), (2.0, {1: 'on_robot', 2: 'belt'}),
                 (3.5, {1: 'on_robot', 2: 'held'}), (5.5, {1: 'on_robot', 2: 'fell_off'}),
                 (20.0, {1: 'on_robot', 2: 'fell_off'})])
    assert label_attempt(_record(0.0), tr) == 'drop'


def test_the_next_attempts_package_held_in_the_settle_time_is_not_this_attempts() -> None:
    # states 1 s apart (release at 6 s, report at 7 s); package 1 falls off during the transfer,
    # the next attempt's cups take package 2 at 8.5 s, within this record's 2 s settle time
    tr = _track([(0.0, {1: 'belt', 2: 'belt'}), (3.5, {1: 'held', 2: 'belt'}), (5.0, {1: 'in_air', 2: 'belt'}),
                 (5.5, {1: 'fell_off', 2: 'belt'}), (8.5, {1: 'fell_off', 2: 'held'}),
                 (20.0, {1: 'fell_off', 2: 'held'})])
    assert label_attempt(_record(0.0), tr) == 'drop'


def test_a_pair_that_came_apart_is_a_double_pick_but_not_missorted() -> None:
    came_apart = _track([(0.0, {1: 'belt', 2: 'belt'}), (3.5, {1: 'held', 2: 'held'}), (4.5, {1: 'held', 2: 'held'}),
                         (5.5, {1: 'held', 2: 'fell_off'}), (7.0, {1: 'on_robot', 2: 'fell_off'}),
                         (20.0, {1: 'on_robot', 2: 'fell_off'})])
    both_placed = _track([(0.0, {1: 'belt', 2: 'belt'}), (3.5, {1: 'held', 2: 'held'}),
                          (7.0, {1: 'on_robot', 2: 'on_robot'}), (20.0, {1: 'on_robot', 2: 'on_robot'})])
    apart, placed = qa_confusion([_record(0.0)], came_apart), qa_confusion([_record(0.0)], both_placed)
    assert apart['confusion']['double_pick']['ok'] == 1 and apart['missorted_unalerted'] == 0
    assert placed['confusion']['double_pick']['ok'] == 1 and placed['missorted_unalerted'] == 1
