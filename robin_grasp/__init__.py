"""Grasp planning (target selection, suction pose, cup subset) and motion for the pick cell."""
