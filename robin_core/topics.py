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

# arm and gripper
JOINT_STATES = 'joint_states'
ARM_TRAJECTORY = 'arm_controller/joint_trajectory'
ARM_STATUS = 'arm_controller/status'  # JSON: trajectory outcome
CUP_COMMAND = 'gripper/cup_command'  # std_msgs/UInt8MultiArray, 8 x {0,1}
CUP_VACUUM = 'gripper/vacuum'  # std_msgs/Float32MultiArray, 8 x kPa below ambient
CUP_SEALED = 'gripper/sealed'  # std_msgs/UInt8MultiArray, 8 x {0,1}
WRIST_WRENCH = 'gripper/wrench'  # geometry_msgs/WrenchStamped at the flange

# conveyor and place station
BELT_SPEED = 'conveyor/speed'  # std_msgs/Float64 [m/s], measured
BELT_SPEED_COMMAND = 'conveyor/speed_command'  # std_msgs/Float64 [m/s]
PLACE_STATION = 'place_station/state'  # JSON: drive robots at the station

# simulation only (the pipeline must never subscribe to these)
SIM_STATUS = 'sim/status'
SIM_GROUND_TRUTH = 'sim/ground_truth'  # JSON
SIM_GROUND_TRUTH_LABELS = 'sim/ground_truth/labels'  # mono16 instance ids
