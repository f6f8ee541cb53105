"""Pick store node: persists every pick record and QA event from the graph into the pick store.

Idempotent by ``record_id``: the cell controller re-sends a record as the pick progresses and
the store keeps one row with the latest content. Invalid records are counted and logged, never
stored half-parsed.
"""

from __future__ import annotations

from pathlib import Path

from rclpy.node import Node
from std_msgs.msg import String

from robin_core import topics
from robin_core.diagnostics import OK, WARN, DiagnosticsPublisher, Status
from robin_core.node_main import run_node
from robin_core.params import declare
from robin_core.qos import RECORDS
from robin_core.records import PickRecord, QaEvent, RecordError, from_msg
from robin_insight.pick_store import PickStore


class PickStoreNode(Node):
    """Subscribes pick records and QA events; writes them to the database."""

    def __init__(self, **kwargs) -> None:
        super().__init__('pick_store', **kwargs)
        url = declare(self, 'database_url', 'sqlite:///runs/picks.db',
                      'SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://user@host/db')
        if url.startswith('sqlite:///') and url != 'sqlite:///:memory:':
            Path(url.removeprefix('sqlite:///')).parent.mkdir(parents=True, exist_ok=True)
        self.store = PickStore(url)
        self.counts = {'records': 0, 'qa_events': 0, 'invalid': 0, 'db_errors': 0}
        self._last_problem = ''
        self.create_subscription(String, topics.PICK_RECORDS, self._on_record, RECORDS)
        self.create_subscription(String, topics.QA_EVENTS, self._on_event, RECORDS)
        self._diag = DiagnosticsPublisher(self)
        self._diag.add('store', self._status)

    def _on_record(self, msg: String) -> None:
        self._handle(msg, PickRecord, self.store.upsert, 'records')

    def _on_event(self, msg: String) -> None:
        self._handle(msg, QaEvent, self.store.add_qa_event, 'qa_events')

    def _handle(self, msg: String, model, write, counter: str) -> None:
        try:
            item = from_msg(msg, model)
        except RecordError as exc:
            self.counts['invalid'] += 1
            self._last_problem = str(exc)
            self.get_logger().error(str(exc))
            return
        try:
            write(item)
        except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the ingester
            self.counts['db_errors'] += 1
            self._last_problem = f'database: {exc}'
            self.get_logger().error(self._last_problem)
            return
        self.counts[counter] += 1

    def _status(self) -> Status:
        bad = self.counts['invalid'] + self.counts['db_errors']
        return Status(WARN if bad else OK, self._last_problem if bad else 'storing', dict(self.counts))

    def close(self) -> None:
        self.store.close()


def main(args: list[str] | None = None) -> int:
    return run_node(PickStoreNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
