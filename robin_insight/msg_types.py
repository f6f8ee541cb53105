"""ROS message types by name: the rclpy class (to subscribe/publish) and the bag definition.

A rosbag2 connection needs the message definition text and its RIHS01 hash so that ``ros2 bag``
and Foxglove can decode it. ``rosbags``' Kilted type store knows the common interfaces; any other
type is parsed from the ``.msg`` files that every interface package installs under
``share/<pkg>/msg`` in the ament prefixes, dependencies included.
"""

from __future__ import annotations

import importlib
import os
import re
from functools import cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

_TYPE_RE = re.compile(r'^(?P<pkg>[A-Za-z_]\w*)/(?P<kind>msg|srv|action)/(?P<name>[A-Za-z_]\w*)$')


class UnknownMessageTypeError(LookupError):
    """A type name whose Python class or definition cannot be found on this machine."""


def split_type(type_name: str) -> tuple[str, str, str]:
    """``'sensor_msgs/msg/Image'`` -> ``('sensor_msgs', 'msg', 'Image')``."""
    if not (m := _TYPE_RE.match(type_name)):
        raise UnknownMessageTypeError(f"'{type_name}' is not a ROS 2 type name (pkg/msg/Name)")
    return m['pkg'], m['kind'], m['name']


def message_class(type_name: str) -> type:
    """The rclpy message class for ``type_name``.

    Raises:
        UnknownMessageTypeError: the interface package is not installed here.
    """
    pkg, kind, name = split_type(type_name)
    try:
        return getattr(importlib.import_module(f'{pkg}.{kind}'), name)
    except (ImportError, AttributeError) as exc:
        raise UnknownMessageTypeError(f"message type '{type_name}' is not installed ({exc})") from exc


def _ament_prefixes() -> list[Path]:
    return [Path(p) for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]


class BagTypes:
    """Message definitions for bag connections, loaded on demand and cached."""

    def __init__(self, typestore: Typestore | None = None) -> None:
        self.store = typestore or get_typestore(Stores.ROS2_KILTED)

    def ensure(self, type_name: str) -> None:
        """Make ``type_name`` (and what it references) known to the type store.

        Raises:
            UnknownMessageTypeError: no definition found in the store or the ament prefixes.
        """
        pending = [type_name]
        while pending:
            name = pending.pop()
            if name in self.store.fielddefs:
                continue
            text = self._find_msg_file(name)
            types = get_types_from_msg(text, name)
            self.store.register(types)
            # register() accepts unresolved references; walk them so hashing can succeed
            for _, desc in types[name][1]:
                pending.extend(_referenced(desc))

    def definition(self, type_name: str) -> tuple[str, str]:
        """``(msgdef text, rihs01 hash)`` for a rosbag2 connection of ``type_name``."""
        self.ensure(type_name)
        msgdef, _ = self.store.generate_msgdef(type_name, ros_version=2)
        return msgdef, self.store.hash_rihs01(type_name)

    @staticmethod
    def _find_msg_file(type_name: str) -> str:
        pkg, kind, name = split_type(type_name)
        for prefix in _ament_prefixes():
            path = prefix / 'share' / pkg / kind / f'{name}.msg'
            if path.is_file():
                return path.read_text()
        raise UnknownMessageTypeError(f"no definition for '{type_name}' in AMENT_PREFIX_PATH")


def _referenced(desc: tuple) -> list[str]:
    """Type names referenced by a rosbags field descriptor (nested, array or sequence)."""
    kind, rest = desc
    if kind.name == 'NAME':
        return [rest]
    if kind.name in {'ARRAY', 'SEQUENCE'}:
        return _referenced(rest[0])
    return []


@cache
def default_bag_types() -> BagTypes:
    """One shared store per process (loading the Kilted store takes ~50 ms)."""
    return BagTypes()
