"""The recorder's write path: a bounded queue drained by one thread into a :class:`SplitWriter`.

Subscription callbacks only enqueue (never touch the disk), so a slow disk shows up as a drop
count in /diagnostics rather than as a stalled executor. The queue is bounded in messages *and*
bytes: 2000 camera frames would be ~2 GB, so a stalled disk must cost drops, not the machine's RAM.
``close()`` drains the queue, so nothing accepted before a clean shutdown is lost.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from robin_insight.bag_splits import SplitWriter

_STOP = object()


@dataclass
class RecorderStats:
    """Counters for diagnostics (read from other threads; ints are updated atomically)."""

    received: int = 0
    written: int = 0
    dropped: int = 0
    write_errors: int = 0
    last_error: str = ''


class BagRecorder:
    """Accepts serialized messages from any thread and writes them from its own thread."""

    def __init__(self, writer: SplitWriter, max_queue: int = 2000, max_queue_bytes: int = 256 * 2**20) -> None:
        self.writer = writer
        self.stats = RecorderStats()
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._max_bytes = max_queue_bytes
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._lock = threading.Lock()  # guards writer state read by status() (splits list)
        self._thread = threading.Thread(target=self._run, name='bag_writer', daemon=True)
        self._thread.start()
        self._closed = False

    def put(self, topic: str, type_name: str, data: bytes, stamp_ns: int) -> bool:
        """Enqueue one message; returns False (and counts a drop) when the queue is full."""
        self.stats.received += 1
        if self._closed:
            self.stats.dropped += 1
            return False
        with self._bytes_lock:
            if self._queued_bytes + len(data) > self._max_bytes:
                self.stats.dropped += 1
                return False
            self._queued_bytes += len(data)
        try:
            self._queue.put_nowait((topic, type_name, data, stamp_ns))
        except queue.Full:
            self._release(len(data))
            self.stats.dropped += 1
            return False
        return True

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    def _release(self, n: int) -> None:
        with self._bytes_lock:
            self._queued_bytes -= n

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def rotate(self) -> None:
        """Ask the writer thread to start a new split after what is queued now."""
        self._queue.put(('__rotate__', '', b'', 0))

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop accepting, write everything queued, close the open split."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)  # blocking put: the sentinel must get in behind the backlog
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            topic, type_name, data, stamp_ns = item
            self._release(len(data))
            with self._lock:
                try:
                    if topic == '__rotate__':
                        self.writer.rotate()
                    else:
                        self.writer.write(topic, type_name, data, stamp_ns)
                        self.stats.written += 1
                except Exception as exc:  # noqa: BLE001 - one bad message must not stop recording
                    self.stats.write_errors += 1
                    self.stats.last_error = f'{topic}: {exc}'
        with self._lock:
            self.writer.close()
