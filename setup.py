"""ament_python package robin_workcell: installable with colcon (ROS 2 workspace) or pip (.venv)."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = 'robin_workcell'

# One console_scripts entry per executable (node or tool); `ros2 run robin_workcell <name>`.
NODES = {
    'sim_node': 'robin_sim.sim_node:main',
    'segmentation_node': 'robin_perception.segmentation_node:main',
    'grasp_planner_node': 'robin_grasp.grasp_planner_node:main',
    'motion_executor_node': 'robin_grasp.motion_executor_node:main',
    'cell_controller_node': 'robin_cell.cell_controller_node:main',
    'qa_node': 'robin_qa.qa_node:main',
    'recorder_node': 'robin_insight.recorder_node:main',
    'pick_store_node': 'robin_insight.store_node:main',
    'annotation_queue_node': 'robin_learning.annotation_queue_node:main',
}
TOOLS = {
    'robin-cell': 'robin_bringup.cli:main',
    'robin-replay': 'robin_insight.replay_cli:main',
    'robin-diff': 'robin_insight.diff_cli:main',
    'robin-audit': 'robin_insight.audit_cli:main',
    'robin-learn': 'robin_learning.cli:main',
}



def _files(folder: str, pattern: str) -> list[str]:
    return sorted(str(p) for p in Path(folder).glob(pattern) if p.is_file())


setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench', 'bench.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', _files('launch', '*.launch.py')),
        (f'share/{PACKAGE}/config', _files('config', '*.yaml') + _files('config', '*.xml')),
        (f'share/{PACKAGE}/urdf', _files('urdf', '*')),
        (f'share/{PACKAGE}/models/universal', _files('models/universal', '*')),
        (f'share/{PACKAGE}/models/registry', _files('models/registry', '*')),
        *[(f'share/{PACKAGE}/{d}', _files(str(d), '*')) for d in sorted(Path('models/registry').glob('*/'))
          if not d.name.startswith('.')],
    ],
    package_data={'': ['*.onnx', '*.json', '*.xml', '*.png', 'templates/*.html', 'static/*.css']},
    include_package_data=True,
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='robin_workcell developers',
    maintainer_email='robin-workcell@users.noreply.github.com',
    description='ROS 2 stack for a Robin-class robotic pick-and-place cell',
    license='Apache-2.0',
    entry_points={'console_scripts': [f'{k} = {v}' for k, v in {**NODES, **TOOLS}.items()]},
)
