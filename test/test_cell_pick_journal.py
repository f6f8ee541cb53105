"""The pick journal: in-flight records survive a crash; rotation keeps disk bounded."""

from __future__ import annotations

from pathlib import Path

from robin_cell.pick_journal import PickJournal
from robin_core.records import PickRecord


def test_a_record_in_flight_at_a_crash_is_recovered_as_interrupted(tmp_path: Path) -> None:
    j = PickJournal(tmp_path)
    done, in_flight = PickRecord(), PickRecord()
    j.append(done, final=False)
    done.outcome = 'succeeded'
    j.append(done, final=True)
    j.append(in_flight, final=False)
    in_flight.states.append(('lift', 3.0))
    j.append(in_flight, final=False)
    j.close()  # the process dies here; no final snapshot for in_flight
    with (tmp_path / 'pick_journal.jsonl').open('a') as f:
        f.write('{"final": true, "rec')  # torn line from a power cut

    j2 = PickJournal(tmp_path)
    recovered = j2.recover()
    assert [r.record_id for r in recovered] == [in_flight.record_id]
    assert recovered[0].outcome == 'interrupted' and recovered[0].states == [('lift', 3.0)]
    assert j2.recover() == []  # reported once, not at every restart
    j2.close()


def test_rotation_bounds_the_number_of_files_and_keeps_unfinished_records(tmp_path: Path) -> None:
    j = PickJournal(tmp_path, max_bytes=2000, keep_files=3)
    open_rec = PickRecord()
    j.append(open_rec, final=False)
    for _ in range(60):
        r = PickRecord(outcome='succeeded')
        j.append(r, final=True)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) <= 3 and 'pick_journal.jsonl' in files
    assert all(p.stat().st_size < 4000 for p in tmp_path.iterdir())
    j.close()
    # the file that first held the unfinished record is long deleted, yet it is still recoverable
    recovered = PickJournal(tmp_path).recover()
    assert [r.record_id for r in recovered] == [open_rec.record_id]
