"""Safe defaults: DDS discovery stays on this host, the audit UI stays on loopback unless a token is set."""

from __future__ import annotations

import pytest

from robin_core.ros_env import ros_environment
from robin_insight import audit_cli


def test_discovery_is_localhost_unless_the_caller_chose_otherwise() -> None:
    env = ros_environment(base={'HOME': '/tmp'})
    assert env['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    assert env['FASTDDS_DEFAULT_PROFILES_FILE'].endswith('config/fastdds_shm.xml')
    assert ros_environment(base={'HOME': '/tmp', 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'})[
        'ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'SUBNET'  # an explicit choice wins
    assert ros_environment(7, base={'HOME': '/tmp', 'ROS_DOMAIN_ID': '3'})['ROS_DOMAIN_ID'] == '7'


@pytest.fixture
def served(monkeypatch, tmp_path) -> list[dict]:
    """Capture what ``robin-audit serve`` would start instead of starting it."""
    calls: list[dict] = []
    monkeypatch.setattr(audit_cli.uvicorn, 'run', lambda app, **kw: calls.append({'app': app, **kw}))
    monkeypatch.delenv('ROBIN_AUDIT_TOKEN', raising=False)
    monkeypatch.chdir(tmp_path)
    return calls


def test_audit_ui_binds_loopback_by_default(served, tmp_path) -> None:
    assert audit_cli.main(['serve', '--db', f'sqlite:///{tmp_path}/picks.db', '--bags']) == 0
    assert served[0]['host'] == '127.0.0.1'


@pytest.mark.parametrize('host', ['0.0.0.0', '192.168.1.20', '::'])
def test_audit_ui_refuses_to_be_exposed_without_a_token(served, tmp_path, host, capsys) -> None:
    assert audit_cli.main(['serve', '--db', f'sqlite:///{tmp_path}/picks.db', '--bags', '--host', host]) == 2
    assert served == [] and 'needs an access token' in capsys.readouterr().err


def test_audit_ui_exposed_with_a_token_requires_it(served, tmp_path) -> None:
    from fastapi.testclient import TestClient

    assert audit_cli.main(['serve', '--db', f'sqlite:///{tmp_path}/picks.db', '--bags', '--host', '0.0.0.0',
                           '--token', 't0ken']) == 0
    client = TestClient(served[0]['app'])
    assert client.get('/').status_code == 401
    assert client.get('/', headers={'Authorization': 'Bearer t0ken'}).status_code == 200
