"""The cell controller: the pick state machine, its crash-safe pick journal, and its ROS node."""
