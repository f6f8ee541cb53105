"""Record accounting after a run: journal vs topic vs pick store vs bag, and memory growth (no ROS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robin_bringup.memory_sampler import MB, MemorySampler, process_tree_rss
from robin_bringup.record_audit import account, read_journal
from robin_bringup.run_report import RunReport
from robin_cell.pick_journal import PickJournal
from robin_core.records import PickRecord


def test_read_journal_sees_final_and_open_records_across_rotated_files(tmp_path: Path) -> None:
    j = PickJournal(tmp_path, max_bytes=1500, keep_files=4)
    open_rec = PickRecord(states=[('approach', 1.0)])
    j.append(open_rec, final=False)
    finals = []
    for k in range(12):
        r = PickRecord(outcome='succeeded', states=[('approach', float(k)), ('report', k + 2.5)])
        j.append(r, final=True)
        finals.append(r.record_id)
    j.close()
    with (tmp_path / 'pick_journal.jsonl').open('a') as f:
        f.write('{"final": true, "rec')  # torn line
    assert len(list(tmp_path.glob('pick_journal.*.jsonl'))) >= 1  # it did rotate
    state = read_journal(tmp_path)
    assert state.open == {open_rec.record_id}
    assert set(finals[-3:]) <= set(state.final)  # the newest survive rotation
    assert state.final[finals[-1]] == pytest.approx(11 + 2.5)


def test_accounting_names_records_missing_from_store_and_bag() -> None:
    reference = {'a': 10.0, 'b': 20.0, 'c': 30.0, 'd': 40.0}
    out = account(reference, published={'a', 'b', 'c'}, in_flight={'e'}, in_store={'a', 'b', 'd'}.__contains__,
                  bag=({'c', 'd'}, 25.0))  # the bag kept only records that ended from 25 s on
    assert out['final_records'] == 4 and out['in_flight_at_stop'] == 1 and out['missing_from_topic'] == ['d']
    assert out['in_store'] == 3 and out['missing_from_store'] == ['c']
    assert out['bag_checked'] == 2 and out['missing_from_bag'] == []
    assert out['records_lost'] == 1
    lost_bag = account(reference, set(reference), set(), None, (set(), None))  # recorder ran, wrote nothing
    assert lost_bag['records_lost'] == 4 and 'in_store' not in lost_bag
    clean = account(reference, set(reference), set(), set(reference).__contains__, None)
    assert clean['records_lost'] == 0 and 'bag_checked' not in clean


def test_memory_growth_rate_after_warmup_and_restarts_counted() -> None:
    rss = {'leaky': 100 * MB, 'flat': 50 * MB}
    s = MemorySampler(warmup_s=10.0, rss_of=lambda pid: rss['leaky' if pid == 1 else 'flat'] if pid else None)
    for t in range(0, 3600, 60):  # one hour, a sample a minute
        rss['leaky'] = (100 + (0 if t < 10 else (t / 3600.0) * 36)) * MB  # start-up then 36 MB/h
        s.sample({'a': 1, 'b': 2, 'gone': 0}, float(t))
    out = s.summary()
    assert set(out) == {'a', 'b'}
    assert out['a']['growth_mb_per_h'] == pytest.approx(36.0, rel=0.02)
    assert out['b']['growth_mb_per_h'] == pytest.approx(0.0, abs=1e-6) and out['b']['growth_mb'] == 0.0
    s.sample({'a': 3}, 3600.0)  # respawned: a new pid
    assert s.summary()['a']['restarts'] == 1 and s.summary()['a']['growth_mb_per_h'] is None
    assert s.total_mb() == pytest.approx(out['b']['rss_end_mb'] + 50.0, abs=0.2)


def test_process_tree_rss_of_this_process_and_a_missing_one() -> None:
    import os

    assert process_tree_rss(os.getpid()) > 10 * MB
    assert process_tree_rss(2**22 + 12345) is None


def test_report_carries_memory_confusion_and_accounting(tmp_path: Path) -> None:
    r = RunReport()
    r.record_accounting = {'records_lost': 0}
    data = r.write(tmp_path / 'report.json')
    on_disk = json.loads((tmp_path / 'report.json').read_text())
    assert on_disk['memory_mb'] == {} and on_disk['record_accounting'] == {'records_lost': 0}
    assert data['qa_confusion'] is None  # no ground truth seen
    r.on_ground_truth(1.0, {1: 'belt'})
    assert r.as_dict()['qa_confusion']['picks'] == 0
