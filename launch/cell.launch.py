"""Launch the robin_workcell node graph described in config/cell.yaml.

    ros2 launch robin_workcell cell.launch.py [profile:=sim] [graph:=/path/to/cell.yaml]

The node list, parameter files and remappings come from the graph file, read by the same code as
``robin-cell up`` (robin_bringup.graph), so the two cannot drift apart.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from robin_bringup.graph import load_graph


def _nodes(context):
    share = Path(get_package_share_directory('robin_workcell'))
    graph_file = LaunchConfiguration('graph').perform(context) or str(share / 'config' / 'cell.yaml')
    profiles = tuple(p for p in LaunchConfiguration('profile').perform(context).split(',') if p)
    graph = load_graph(graph_file, profiles, base_dir=share)
    return [
        Node(
            package='robin_workcell',
            executable=spec.executable,
            name=spec.name,
            namespace=spec.namespace or None,
            parameters=[*map(str, spec.parameter_files), {'use_sim_time': graph.use_sim_time, **spec.parameters}],
            remappings=list(spec.remappings),
            respawn=spec.respawn,
            respawn_delay=spec.respawn_delay_s,
            # like `robin-cell up`: a required node that dies (and is not respawned) ends the launch
            on_exit=[Shutdown(reason=f'{spec.name} exited')] if spec.required and not spec.respawn else None,
            output='screen',
        )
        for spec in graph.nodes
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument('profile', default_value='sim', description='comma-separated graph profiles'),
        DeclareLaunchArgument('graph', default_value='', description='graph file (default: the installed cell.yaml)'),
        OpaqueFunction(function=_nodes),
    ])
