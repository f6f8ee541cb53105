"""Replay timing: hand recorded messages to a publish function at their original pace.

No rclpy here: the player gets a message iterator factory and a ``publish`` callback, and uses an
injectable clock, so tests run it in virtual time and the command runs it against the graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from robin_insight.bag_source import BagMessage, SkipReport


@dataclass
class ReplayOptions:
    """How to play.

    Attributes:
        rate: playback speed factor (2.0 = twice as fast); 0 = as fast as possible.
        loop: start again at the end until stopped.
        start_offset_s: skip this much recorded time from the first message [s].
        duration_s: stop after this much recorded time [s] (None = to the end).
    """

    rate: float = 1.0
    loop: bool = False
    start_offset_s: float = 0.0
    duration_s: float | None = None


class PublishSkippedError(Exception):
    """Raised by a publish callback to skip a message with a reason (e.g. unknown type)."""


class Player:
    """Plays messages from ``messages()`` through ``publish`` with the recorded spacing."""

    def __init__(
        self,
        messages: Callable[[], Iterable[BagMessage]],
        publish: Callable[[BagMessage], None],
        options: ReplayOptions,
        report: SkipReport,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if options.rate < 0:
            raise ValueError(f'rate must be >= 0, got {options.rate}')
        self.messages, self.publish, self.options, self.report = messages, publish, options, report
        self._now, self._sleep = now, sleep
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def run(self) -> SkipReport:
        """Play once (or until stopped when looping); returns the report."""
        while not self.stopped:
            played = self._play_once()
            if not self.options.loop or not played:
                break
        return self.report

    def _play_once(self) -> int:
        opts = self.options
        first_ns: int | None = None
        origin_ns = wall0 = 0.0
        played = 0
        for msg in self.messages():
            if self.stopped:
                break
            if first_ns is None:
                first_ns = msg.stamp_ns
            rel_s = (msg.stamp_ns - first_ns) * 1e-9
            if rel_s < opts.start_offset_s:
                continue
            if opts.duration_s is not None and rel_s > opts.start_offset_s + opts.duration_s:
                break
            if played == 0:
                origin_ns, wall0 = msg.stamp_ns, self._now()
            if opts.rate > 0:
                self._wait_until(wall0 + (msg.stamp_ns - origin_ns) * 1e-9 / opts.rate)
            try:
                self.publish(msg)
            except PublishSkippedError as exc:
                self.report.skip(msg.topic, str(exc))
                continue
            played += 1
            self.report.played += 1
        return played

    def _wait_until(self, target: float) -> None:
        # sleep in short slices so stop() (Ctrl-C handler) takes effect quickly
        while not self.stopped and (left := target - self._now()) > 0:
            self._sleep(min(left, 0.1))
