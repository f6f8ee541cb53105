"""Looking through the robot's eyes: recorder, bag replay, pick store and the audit UI.

Plain modules hold the logic (bag splitting, salvage reading, replay timing, the store, the
web app); ``*_node.py`` files and the ``robin-replay`` / ``robin-audit`` commands are thin adapters.
"""
