"""``robin-audit``: serve the audit UI, or fill a store with synthetic picks to try it.

    robin-audit serve --db sqlite:///runs/picks.db --bags runs/bags        # http://127.0.0.1:8765
    robin-audit serve --host 0.0.0.0 --token "$ROBIN_AUDIT_TOKEN"           # a token is required off loopback
    robin-audit demo-data runs/audit_demo --picks 60                        # synthetic bag + store
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
import yaml

from robin_core.ros_env import share_dir
from robin_insight.audit_app import create_app
from robin_insight.pick_store import PickStore
from robin_insight.synthetic import write_session

LOOPBACK_NAMES = {'localhost'}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: Path | None) -> dict:
    """``config/audit.yaml`` (or ``path``): defaults that command-line options override."""
    path = path or share_dir() / 'config' / 'audit.yaml'
    if not path.is_file():
        return {}
    params = ((yaml.safe_load(path.read_text()) or {}).get('/**') or {}).get('ros__parameters') or {}
    return {'database_url': params.get('database_url'), **(params.get('audit') or {})}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='robin-audit', description='pick audit UI')
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('serve', help='serve the audit UI')
    s.add_argument('--config', type=Path, default=None)
    s.add_argument('--db', default=None, help='SQLAlchemy database URL')
    s.add_argument('--bags', nargs='*', default=None, help='recorder output folders (images, replay)')
    s.add_argument('--host', default=None)
    s.add_argument('--port', type=int, default=None)
    s.add_argument('--token', default=os.environ.get('ROBIN_AUDIT_TOKEN'), help='access token (env ROBIN_AUDIT_TOKEN)')
    d = sub.add_parser('demo-data', help='write a synthetic bag and pick store to try the UI')
    d.add_argument('folder', type=Path)
    d.add_argument('--picks', type=int, default=60)
    args = p.parse_args(argv)

    if args.cmd == 'demo-data':
        records = write_session(args.folder / 'bags', args.picks)
        store = PickStore(f'sqlite:///{args.folder / "picks.db"}')
        store.upsert(records)
        print(f'wrote {len(records)} picks: robin-audit serve --db sqlite:///{args.folder / "picks.db"} '
              f'--bags {args.folder / "bags"}')
        return 0

    cfg = load_config(args.config)
    host = args.host or cfg.get('host', '127.0.0.1')
    port = args.port or int(cfg.get('port', 8765))
    token = args.token or cfg.get('token') or None
    if not is_loopback(host) and not token:
        print(f'robin-audit: binding to {host} needs an access token (--token or ROBIN_AUDIT_TOKEN)', file=sys.stderr)
        return 2
    bags = [Path(b) for b in (args.bags if args.bags is not None else cfg.get('bag_roots', ['runs/bags']))]
    app = create_app(PickStore(args.db or cfg.get('database_url', 'sqlite:///runs/picks.db')), bags, token=token)
    uvicorn.run(app, host=host, port=port, log_level='info')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
