"""Pick-outcome QA: detectors (double pick, drop, misplace, missed), combiner, recovery policy, cup health.

Plain modules (no rclpy) hold the algorithms; :mod:`robin_qa.qa_node` is the thin ROS adapter.
"""
