"""The pick state machine (plain Python): scene → plan → approach → suction → lift → verify →
transfer → release → report, with a timeout on every state and perception pipelined behind motion.

The machine is driven by events (a decision arrived, a plan is ready, a motion segment finished,
QA gave a verdict, time passed) and answers each with commands for the node to carry out. It owns
no I/O, so every path — including every failure and timeout — is unit-tested without ROS.

Pipelining: the camera sees the pile only while the arm is out of the way. A decision is accepted
only if its frame was taken after the arm left the pick area on the previous cycle (transfer
start + ``scene_clear_delay_s``), so the next target is perceived and chosen while the current
package is carried and released, and the arm rarely waits.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field, replace

from robin_core.records import Candidate, PickRecord, Pose, QaEvent, RecoveryAction, TargetInfo, Verdict

#: frame stamp no camera frame reaches: 'no frame counts until further notice' [ns]
_NO_FRAME_YET_NS = 2**62


class Phase(enum.StrEnum):
    WAIT_SCENE = 'wait_scene'  # waiting for a fresh decision
    PLAN = 'plan'  # motion plan requested
    APPROACH = 'approach'  # moving to pre-grasp and down onto the package
    SUCTION = 'suction'  # cups on, letting the seal build
    LIFT = 'lift'
    VERIFY = 'verify'  # waiting for QA's post-lift verdict
    TRANSFER = 'transfer'  # carrying to the drive robot
    WAIT_ROBOT = 'wait_robot'  # over the station, holding the package until an empty drive robot docks
    RELEASE = 'release'  # cups off over the tray, waiting for QA's placement verdict
    RECOVER = 'recover'  # a recovery motion (put back, retreat)
    HOLD = 'hold'  # a human was called and the cell must not continue


#: motion segments the executor knows (see docs/motion.md)
SEGMENTS = ('approach', 'lift', 'transfer', 'putback', 'retreat')
NUM_CUPS = 8  # cups on the tool
#: transfer failures the controller finishes with a move to the place pose (the package still held):
#: stopped short of the tray, or refused because the arm drifted off the lift's end
TRANSFER_FAILURES_TO_FINISH = ('timeout', 'start_mismatch')


@dataclass(frozen=True)
class GraspOption:
    """One ranked way to pick one instance."""

    instance_id: int
    package_type: str
    score: float  # instance confidence
    type_score: float
    grasp_score: float
    cup_mask: int
    position: tuple[float, float, float]  # suction point in base_link [m]
    orientation: tuple[float, float, float, float]  # tool orientation (x, y, z, w)
    expected_mass_kg: float
    height_top_m: float | None = None
    rank: int = 0  # position in the planner's decision: 0 = chosen, k = k-th alternative
    package_size: tuple[float, float, float] | None = None  # (length, width, thickness) [m]
    package_in_tool: tuple[float, float, float] | None = None  # top centre x, y [m], long side [rad], tcp frame
    payload_acceleration: float | None = None  # [m/s^2] the cups hold it through; lift and transfer keep to it


@dataclass(frozen=True)
class Decision:
    """The grasp planner's answer for one camera frame."""

    frame_stamp_ns: int
    options: tuple[GraspOption, ...]  # best first; empty when nothing can be picked
    reason: str = ''  # why there is no option (empty scene, nothing pickable, ...)
    latency_ms: float = 0.0  # frame stamp → decision published
    model_version: str | None = None
    model_sha256: str | None = None
    segmenter: str = 'none'
    color_stamp_ns: int | None = None
    depth_stamp_ns: int | None = None
    instance_count: int = 0  # packages perceived in the frame (clutter)
    unhealthy_cups: tuple[int, ...] = ()  # cups the planner excluded (QA's view when it planned)
    entering: int = 0  # packages only partly in view upstream: the belt is still bringing them in
    arm_masked: bool = False  # the arm was in view and the planner masked it out (nothing under it offered)


# -- commands (what the node must do) ---------------------------------------------------------
@dataclass(frozen=True)
class RequestPlan:
    pick_id: str
    option: GraspOption
    scene_stamp_ns: int | None = None  # the decision's frame: the motion planner plans around that pile
    start: tuple[float, ...] | None = None  # plan from these joints (the place pose: planning ahead); None: the arm's


@dataclass(frozen=True)
class ExecuteSegment:
    pick_id: str
    segment: str
    goal_joints: tuple[float, ...] | None = None  # 'place': a joint move to the transfer's end


@dataclass(frozen=True)
class SetCups:
    mask: int  # bit i = cup i on


@dataclass(frozen=True)
class NotifyQa:
    """Tell QA where the attempt is (robin_qa.protocol.PickPhase)."""

    record_id: str
    phase: str  # approach | grasped | lifted | transferring | released | aborted
    option: GraspOption | None
    package_id: str | None = None
    attempt: int = 1
    drive_robot_id: str | None = None  # released: the empty robot the station showed docked


@dataclass(frozen=True)
class AdvanceBelt:
    seconds: float  # run the belt this long to bring new packages into the pick area [s]


@dataclass(frozen=True)
class EmitRecord:
    record: PickRecord
    final: bool  # False: in-flight snapshot (journalled so a crash loses nothing)


Command = RequestPlan | ExecuteSegment | SetCups | NotifyQa | AdvanceBelt | EmitRecord


