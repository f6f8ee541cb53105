"""Fault: the cell controller process is killed (SIGKILL) mid-pick.

The controller runs as a real process under the graph runner (``respawn: true`` as in
config/cell.yaml); the test plays grasp planner, motion executor and QA over DDS. After the kill
the runner restarts it, the new process closes the pick that was in flight as ``interrupted`` in
its journal (same record id), and the cell picks again. Publishing that record to the rest of the
graph is the open gap tested (in-process, deterministically) by the last test.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cell_fixtures import grasp_decision_json
from rclpy.parameter import Parameter
from ros_helpers import RosTestContext
from std_msgs.msg import String

from robin_bringup.graph import Graph, NodeSpec
from robin_bringup.process_graph import ProcessGraph
from robin_cell.cell_controller_node import CellControllerNode
from robin_cell.pick_journal import PickJournal
from robin_core import qos, topics
from robin_core.records import PickRecord, from_json
from robin_core.ros_env import REPO_ROOT

pytestmark = [pytest.mark.ros, pytest.mark.slow, pytest.mark.timeout(180)]


def _controller_graph(journal: Path) -> Graph:
    spec = NodeSpec(name='cell_controller', executable='cell_controller_node',
                    parameter_files=(REPO_ROOT / 'config' / 'cell_controller.yaml',),
                    parameters={'journal_dir': str(journal), 'pipeline.startup_grace': 0.0, 'tick_rate': 100.0},
                    respawn=True, respawn_delay_s=0.2)
    return Graph(name='fault_test', use_sim_time=False, nodes=(spec,))


@dataclass
class Outcome:
    """What the scenario observed."""

    in_flight_id: str
    restarts: int
    journal_final: dict  # the journal's last entry for the in-flight record, after the restart
    resumed_plan_id: str | None  # the first plan request after the restart


@pytest.fixture(scope='module')
def killed_mid_pick(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Run the scenario once: pick under way, SIGKILL, respawn, a new decision."""
    tmp = tmp_path_factory.mktemp('controller_kill')
    ros = RosTestContext()
    runner = ProcessGraph(_controller_graph(tmp / 'journal'), tmp / 'logs',
                          domain_id=int(os.environ['ROS_DOMAIN_ID']), echo=None)
    peer = ros.node('scripted_peers')
    decision_pub = peer.create_publisher(String, topics.GRASP_DECISION, qos.RECORDS)
    motion_pub = peer.create_publisher(String, topics.MOTION_EVENT, qos.RECORDS)
    requests: list[dict] = []
    peer.create_subscription(String, topics.MOTION_REQUEST, lambda m: requests.append(json.loads(m.data)),
                             qos.RELIABLE)
    records: list[dict] = []  # plays the pick store: the recovered record must reach it
    peer.create_subscription(String, topics.PICK_RECORDS, lambda m: records.append(json.loads(m.data)), qos.RECORDS)

    def spin_until(pred, timeout_s: float) -> bool:  # the runner is polled too: it respawns
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            assert runner.poll() is None, 'the graph stopped'
            if pred():
                return True
            ros.spin_for(0.05)
        return pred()

    def plans() -> list[dict]:
        return [r for r in requests if r['op'] == 'plan_pick']

    def decide_until_plan_request(n_before: int) -> dict | None:
        for _ in range(40):  # decisions are per frame; resend until the controller asks for a plan
            decision_pub.publish(String(data=grasp_decision_json(time.time_ns())))
            if spin_until(lambda: len(plans()) > n_before, 0.5):
                return plans()[-1]
        return None

    runner.start()
    try:
        assert spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0, 30)
        plan = decide_until_plan_request(0)
        assert plan is not None, 'the controller never asked for a plan'
        motion_pub.publish(String(data=json.dumps({
            'schema': 'robin.motion.event/1', 'id': plan['id'], 'event': 'planned', 'planning_ms': 10.0,
            'segments': [{'name': 'approach', 'duration_s': 1.0, 'end_joints': [0.0] * 6}]})))
        assert spin_until(lambda: requests[-1].get('segments') == ['approach', 'descend'], 10)
        journal = tmp / 'journal' / 'pick_journal.jsonl'
        assert not json.loads(journal.read_text().splitlines()[-1])['final']  # in flight, journalled

        pid = runner.pids()['cell_controller']
        os.killpg(pid, signal.SIGKILL)  # mid-pick: no shutdown code runs
        assert spin_until(lambda: runner.pids().get('cell_controller', pid) != pid, 20), 'not restarted'
        assert spin_until(lambda: decision_pub.get_subscription_count() > 0
                          and motion_pub.get_subscription_count() > 0, 30)
        resumed = decide_until_plan_request(1)
        delivered = spin_until(lambda: any(r['record_id'] == plan['id'] for r in records), 20)
        assert delivered, 'the recovered record was not published'

        def last_entry() -> dict:
            entries = [json.loads(line) for line in journal.read_text().splitlines()]
            return [e for e in entries if e['record']['record_id'] == plan['id']][-1]

        # the controller publishes a recovered record first and journals it final right after (a
        # crash in between re-reports it): give that append a moment instead of racing it
        spin_until(lambda: last_entry()['final'], 5)
        last = last_entry()
        return Outcome(plan['id'], runner.restart_counts()['cell_controller'], last, resumed['id'] if resumed else None)
    finally:
        runner.stop(grace_s=5.0)
        ros.close()


def test_killed_controller_is_restarted_journals_the_pick_as_interrupted_and_resumes(killed_mid_pick) -> None:
    o = killed_mid_pick
    assert o.restarts == 1
    # published to the pick store's topic first, then journalled final (see the fixture)
    assert o.journal_final['final'] and o.journal_final['record']['outcome'] == 'interrupted'
    assert o.resumed_plan_id is not None and o.resumed_plan_id != o.in_flight_id  # the cell picks again


def test_a_recovered_record_reaches_a_subscriber_that_matches_after_the_start(ros, tmp_path: Path) -> None:
    journal = PickJournal(tmp_path / 'journal')
    in_flight = PickRecord(states=[('plan', 1.0), ('approach', 1.5)])
    journal.append(in_flight, final=False)
    journal.close()  # the previous controller died here
    ros.add(CellControllerNode(context=ros.context, parameter_overrides=[
        Parameter('journal_dir', value=str(tmp_path / 'journal'))]))  # recovers while nobody listens yet
    got: list[PickRecord] = []
    store = ros.node('pick_store_starting_later')
    store.create_subscription(String, topics.PICK_RECORDS, lambda m: got.append(from_json(m.data, PickRecord)),
                              qos.RECORDS)
    assert ros.spin_until(lambda: any(r.record_id == in_flight.record_id for r in got), 10)
    assert [r.outcome for r in got if r.record_id == in_flight.record_id] == ['interrupted']
