"""Package segmentation: height-above-belt, geometric and learned instance segmentation, the node.

Plain modules (no rclpy) hold the algorithms; ``segmentation_node`` is the only ROS adapter.
"""