@dataclass(frozen=True)
class CycleConfig:
    """Timeouts [s] per state and pipelining settings (all from config/cell_controller.yaml)."""

    decision_timeout_s: float = 6.0
    plan_timeout_s: float = 6.0
    segment_timeout_s: float = 8.0
    seal_settle_s: float = 0.25  # cups on → QA's seal check and lift; QA averages the last 0.2 s
    lift_settle_s: float = 0.2  # hold still after the lift so QA weighs a still load (its sample window)
    verify_timeout_s: float = 1.0
    placement_timeout_s: float = 1.5  # QA's placement verdict waits for the drive robot to settle
    robot_wait_warn_s: float = 10.0  # holding over an empty station this long is reported (it never releases)
    release_s: float = 0.25
    scene_clear_delay_s: float = 0.9  # the arm leaves the pick area ~0.65 s into a transfer
    # a frame the grasp planner masked the arm out of counts from the verified lift on, not only
    # scene_clear_delay_s into the transfer: the next pick is chosen and planned during the carry
    use_arm_masked_frames: bool = True
    max_decision_age_s: float = 3.0  # never act on a frame older than this
    belt_still_mps: float = 0.005  # measured belt speeds below this count as standing still [m/s]
    belt_advance_s: float = 2.0
    belt_settle_s: float = 0.4  # frames from this long after a belt run show a pile at rest [s]
    # consecutive empty decisions (~1.1 s at the ~5.5 decisions/s measured in the demo; was 10):
    # a single bad frame is not a fact
    empty_scenes_before_advance: int = 6
    startup_grace_s: float = 3.0  # let the scene settle after start-up before acting on it [s]
    unpickable_scenes_before_nudge: int = 6  # consecutive decisions with packages but no option (~2-4 s here)
    belt_nudge_s: float = 0.5  # short belt run to change an unpickable scene [s]
    # an unpickable scene with packages still entering the view upstream: the belt run is what
    # helps, so nudge after a few agreeing decisions instead of unpickable_scenes_before_nudge
    entering_scenes_before_nudge: int = 3
    # plan the next pick from the place pose while the current package is carried and released
    plan_ahead: bool = True
    # a suspicion after the lift (QA's ``verify``: one medium finding) is carried and settled by
    # the drive robot's package count; a put-back re-picks the same package and reads the same
    # signals again, so it only loops (see docs/qa.md)
    carry_suspect: bool = True
    # the arm moves on release_s after the cups are off; the record closes when QA's placement
    # verdict arrives (it waits ~0.5 s for the drive robot to settle, which the arm need not)
    overlap_placement: bool = True
    # the pick area is empty behind the package being carried: run the belt now, not after the
    # release (the arm is out of the pick area), once this many fresh decisions agree
    feed_ahead: bool = True
    # only ~1-2 fresh decisions arrive during a carry (frames from scene_clear_delay_s on, ~0.4 s
    # decision latency); they keep counting towards empty_scenes_before_advance after it
    empty_scenes_before_feed_ahead: int = 2
    same_package_radius_m: float = 0.05  # options this close to an earlier attempt are the same package
    plan_failure_memory_s: float = 10.0  # a spot whose plan failed is not offered again this long [s]
    stuck_backoff_s: float = 1.0  # after a failed arm-clearing retreat, frames wait this long, doubling [s]
    # consecutive decisions, while the arm is idle, with nothing to offer because the arm itself is
    # in the camera's view (masked): the arm is not out of the way, so it retreats to park. A
    # failed recovery once left it over the pile: 400 s of a fault run without a pick, the belt
    # pushing packages against it
    arm_in_view_decisions_before_retreat: int = 3
    # a transfer that timed out short of the tray or was refused at its start (the arm drifted off
    # the lift's end while QA verified) moves on to the place pose once, holding the package (a
    # joint move from where the arm is) instead of letting go there: in the session-9 fault run 4
    # timed-out packages were dropped off the cell beside the drive robot, in run C 2 refused ones
    # onto the pile
    place_after_failed_transfer: bool = True
    options_per_target: int = 2  # plan failures on one instance before moving to the next [-]
    # fault injection (benchmarks only, 0 in production): this share of attempts switches on every
    # healthy cup instead of the planner's choice — the naive baseline, which straddles neighbours
    fault_all_cups_rate: float = 0.0


@dataclass
class CycleStats:
    """Numbers the run report is built from."""

    attempts: int = 0
    succeeded: int = 0
    first_attempt_succeeded: int = 0
    first_attempts: int = 0
    decision_latency_ms: list[float] = field(default_factory=list)
    arm_wait_s: float = 0.0
    cycle_s: float = 0.0  # time from the first approach to the last report
    belt_advances: int = 0
    feed_wait_s: float = 0.0  # arm idle while the belt brought new packages
    stale_decisions: int = 0  # decisions refused because their frame was older than max_decision_age_s
    last_fresh_frame_s: float | None = None  # newest frame time of a decision young enough to act on
    arm_clearing_retreats: int = 0  # plans refused because the arm started in collision: retreated first
    failed_clearing_retreats: int = 0  # ... whose retreat failed too (the arm is stuck)
    uncommanded_belt_runs: int = 0  # times the belt was seen moving without the controller's command
    last_uncommanded_belt_s: float | None = None  # when it was last seen doing so
    plans_ahead: int = 0  # next picks planned while the current package was carried
    robot_waits: int = 0  # transfers that ended before an empty drive robot was docked
    plans_ahead_used: int = 0  # ... of them executed without planning again
    plan_ahead_skipped: dict[str, int] = field(default_factory=dict)  # decisions not planned ahead, by reason
    feeds_ahead: int = 0  # belt runs started while a package was carried (the pick area was empty)
    # where the cell's time goes: seconds per phase; wait_scene is split into 'feed' (the belt
    # runs and the pile settles) and 'wait_scene' (waiting for a decision that can be acted on)
    time_in_phase_s: dict[str, float] = field(default_factory=dict)
    # wait_scene split by what the latest decision said (the feed part excluded): no fresh decision,
    # nothing pickable, an empty pick area, every option skipped (failed spots, skipped packages)
    wait_scene_by_reason_s: dict[str, float] = field(default_factory=dict)


@dataclass
class _PlanAhead:
    """The next pick, planned from the place pose while the current package is carried."""

    record: PickRecord
    decision: Decision
    option_index: int
    planned: bool | None = None  # None: the plan is still being made
    place_joints: tuple[float, ...] | None = None  # where its own transfer will end


@dataclass
class _Parked:
    """A record the arm is done with, waiting for QA's final verdict until ``deadline``."""

    record: PickRecord
    deadline: float
    placement: bool  # released over a robot: the placement verdict decides the outcome


@dataclass
class _TrackedPackage:
    package_id: str
    x: float  # where it was last tried, base_link [m]
    y: float
    failed_attempts: int


def _apply_qa(rec: PickRecord, event: QaEvent) -> None:
    """Copy a QA event into its record; QA's final verdict combines all its checks of the pick."""
    if event.signals is not None:
        rec.qa_signals = event.signals
    if event.verdict != 'ok' or event.final:
        rec.verdict, rec.verdict_reasons, rec.recovery = event.verdict, list(event.reasons), event.recovery


def _placed(rec: PickRecord, verdict: str) -> None:
    """QA's placement verdict (its final one, combining every check of the pick) decides the outcome."""
    rec.outcome = 'succeeded' if verdict == 'ok' else 'failed'
    # an earlier verdict's reason (a drop QA later found on the robot) does not outlive a success
    rec.failure_reason = '' if verdict == 'ok' else f'placement: {verdict}'


def _no_placement_verdict(rec: PickRecord, why: str, *, placement: bool = True) -> None:
    rec.outcome = 'failed'
    if placement or rec.verdict in ('ok', 'not_run'):  # a fault QA already found stands
        rec.verdict = 'suspect'
    rec.failure_reason = rec.failure_reason or 'placement: no verdict'  # a failed record always says why
    what = 'placement verdict' if placement else 'final QA verdict'
    rec.verdict_reasons.append(f'no {what} ({why}): treated as suspect')


def _wait_reason(decision: Decision) -> str:
    """What a decision without a usable option makes the cell wait on (accounting)."""
    if decision.options:
        return 'planning'  # ends WAIT_SCENE at once
    if decision.reason.startswith('empty'):
        return 'empty pick area'
    if decision.reason.startswith('remaining packages wait'):
        return 'options skipped (failed spots, skipped packages)'
    return 'nothing pickable'


