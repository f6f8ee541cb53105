"""Messages the cell controller's neighbours send, for tests that script those neighbours."""

from __future__ import annotations

import json
from typing import Any


def grasp_decision_json(stamp_ns: int, **chosen: Any) -> str:
    """A ``robin.grasp_decision/1`` with one chosen grasp (a 30x20x12 cm box at x=0.6 m); keyword
    arguments replace fields of the chosen grasp."""
    grasp = {'instance_id': 3, 'type_id': 0, 'type_name': 'box', 'instance_score': 0.97, 'type_score': 0.9,
             'height_top_m': 0.12, 'cup_mask': 15, 'cups': [1, 1, 1, 1, 0, 0, 0, 0],
             'position': [0.6, 0.1, 0.12], 'quaternion': [1.0, 0.0, 0.0, 0.0], 'yaw': 0.0, 'score': 0.8,
             'target_score': 0.8, 'pose_score': 0.9, 'pose_terms': {}, 'mass_kg': 0.8, 'mass_upper_kg': 1.2,
             'force_required_n': 20.0, 'force_available_n': 140.0, 'package_size_m': [0.3, 0.2, 0.12],
             'payload_acceleration_mps2': 6.5, **chosen}
    return json.dumps({'schema': 'robin.grasp_decision/1', 'stamp_ns': stamp_ns, 'frame_id': 'base_link',
                       'status': 'ok', 'chosen': grasp})
