"""Default topic and service names (relative, so a namespace or launch remapping moves them).

Camera names follow the RealSense driver so a real camera drops in with no remapping.
"""

# camera (sensor QoS)
COLOR_IMAGE = 'camera/color/image_raw'
COLOR_INFO = 'camera/color/camera_info'
DEPTH_IMAGE = 'camera/aligned_depth_to_color/image_raw'
DEPTH_INFO = 'camera/aligned_depth_to_color/camera_info'

# perception
INSTANCE_LABELS = 'perception/instances/labels'  # mono16, 0 = background
INSTANCE_TABLE = 'perception/instances/table'  # PointCloud2 table, one row per instance
PERCEPTION_OVERLAY = 'perception/debug/overlay'  # rgb8
PERCEPTION_MODEL_INFO = 'perception/model_info'  # String JSON, latched: which segmenter/model runs

# grasp planner (see docs/grasp.md)
GRASP_CANDIDATES = 'grasp/candidates'  # PointCloud2 table (robin_grasp.grasp_candidates), ranked, RELIABLE
GRASP_TARGET_POSE = 'grasp/target_pose'  # geometry_msgs/PoseStamped, tcp in base_link, RELIABLE
GRASP_DECISION = 'grasp/decision'  # JSON robin.grasp_decision/1, RECORDS

# arm and gripper
JOINT_STATES = 'joint_states'
ARM_TRAJECTORY = 'arm_controller/joint_trajectory'
ARM_STATUS = 'arm_controller/status'  # JSON: trajectory outcome
CUP_COMMAND = 'gripper/cup_command'  # std_msgs/UInt8MultiArray, 8 x {0,1}
CUP_VACUUM = 'gripper/vacuum'  # std_msgs/Float32MultiArray, 8 x kPa below ambient
CUP_SEALED = 'gripper/sealed'  # std_msgs/UInt8MultiArray, 8 x {0,1}
WRIST_WRENCH = 'gripper/wrench'  # geometry_msgs/WrenchStamped at the flange

# motion executor (see docs/motion.md)
MOTION_REQUEST = 'motion/request'  # JSON robin.motion.request/1, RELIABLE
MOTION_EVENT = 'motion/event'  # JSON robin.motion.event/1, RECORDS
PILE_HEIGHT_MAP = 'motion/pile_height_map'  # sensor_msgs/Image 32FC1 [m] over the pick area, optional

# conveyor and place station
BELT_SPEED = 'conveyor/speed'  # std_msgs/Float64 [m/s], measured
BELT_SPEED_COMMAND = 'conveyor/speed_command'  # std_msgs/Float64 [m/s]
PLACE_STATION = 'place_station/state'  # JSON: drive robots at the station

# simulation only (the pipeline must never subscribe to these)
SIM_STATUS = 'sim/status'
SIM_GROUND_TRUTH = 'sim/ground_truth'  # JSON
SIM_GROUND_TRUTH_LABELS = 'sim/ground_truth/labels'  # mono16 instance ids
SIM_RESET = 'sim/reset'  # std_srvs/Trigger: rebuild the scene (same seed + scenario parameters)
SIM_SPAWN_PILE = 'sim/spawn_pile'  # std_srvs/Trigger: the feeder drops `spawn_count` packages

# cell controller
CELL_STATUS = 'cell/status'  # JSON robin.cell_status/1: state, counters, arm wait; LATCHED, ~1 Hz

# records (JSON in std_msgs/String, RECORDS QoS; see robin_core.records)
PICK_RECORDS = 'cell/pick_records'  # PickRecord, one per attempt (re-sent as it progresses)
QA_EVENTS = 'qa/events'  # QaEvent

# QA (see docs/qa.md)
PICK_PHASE = 'cell/pick_phase'  # JSON robin.pick_phase/1 from the cell controller, RELIABLE
QA_ALERT = 'qa/alert'  # JSON robin.qa_alert/1, LATCHED: a human is needed
QA_UNHEALTHY_CUPS = 'qa/unhealthy_cups'  # std_msgs/UInt8MultiArray, 8 x {0,1}, LATCHED
QA_SUSPECT_CUPS = 'qa/suspect_cups'  # std_msgs/UInt8MultiArray, 8 x {0,1}, LATCHED: cups worth testing
QA_ACKNOWLEDGE = 'qa/acknowledge'  # std_srvs/Trigger: clear the alert, resume
QA_RESTORE_CUPS = 'qa/restore_cups'  # std_srvs/Trigger: all cups healthy again after repair
QA_RESTORE_CUP_PREFIX = 'qa/restore_cups/cup_'  # + index: std_srvs/Trigger for one cup

# replay (robin-replay) publishes the recorded clock here when asked to
CLOCK = '/clock'