class PickCycle:
    """Event-driven pick state machine. Call :meth:`start` once, then the ``on_*`` methods."""

    def __init__(self, config: CycleConfig, cell_id: str = 'cell_0', fault_seed: int = 0) -> None:
        self.config = config
        self._fault_rng = random.Random(fault_seed)  # drawn only while fault_all_cups_rate > 0
        self.cell_id = cell_id
        self.phase = Phase.WAIT_SCENE
        self.phase_since = 0.0
        self.stats = CycleStats()
        self.record: PickRecord | None = None
        self._decision: Decision | None = None
        self._option_index = 0
        self._scene_valid_after_ns = 0
        # frames with the arm masked out count from here (the lift verified: the pile under it is
        # settled) until the next approach; and none while the belt moves or settles
        self._masked_valid_after_ns = _NO_FRAME_YET_NS
        self._belt_still_after_ns = 0
        self._arm_idle_since: float | None = 0.0
        self._empty_scenes = 0
        self._first_approach_at: float | None = None
        self._packages: list[_TrackedPackage] = []  # packages with failed attempts
        self._package_counter = 0
        self._skipped: set[str] = set()  # package ids a human was called for
        # (x, y, until): spots the motion planner could not reach; a new frame shows the same
        # package again, and planning it over and over starves every other package
        self._plan_failed: list[tuple[float, float, float]] = []
        self._failed_in_decision: dict[int, int] = {}  # instance id -> plan failures this decision
        self._hold_requested = False
        self._stuck_retreats = 0  # consecutive failed arm-clearing retreats (back-off)
        self._arm_in_view = 0  # consecutive idle decisions that had nothing to offer but the arm in view
        self._clearing = False  # the retreat under way frees an arm stuck in the pile
        self._qa_end_sent = False  # QA was told how the attempt ended (released or aborted)
        self._qa_final_seen = False  # QA's final verdict on the current record arrived
        self._await_qa = False  # the cups went off after a failed lift/transfer: QA's verdict is worth waiting for
        self._lifted_sent = False
        self._replanned_for: str | None = None  # record whose approach was re-planned after a start mismatch
        self._placing_after: str = ''  # the transfer's failure while a 'place' move finishes it
        self._place_joints: tuple[float, ...] | None = None  # where the current pick's transfer ends
        self._ahead: _PlanAhead | None = None
        self._ahead_tried = False  # one plan ahead per carried package: failures fall back to the normal flow
        self._dropped_in_transfer = False
        # a pick whose final QA verdict is still to come (placement after a release, or the check of a
        # failed lift or transfer), and when to stop waiting for it
        self._placing: _Parked | None = None
        self._feed_until = 0.0  # the belt runs and the pile settles until then (time accounting)
        self._wait_reason = 'no fresh decision'  # what the cell waits on in WAIT_SCENE (accounting)
        self._wait_mark = 0.0  # wait_scene time is accounted up to here
        # an empty drive robot is docked at the place station; None: no station state yet (cannot wait)
        self._robot_ready: bool | None = None
        self._docked_robot: str | None = None  # its name, when the station said which
        # (segmenter, model version, model sha256) from perception/model_info; a decision's own wins
        self.model_info: tuple[str, str | None, str | None] = ('none', None, None)

    # -- events -------------------------------------------------------------------------------
    def start(self, now: float) -> list[Command]:
        self._enter(Phase.WAIT_SCENE, now)
        self._arm_idle_since = now + self.config.startup_grace_s
        self._scene_valid_after_ns = int((now + self.config.startup_grace_s) * 1e9)
        return []

    def on_decision(self, decision: Decision, now: float) -> list[Command]:
        """A decision arrived: acted on in WAIT_SCENE, planned ahead while a package is carried,
        and only if its frame is fresh and was taken with the arm out of view."""
        if self.phase in (Phase.TRANSFER, Phase.WAIT_ROBOT, Phase.RELEASE):
            return self._plan_ahead(decision, now)
        if self.phase != Phase.WAIT_SCENE:
            return []
        accepted = self._acceptable(decision, now)
        if accepted is None:
            return []
        decision = accepted
        self._note_wait(now, _wait_reason(decision))
        if self._idle_arm_in_view(decision):
            return self._retreat_idle_arm(now)
        if not decision.options:
            # an empty pick area: bring the next packages. Packages that are there but cannot be
            # picked yet (ambiguous stacking): nudge the belt only after a while, so the pile is
            # not carried away downstream — unless some are still entering the view upstream,
            # where running the belt is exactly what makes them pickable.
            empty = decision.reason.startswith('empty')
            self._empty_scenes += 1
            c = self.config
            if empty and self._empty_scenes >= c.empty_scenes_before_advance:
                return self._advance_belt(now, c.belt_advance_s)
            patience = c.entering_scenes_before_nudge if decision.entering else c.unpickable_scenes_before_nudge
            if not empty and self._empty_scenes >= patience:
                return self._advance_belt(now, c.belt_nudge_s)
            return []
        self._empty_scenes = 0
        self._decision = decision
        self._option_index = 0
        self._failed_in_decision = {}
        return self._plan_current(now)

    def on_plan(self, pick_id: str, ok: bool, reason: str, now: float, planning_ms: float = 0.0, *,
                place_joints: tuple[float, ...] | None = None) -> list[Command]:
        """The motion plan of a pick; ``place_joints``: where its transfer ends (the next pick's
        plan-ahead start)."""
        ahead = self._ahead
        if ahead is not None and pick_id == ahead.record.record_id:
            return self._on_plan_ahead(ahead, ok, reason, planning_ms, place_joints)
        if not self._is_current(pick_id, Phase.PLAN):
            return []
        assert self.record is not None
        self.record.plan['planning_ms'] = round(planning_ms, 2)
        if ok:
            self._place_joints = place_joints
            return self._start_approach(now)
        if reason.startswith('start_in_collision') and _failed_segment(reason) in ('', 'approach'):
            # the arm itself is stuck in the pile (a recovery that ended short): every plan from
            # here fails alike, so clear the arm first (the retreat escapes straight up), then re-perceive.
            # A later segment's start (the lift's end, carrying the package) is this option's
            # failure, not the arm's: 23 clearing retreats in a fault run re-planned one package
            # whose carried box met the unmapped belt, never marking its spot as failed
            self.record.outcome = 'aborted'
            self.record.failure_reason = f'plan failed: {reason}: the arm retreats first'
            self.stats.arm_clearing_retreats += 1
            self._clearing = True
            return [SetCups(0), *self._recover('retreat', now)]
        return self._next_option(f'plan failed: {reason}', now)

    def on_segment(self, pick_id: str, segment: str, ok: bool, reason: str, now: float) -> list[Command]:
        if self.record is None or pick_id != self.record.record_id:
            return []
        expected = {Phase.APPROACH: 'approach', Phase.LIFT: 'lift', Phase.TRANSFER: 'transfer'}
        if self.phase == Phase.RECOVER:
            if segment == 'putback':  # the package is back on the pile: let go, then clear the pile
                return [SetCups(0), ExecuteSegment(pick_id, 'retreat')]
            if segment != 'retreat':
                return []
            # the arm is parked out of view only now: earlier frames may show it over the pile
            self._scene_valid_after_ns = int(now * 1e9)
            clearing, self._clearing = self._clearing, False
            if clearing and not ok:
                # the arm could not free itself: every plan from here fails alike, and re-planning
                # on the next frame spun at ~5 Hz (135 aborts in 25 s of a closed-loop run); wait
                # longer each time for the pile (or a human) to change something
                self._stuck_retreats += 1
                self.stats.failed_clearing_retreats += 1
                wait = min(self.config.stuck_backoff_s * 2 ** (self._stuck_retreats - 1), 30.0)
                self.record.failure_reason += f'; the retreat failed too ({reason}): next frame in {wait:.0f} s'
                self._scene_valid_after_ns = int((now + wait) * 1e9)
            elif ok:
                self._stuck_retreats = 0
            return self._finish(now)
        if self._placing_after:
            expected[Phase.TRANSFER] = 'place'
        if expected.get(self.phase) != segment:
            return []
        if not ok and self.phase == Phase.TRANSFER and segment == 'transfer' \
                and reason.startswith(TRANSFER_FAILURES_TO_FINISH) \
                and self.config.place_after_failed_transfer and self._place_joints is not None:
            # the package is on the cups, the arm short of the tray or not yet started: letting go
            # here drops it wherever the arm is, so move on to the place pose once, from there
            self._placing_after = f'transfer failed: {reason}'
            self.record.plan['place_after'] = reason
            self._enter(Phase.TRANSFER, now)  # the segment timeout counts from here
            return [ExecuteSegment(pick_id, 'place', goal_joints=self._place_joints)]
        placing_after, self._placing_after = self._placing_after, ''
        if not ok and self.phase == Phase.APPROACH and reason.startswith('start_mismatch') \
                and self._replanned_for != pick_id and self._decision is not None:
            # the arm was not where the plan began (it was still moving when the plan was made):
            # nothing has touched the pile yet, so plan the same grasp again from where it is now
            self._replanned_for = pick_id
            self.record.plan['replanned_after'] = reason
            self._enter(Phase.PLAN, now)
            return [RequestPlan(pick_id, self._option(), self._decision.frame_stamp_ns)]
        if not ok:
            failed = f'{segment} failed: {reason}'
            self.record.failure_reason = f'{placing_after}; {failed}' if placing_after else failed
            self.record.outcome = 'failed'
            return [*self._let_go(), *self._recover('retreat', now)]
        if self.phase == Phase.APPROACH:
            self._enter(Phase.SUCTION, now)
            return [SetCups(self._option().cup_mask)]  # QA is told once the seal had time to build
        if self.phase == Phase.LIFT:
            self._enter(Phase.VERIFY, now)
            self._lifted_sent = False  # QA is told once the package has hung still a moment
            return []
        # transfer done: release over the tray — only onto an empty drive robot
        if self._robot_ready is False:
            self.stats.robot_waits += 1
            self._enter(Phase.WAIT_ROBOT, now)
            return []
        return self._release(now)

    def on_station(self, robot_ready: bool, now: float, robot_id: str | None = None) -> list[Command]:
        """The place station's state: whether an empty drive robot is docked (and its name)."""
        self._robot_ready = robot_ready
        self._docked_robot = robot_id if robot_ready else None
        if robot_ready and self.phase == Phase.WAIT_ROBOT:
            return self._release(now)
        return []

    def waiting_for_robot_s(self, now: float) -> float | None:
        """How long the arm has held a package over an empty station, beyond ``robot_wait_warn_s``."""
        waited = now - self.phase_since
        return waited if self.phase == Phase.WAIT_ROBOT and waited > self.config.robot_wait_warn_s else None

    def _release(self, now: float) -> list[Command]:
        self._enter(Phase.RELEASE, now)
        return [SetCups(0), self._qa('released')]

    def on_qa(self, event: QaEvent, now: float) -> list[Command]:
        """A QA verdict for the current record (post-lift, during transfer, or after release)."""
        if self._placing is not None and event.record_id == self._placing.record.record_id:
            return self._on_placing_qa(event, now)
        if self.record is None or event.record_id != self.record.record_id:
            return []
        phase, verdict, recovery = event.phase or '', event.verdict, event.recovery
        _apply_qa(self.record, event)
        self._qa_final_seen |= event.final
        if self.phase == Phase.VERIFY and phase == 'lifted':
            return self._after_verify(verdict, recovery, now)
        if self.phase == Phase.WAIT_ROBOT and verdict == 'drop':  # nothing left to wait for
            self.record.outcome = 'failed'
            self.record.failure_reason = 'dropped over the place station while waiting for a drive robot'
            return self._release(now)  # the pile is untouched: a plan made ahead stays valid
        if self.phase == Phase.TRANSFER and verdict == 'drop':
            # let the transfer finish (the arm leaves the pile, out of view) and close the pick as
            # usual: interrupting it with a retreat while the arm still moved made the next plan
            # start from a stale state (start_mismatch) in closed-loop runs
            self.record.outcome = 'failed'
            self.record.failure_reason = 'dropped during transfer'
            self._dropped_in_transfer = True  # where it fell is unknown: perhaps on the pile
            return [SetCups(0)]
        if self.phase == Phase.RELEASE and event.final:
            _placed(self.record, verdict)
            return self._finish(now)
        return []

    def on_alert(self, active: bool, hold_cell: bool, now: float,
                 skipped_packages: tuple[str, ...] = ()) -> list[Command]:
        """QA's human call (latched state), or its acknowledgement (``active`` False).

        ``hold_cell``: the cell must stop (sensors unreliable, a package fell off); the current
        pick is finished first. Otherwise the cell keeps working and leaves ``skipped_packages``
        (the ones that failed too often) alone until the alert is acknowledged.
        """
        if active:
            self._skipped = set(skipped_packages)
            self._hold_requested = hold_cell
            if self._hold_requested and self.phase == Phase.WAIT_SCENE:
                self._enter(Phase.HOLD, now)
            return []
        self._skipped.clear()
        self._packages.clear()
        self._hold_requested = False
        if self.phase == Phase.HOLD:
            self._enter(Phase.WAIT_SCENE, now)
            self._arm_idle_since = now
        return []

    def on_belt_speed(self, speed_mps: float, commanded: bool, now: float) -> list[Command]:
        """The measured belt speed. A moving belt moves the pile: frames taken while it runs (and
        ``scene_clear_delay_s`` after) are refused. A run the controller did not command is a fault
        (another controller, an operator, a drive fault): a pick being planned or approached aims at
        where the package was, so it is abandoned and the arm retreats."""
        if abs(speed_mps) < self.config.belt_still_mps:
            return []
        valid_after = int((now + self.config.scene_clear_delay_s) * 1e9)
        self._scene_valid_after_ns = max(self._scene_valid_after_ns, valid_after)
        self._belt_still_after_ns = max(self._belt_still_after_ns, valid_after)
        if commanded:
            return []
        first = self.stats.last_uncommanded_belt_s is None or now - self.stats.last_uncommanded_belt_s > 1.0
        self.stats.uncommanded_belt_runs += int(first)
        self.stats.last_uncommanded_belt_s = now
        self._plan_failed.clear()  # the packages have moved: the failed spots mean nothing now
        if self.phase not in (Phase.PLAN, Phase.APPROACH) or self.record is None:
            return []
        self.record.outcome = 'failed'
        self.record.failure_reason = f'belt moved without command at {speed_mps:.2f} m/s during {self.phase.value}'
        return [SetCups(0), *self._recover('retreat', now)]  # frames count again once the arm is parked

    def belt_uncommanded(self, now: float, hold_s: float = 1.0) -> bool:
        """Whether the belt was seen moving without command within the last ``hold_s``."""
        last = self.stats.last_uncommanded_belt_s
        return last is not None and now - last <= hold_s

    def perception_stale_s(self, now: float) -> float | None:
        """How long the cell has been waiting for a decision on a fresh frame beyond
        ``max_decision_age_s`` (None when it is not waiting, or not that long): the arm holds,
        and /diagnostics should say why."""
        if self.phase != Phase.WAIT_SCENE:
            return None
        last_fresh = self.stats.last_fresh_frame_s if self.stats.last_fresh_frame_s is not None else self.phase_since
        since = max(self.phase_since, last_fresh, self._scene_valid_after_ns * 1e-9)
        waited = now - since
        return waited if waited > self.config.max_decision_age_s else None

    def on_tick(self, now: float) -> list[Command]:
        """Check the current state's timeout (and that of a record waiting for its placement)."""
        cmds: list[Command] = []
        if self._placing is not None and now > self._placing.deadline:
            cmds = self._close_placing(f'none within {self.config.placement_timeout_s} s', now)
        return cmds + self._phase_tick(now)

    def _phase_tick(self, now: float) -> list[Command]:
        c = self.config
        elapsed = now - self.phase_since
        if self.phase == Phase.WAIT_SCENE and elapsed > c.decision_timeout_s:
            return self._advance_belt(now, c.belt_nudge_s)
        if self.phase == Phase.PLAN and elapsed > c.plan_timeout_s:
            return self._next_option('planning timeout', now)
        if self.phase in (Phase.APPROACH, Phase.LIFT, Phase.TRANSFER, Phase.RECOVER) and elapsed > c.segment_timeout_s:
            assert self.record is not None
            if self.record.outcome != 'aborted':  # an arm-clearing retreat stays a plan-only abort
                self.record.outcome = 'failed'
            self.record.failure_reason = f'{self.phase.value} timed out after {elapsed:.1f} s'
            if self.phase == Phase.RECOVER:  # where the arm is now is unknown: best effort
                self._scene_valid_after_ns = int((now + c.scene_clear_delay_s) * 1e9)
                return self._finish(now)
            return [*self._let_go(), *self._recover('retreat', now)]
        if self.phase == Phase.SUCTION and elapsed >= c.seal_settle_s:
            self._enter(Phase.LIFT, now)
            assert self.record is not None
            return [self._qa('grasped'), ExecuteSegment(self.record.record_id, 'lift')]
        if self.phase == Phase.VERIFY and not self._lifted_sent and elapsed >= c.lift_settle_s:
            self._lifted_sent = True
            return [self._qa('lifted')]
        if self.phase == Phase.VERIFY and elapsed > c.lift_settle_s + c.verify_timeout_s:
            assert self.record is not None
            self.record.verdict_reasons.append(f'no QA verdict within {c.verify_timeout_s} s: treated as suspect')
            return self._after_verify('suspect', 'put_back_and_repick', now)
        if self.phase == Phase.RELEASE and c.overlap_placement and elapsed >= c.release_s:
            return self._hand_over(now)
        if self.phase == Phase.RELEASE and elapsed > c.release_s + c.placement_timeout_s:
            assert self.record is not None
            _no_placement_verdict(self.record, f'none within {c.placement_timeout_s} s')
            return self._finish(now)
        return []

    # -- internals ------------------------------------------------------------------------------
    def _after_verify(self, verdict: Verdict, recovery: RecoveryAction, now: float) -> list[Command]:
        assert self.record is not None
        if verdict == 'ok' or (verdict == 'suspect' and recovery == 'verify' and self.config.carry_suspect):
            self._enter(Phase.TRANSFER, now)
            # the arm leaves the camera's view now: frames from a little later show the new pile;
            # frames with the arm masked out show it already
            self._scene_valid_after_ns = int((now + self.config.scene_clear_delay_s) * 1e9)
            self._masked_valid_after_ns = int(now * 1e9)
            return [ExecuteSegment(self.record.record_id, 'transfer'),
                    self._qa('transferring')]
        self.record.outcome = 'failed'
        self.record.failure_reason = f'QA after lift: {verdict}'
        if verdict in ('double_pick', 'suspect'):
            # never carry what we are not sure of: put it back where it came from and re-pick
            self.record.recovery = 'put_back_and_repick' if recovery == 'none' else recovery
            return self._recover('putback', now)
        return [SetCups(0), *self._recover('retreat', now)]  # missed or dropped: nothing to carry

    def _recover(self, segment: str, now: float) -> list[Command]:
        assert self.record is not None
        self._enter(Phase.RECOVER, now)
        # no frame counts until the retreat has parked the arm out of view (see on_segment)
        self._scene_valid_after_ns = _NO_FRAME_YET_NS
        # putback keeps the cups on until the package is back down (see on_segment)
        return [ExecuteSegment(self.record.record_id, segment)]

    def _finish(self, now: float, *, close: bool = True) -> list[Command]:
        """The arm is done with the current pick: close its record (unless ``close`` is False:
        it waits for the placement verdict in ``_placing``) and go on with the next."""
        rec = self.record
        assert rec is not None
        # a plan made ahead starts at the place pose, around the pile as it was after this lift
        at_place = self.phase == Phase.RELEASE and not self._dropped_in_transfer
        ahead, self._ahead, self._ahead_tried, self._dropped_in_transfer = self._ahead, None, False, False
        self._placing_after = ''
        cmds: list[Command] = [] if self._qa_end_sent else [self._qa('aborted')]
        # QA judges a failed lift or transfer after the cups went off: wait for that verdict
        # (unless a released package's placement verdict is pending: that one is not pushed out)
        park = close and self._await_qa and not self._qa_final_seen and self._placing is None
        self._qa_end_sent = self._qa_final_seen = self._await_qa = False
        self.record = None
        self._decision = None
        self._enter(Phase.HOLD if self._hold_requested else Phase.WAIT_SCENE, now)
        self._arm_idle_since = now
        cmds.append(SetCups(0))
        if park:
            self._placing = _Parked(rec, now + self.config.placement_timeout_s, placement=False)
        elif close:
            cmds += self._close_record(rec, now)
        if ahead is not None:
            cmds += self._take_ahead(ahead, at_place, now)
        return cmds

    def _close_record(self, rec: PickRecord, now: float) -> list[Command]:
        """Count the attempt and emit its final record."""
        if rec.outcome == 'in_progress':
            rec.outcome = 'failed'
        first = rec.attempt == 1
        if rec.outcome != 'aborted':  # aborted before any motion (a plan failure): not an attempt
            self.stats.attempts += 1
            self.stats.first_attempts += int(first)
        if rec.outcome == 'succeeded':
            self.stats.succeeded += 1
            self.stats.first_attempt_succeeded += int(first)
        if self._first_approach_at is not None:
            self.stats.cycle_s = now - self._first_approach_at
        rec.timings_ms['cycle'] = round((now - (rec.sim_time_s or now)) * 1000.0, 1)
        rec.states.append(('report', now))
        self._remember_outcome(rec)
        return [EmitRecord(rec, final=True)]

    def _hand_over(self, now: float) -> list[Command]:
        """The package is released: park its record until QA's placement verdict and move on."""
        assert self.record is not None
        cmds = self._close_placing('a newer package was released first', now) if self._placing else []
        self._placing = _Parked(self.record, self.phase_since + self.config.release_s + self.config.placement_timeout_s,
                                placement=True)
        return cmds + self._finish(now, close=False)

    def _let_go(self) -> list[Command]:
        """Cups off after a failed lift or transfer, and QA told so at this moment: it judges what the
        cups had (a transfer's package may still hang on them: ``released``; a lift's may be up,
        down or gone: ``aborted``)."""
        cmds: list[Command] = [SetCups(0)]
        if self.phase in (Phase.TRANSFER, Phase.LIFT):
            cmds.append(self._qa('released' if self.phase == Phase.TRANSFER else 'aborted'))
            self._await_qa = True
        return cmds

    def _on_placing_qa(self, event: QaEvent, now: float) -> list[Command]:
        assert self._placing is not None
        parked = self._placing
        _apply_qa(parked.record, event)
        if not event.final:
            return []
        self._placing = None
        if parked.placement:
            _placed(parked.record, event.verdict)
        return self._close_record(parked.record, now)

    def _close_placing(self, why: str, now: float) -> list[Command]:
        """Close the parked record without QA's final verdict."""
        assert self._placing is not None
        parked, self._placing = self._placing, None
        _no_placement_verdict(parked.record, why, placement=parked.placement)
        return self._close_record(parked.record, now)

    def _take_ahead(self, ahead: _PlanAhead, at_place: bool, now: float) -> list[Command]:
        """Continue with the pick planned ahead when it is still valid; otherwise close its record."""
        why = ''
        if self.phase != Phase.WAIT_SCENE:
            why = 'the cell holds'
        elif not at_place:
            why = 'the arm did not end at the place pose (or the package fell on the way)'
        elif now - ahead.decision.frame_stamp_ns * 1e-9 > self.config.max_decision_age_s:
            why = 'its frame grew stale'
        if why:
            ahead.record.outcome = 'aborted'
            ahead.record.failure_reason = f'planned ahead, not used: {why}'
            return [EmitRecord(ahead.record, final=True)]
        self.record, self._decision, self._option_index = ahead.record, ahead.decision, ahead.option_index
        self._failed_in_decision = {}
        self._place_joints = ahead.place_joints
        self.stats.plans_ahead_used += 1
        if ahead.planned:
            return self._start_approach(now)
        self._enter(Phase.PLAN, now)  # its plan is still being made: on_plan goes on from here
        return []

    def _plan_ahead(self, decision: Decision, now: float) -> list[Command]:
        """While a package is carried: plan the next pick from the place pose (once per pick)."""
        rec = self.record
        if not self.config.plan_ahead or self._ahead is not None or self._ahead_tried or rec is None:
            return []
        accepted = None
        if self._place_joints is None:
            why = 'the place pose is unknown'
        elif self._hold_requested:
            why = 'the cell is to hold'
        elif rec.failure_reason:
            why = 'the pick in flight is failing'
        elif (accepted := self._acceptable(decision, now)) is None:
            why = 'its frame shows the arm or is stale'
        else:
            why = '' if accepted.options else 'nothing to pick in its frame'
        if why or accepted is None:
            skipped = self.stats.plan_ahead_skipped
            skipped[why] = skipped.get(why, 0) + 1
            if accepted is not None and not accepted.options and accepted.reason.startswith('empty'):
                return self._feed_ahead(now)
            if accepted is not None:
                self._empty_scenes = 0  # only agreeing decisions in a row count
            return []
        self._ahead_tried = True
        self.stats.plans_ahead += 1
        injected, opt = self._inject_all_cups(accepted, 0)
        record = self._new_record(accepted, opt, now, accepted.options[0].cup_mask)
        record.plan['start'] = 'place_pose'
        self._ahead = _PlanAhead(record, injected, 0)
        return [RequestPlan(record.record_id, opt, accepted.frame_stamp_ns, start=self._place_joints),
                EmitRecord(record, final=False)]

    def _on_plan_ahead(self, ahead: _PlanAhead, ok: bool, reason: str, planning_ms: float,
                       place_joints: tuple[float, ...] | None) -> list[Command]:
        ahead.record.plan['planning_ms'] = round(planning_ms, 2)
        ahead.planned, ahead.place_joints = ok, place_joints
        if ok:
            return []
        # the normal flow plans again from where the arm is once this pick is done
        self._ahead = None
        ahead.record.outcome = 'aborted'
        ahead.record.failure_reason = f'plan failed (planned ahead from the place pose): {reason}'
        return [EmitRecord(ahead.record, final=True)]

    def _idle_arm_in_view(self, decision: Decision) -> bool:
        """Count decisions on frames taken while the arm was idle (after it settled) that offer
        nothing and show the arm: True when enough agree that it is in the way."""
        idle = self._arm_idle_since is not None \
            and decision.frame_stamp_ns * 1e-9 > self._arm_idle_since + self.config.scene_clear_delay_s
        if not (idle and decision.arm_masked and not decision.options):
            self._arm_in_view = 0
            return False
        self._arm_in_view += 1
        return self._arm_in_view >= self.config.arm_in_view_decisions_before_retreat

    def _retreat_idle_arm(self, now: float) -> list[Command]:
        """Park an idle arm that stands in the camera's view, under a record of its own (aborted: not
        an attempt); a failed retreat backs off as a clearing retreat does."""
        self._arm_in_view = 0
        self.record = PickRecord(cell_id=self.cell_id, sim_time_s=now, outcome='aborted',
                                 failure_reason='the idle arm stood in the camera\'s view over the pick area: '
                                                'it retreats to park')
        self.stats.arm_clearing_retreats += 1
        self._clearing = True
        return [SetCups(0), *self._recover('retreat', now)]

    def _start_approach(self, now: float) -> list[Command]:
        assert self.record is not None
        if self._arm_idle_since is not None:
            self._count_wait(now)
            self._arm_idle_since = None
        if self._first_approach_at is None:
            self._first_approach_at = now
        self._enter(Phase.APPROACH, now)
        return [self._qa('approach'), ExecuteSegment(self.record.record_id, 'approach')]

    def _acceptable(self, decision: Decision, now: float) -> Decision | None:
        """The decision with its unusable options removed, or None when its frame may not be
        acted on (taken while the arm was over the pile or the belt ran, or stale)."""
        stamp = decision.frame_stamp_ns
        masked_ok = decision.arm_masked and self.config.use_arm_masked_frames \
            and stamp >= max(self._masked_valid_after_ns, self._belt_still_after_ns)
        if stamp < self._scene_valid_after_ns and not masked_ok:
            return None
        if now - decision.frame_stamp_ns * 1e-9 > self.config.max_decision_age_s:
            self.stats.stale_decisions += 1
            return None  # stale: the pile may have changed since
        self.stats.last_fresh_frame_s = decision.frame_stamp_ns * 1e-9
        self.stats.decision_latency_ms.append(decision.latency_ms)
        self._plan_failed = [f for f in self._plan_failed if f[2] > now]
        usable = tuple(o for o in decision.options if self._usable(o))
        if len(usable) != len(decision.options):
            decision = replace(decision, options=usable, reason=decision.reason
                               or 'remaining packages wait for a human or failed to plan just now')
        return decision

    def time_budget(self, now: float) -> dict[str, float]:
        """Seconds spent per phase so far, the current phase included."""
        out = dict(self.stats.time_in_phase_s)
        for key, spent in self._phase_time(now):
            out[key] = out.get(key, 0.0) + spent
        return {k: round(v, 3) for k, v in sorted(out.items())}

    def _note_wait(self, now: float, reason: str) -> None:
        """Account WAIT_SCENE time since the last mark (after any belt feeding) to the reason the
        cell was waiting on, then wait on ``reason``."""
        start = max(self._wait_mark, self._feed_until, self.phase_since)
        if now > start:
            by = self.stats.wait_scene_by_reason_s
            by[self._wait_reason] = by.get(self._wait_reason, 0.0) + (now - start)
        self._wait_reason, self._wait_mark = reason, max(now, self._wait_mark)

    def _phase_time(self, now: float) -> list[tuple[str, float]]:
        """The current phase's time so far, with belt feeding split off waiting for a scene."""
        spent = max(0.0, now - self.phase_since)
        if self.phase == Phase.WAIT_SCENE and self._feed_until > self.phase_since:
            feed = min(spent, self._feed_until - self.phase_since)
            return [('feed', feed), (self.phase.value, spent - feed)]
        return [(self.phase.value, spent)]

    def _feed_ahead(self, now: float) -> list[Command]:
        """An empty pick area seen while a package is carried: bring the next packages now.

        The arm left the pick area (the frame was taken after ``scene_clear_delay_s``), so the
        belt may run; QA's vision check of the carried pick uses the first such frame, taken
        before this decision. Needs ``empty_scenes_before_feed_ahead`` agreeing decisions, since a
        glitch would carry real packages downstream. Once per carried package.
        """
        c = self.config
        self._empty_scenes += 1
        if not c.feed_ahead or self._empty_scenes < c.empty_scenes_before_feed_ahead:
            return []
        self._empty_scenes = 0
        self._ahead_tried = True  # frames until the belt settles show a moving pile
        self._plan_failed.clear()
        self.stats.belt_advances += 1
        self.stats.feeds_ahead += 1
        settled = now + c.belt_advance_s + c.belt_settle_s
        self._feed_until = settled
        self._scene_valid_after_ns = self._belt_still_after_ns = int(settled * 1e9)
        return [AdvanceBelt(c.belt_advance_s)]

    def _advance_belt(self, now: float, seconds: float) -> list[Command]:
        self._empty_scenes = 0
        self._plan_failed.clear()  # the packages have moved: the failed spots mean nothing now
        self.stats.belt_advances += 1
        settled = now + seconds + self.config.belt_settle_s  # frames before this show a moving pile
        if self._arm_idle_since is not None:
            # waiting for the belt to bring packages is feed time, not waiting for a decision
            self._count_wait(now)
            self.stats.feed_wait_s += settled - now
            self._arm_idle_since = settled
        self._enter(Phase.WAIT_SCENE, now)
        self._feed_until = settled
        self._scene_valid_after_ns = self._belt_still_after_ns = int(settled * 1e9)
        return [AdvanceBelt(seconds)]

    def _count_wait(self, now: float) -> None:
        """Add the arm's idle time since ``_arm_idle_since`` to the decision wait; only once the
        cell is cycling (before the first approach there is no cycle to wait in)."""
        assert self._arm_idle_since is not None
        if self._first_approach_at is not None:
            self.stats.arm_wait_s += max(0.0, now - self._arm_idle_since)

    def _plan_current(self, now: float) -> list[Command]:
        assert self._decision is not None
        planned = self._decision  # the planner's own choices stay in the audit
        self._decision, opt = self._inject_all_cups(planned, self._option_index)
        self.record = None  # the new record carries its own 'plan' state
        self._enter(Phase.PLAN, now)
        self.record = self._new_record(planned, opt, now, planned.options[self._option_index].cup_mask)
        self._place_joints = None
        return [RequestPlan(self.record.record_id, opt, self._decision.frame_stamp_ns),
                EmitRecord(self.record, final=False)]

    def _new_record(self, d: Decision, opt: GraspOption, now: float, planner_mask: int) -> PickRecord:
        """The record of an attempt at ``opt`` (an option of the planner's decision ``d``), in its
        'plan' state since ``now``; ``planner_mask``: the planner's cups for it, which a fault
        injection may have overridden in ``opt``."""
        package_id, attempt = self._track(opt.position)
        record = PickRecord(
            cell_id=self.cell_id,
            attempt=attempt,
            package_id=package_id,
            sim_time_s=now,
            color_stamp_ns=d.color_stamp_ns or d.frame_stamp_ns,
            depth_stamp_ns=d.depth_stamp_ns or d.frame_stamp_ns,
            model_version=d.model_version or self.model_info[1],
            model_sha256=d.model_sha256 or self.model_info[2],
            segmenter=d.segmenter if d.segmenter in ('model', 'geometric') else self.model_info[0],
            target=TargetInfo(instance_id=opt.instance_id, package_type=opt.package_type, score=opt.score,
                              type_score=opt.type_score, height_top_m=opt.height_top_m,
                              expected_mass_kg=opt.expected_mass_kg),
            candidates=[Candidate(instance_id=o.instance_id, score=o.grasp_score, cup_mask=o.cup_mask)
                        for o in d.options[:10]],
            cup_mask=opt.cup_mask,
            unhealthy_cups=list(d.unhealthy_cups),
            option_rank=opt.rank,
            suction_pose=Pose(position=opt.position, orientation=opt.orientation),
            timings_ms={'decision': round(d.latency_ms, 2)},
            scene={'instance_count': d.instance_count, 'options': len(d.options)},
        )
        if opt.payload_acceleration is not None:  # lift and transfer are slowed to it
            record.plan['payload_acceleration_mps2'] = round(opt.payload_acceleration, 3)
        if opt.cup_mask != planner_mask:  # the audit must show the attempt was a forced fault
            record.scene.update(fault_injection='all_cups', planner_cup_mask=planner_mask)
        record.states.append((Phase.PLAN.value, now))
        return record

    def _inject_all_cups(self, d: Decision, index: int) -> tuple[Decision, GraspOption]:
        """``d`` and its option ``index``; for a ``fault_all_cups_rate`` share of attempts with every
        cup the planner did not exclude as unhealthy switched on (the decision updated to match)."""
        opt = d.options[index]
        rate = self.config.fault_all_cups_rate
        if rate <= 0.0 or self._fault_rng.random() >= rate:
            return d, opt
        mask = (1 << NUM_CUPS) - 1
        for cup in d.unhealthy_cups:
            mask &= ~(1 << cup)
        forced = replace(opt, cup_mask=mask)
        options = list(d.options)
        options[index] = forced
        return replace(d, options=tuple(options)), forced

    def _track(self, position: tuple[float, float, float]) -> tuple[str, int]:
        """(package id, attempt number) for a target at ``position``.

        Instance ids change every frame, so a physical package is recognised by where it lies:
        a target within ``same_package_radius_m`` of an earlier failed attempt is the same package.
        """
        r2 = self.config.same_package_radius_m**2
        for pkg in self._packages:
            if (pkg.x - position[0]) ** 2 + (pkg.y - position[1]) ** 2 <= r2:
                return pkg.package_id, pkg.failed_attempts + 1
        self._package_counter += 1
        return f'{self.cell_id}_pkg_{self._package_counter}', 1

    def _remember_outcome(self, rec: PickRecord) -> None:
        """Count failed attempts per physical package; a success forgets it."""
        self._packages = [p for p in self._packages if p.package_id != rec.package_id]
        if rec.outcome != 'succeeded' and rec.suction_pose is not None and rec.package_id:
            x, y = rec.suction_pose.position[0], rec.suction_pose.position[1]
            self._packages.append(_TrackedPackage(rec.package_id, x, y, rec.attempt))

    def _usable(self, opt: GraspOption) -> bool:
        """False for a package a human was called for (QA's skipped packages) until acknowledged,
        and for a spot whose motion plan failed a moment ago."""
        r2 = self.config.same_package_radius_m**2
        spots = [(p.x, p.y) for p in self._packages if p.package_id in self._skipped]
        spots += [(x, y) for x, y, _ in self._plan_failed]
        return all((x - opt.position[0]) ** 2 + (y - opt.position[1]) ** 2 > r2 for x, y in spots)

    def _next_option(self, reason: str, now: float) -> list[Command]:
        """The current option cannot be executed: record why and try the next, else re-perceive.

        After ``options_per_target`` failures on one instance its remaining options are skipped
        and the spot is remembered for ``plan_failure_memory_s``, so the next frames choose
        another package instead of planning the unreachable one again."""
        assert self.record is not None and self._decision is not None
        self.record.outcome = 'aborted'
        self.record.failure_reason = reason
        rec = self.record
        self.record = None
        cmds: list[Command] = [EmitRecord(rec, final=True)]
        failed = self._option()
        self._failed_in_decision[failed.instance_id] = self._failed_in_decision.get(failed.instance_id, 0) + 1
        self._option_index += 1
        if not self._more_options_for(failed.instance_id):
            # this package is left: do not plan it again from the next frames for a while
            self._plan_failed.append((failed.position[0], failed.position[1], now + self.config.plan_failure_memory_s))
        while self._option_index < len(self._decision.options) and (
                self._failed_in_decision.get(self._option().instance_id, 0) >= self.config.options_per_target
                or not self._usable(self._option())):
            self._option_index += 1
        if self._option_index < len(self._decision.options):
            return cmds + self._plan_current(now)
        self._decision = None
        self._enter(Phase.WAIT_SCENE, now)
        return cmds

    def _more_options_for(self, instance_id: int) -> bool:
        """Whether the decision still offers ``instance_id`` after the current option."""
        assert self._decision is not None
        if self._failed_in_decision.get(instance_id, 0) >= self.config.options_per_target:
            return False
        return any(o.instance_id == instance_id for o in self._decision.options[self._option_index:])

    def _qa(self, phase: str) -> NotifyQa:
        rec = self.record
        assert rec is not None
        if phase in ('released', 'aborted'):
            self._qa_end_sent = True
        opt = self._option() if self._decision is not None else None
        # QA reads the station "at the release" from its own copy of the same topic, which can lag
        # the message this release waited for: the robot's name lets it find that robot anyway
        robot = self._docked_robot if phase == 'released' else None
        return NotifyQa(rec.record_id, phase, opt, rec.package_id, rec.attempt, robot)

    def _option(self) -> GraspOption:
        assert self._decision is not None
        return self._decision.options[self._option_index]

    def _is_current(self, pick_id: str, phase: Phase) -> bool:
        return self.phase == phase and self.record is not None and self.record.record_id == pick_id

    def _enter(self, phase: Phase, now: float) -> None:
        for key, spent in self._phase_time(now):
            self.stats.time_in_phase_s[key] = self.stats.time_in_phase_s.get(key, 0.0) + spent
        if self.phase == Phase.WAIT_SCENE:
            self._note_wait(now, 'no fresh decision')
        self.phase = phase
        self.phase_since = now
        self._wait_reason, self._wait_mark = 'no fresh decision', now
        if phase in (Phase.APPROACH, Phase.RECOVER):  # the arm goes back into the pile
            self._masked_valid_after_ns = _NO_FRAME_YET_NS
        if self.record is not None:
            self.record.states.append((phase.value, now))


#: the motion executor's pick segments, in order (robin_grasp/motion/pick_sequence.py)
_PICK_SEGMENTS = ('approach', 'descend', 'lift', 'transfer')


def _failed_segment(reason: str) -> str:
    """The pick segment a plan-failure text names (``reason (segment: detail)``, see
    :func:`robin_cell.controller_io.plan_failure_text`), '' when it names none."""
    _, sep, rest = reason.partition(' (')
    head = rest.split(':', 1)[0] if sep else ''
    return head if head in _PICK_SEGMENTS else ''
