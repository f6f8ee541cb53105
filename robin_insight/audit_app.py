"""The audit web app: pick list with filters and charts, one page per pick, images as PNG.

Server-rendered HTML (Jinja2) and inline SVG: it works offline and in any browser, and every view
is a plain URL an engineer can paste into a ticket. Bad parameters get a 400/404 with a message.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from robin_insight import audit_charts, overlay
from robin_insight.bag_frames import BagFrames
from robin_insight.pick_images import PickFrames, PickImages
from robin_insight.pick_query import OUTCOMES, VERDICTS, PickQuery
from robin_insight.pick_store import PickStore, StoredPick

HERE = Path(__file__).resolve().parent
RECORD_ID = re.compile(r'^[\w.-]{1,64}$')
LIST_KEYS = {'outcome', 'verdict'}
TOKEN_COOKIE = 'robin_audit_token'
IMAGE_KINDS = ('color', 'depth', 'overlay')


def parse_query(params: QueryParams) -> PickQuery:
    """Query string -> PickQuery; empty form fields mean 'no filter'. Raises HTTPException(400)."""
    data: dict[str, Any] = {}
    for key in params:
        if key == 'token':
            continue
        values = [v for v in params.getlist(key) if v != '']
        if key in LIST_KEYS:
            data[key] = values
        elif len(values) > 1:
            raise HTTPException(400, f"parameter '{key}' given {len(values)} times")
        elif values:
            data[key] = values[0]
    try:
        return PickQuery.model_validate(data)
    except ValidationError as exc:
        problems = '; '.join(f"{'.'.join(map(str, e['loc'])) or 'query'}: {e['msg']}" for e in exc.errors()[:5])
        raise HTTPException(400, f'bad query: {problems}') from exc


def replay_command(pick: StoredPick, bags: BagFrames | None, pre_roll_s: float = 2.0) -> str | None:
    """The exact ``robin-replay`` invocation that plays this pick's moment, if its bag is known."""
    stamp = pick.record.color_stamp_ns
    if bags is None or stamp is None or (span := bags.locate(stamp)) is None:
        return None
    offset = max(0.0, (stamp - span.start_ns) * 1e-9 - pre_roll_s)
    return f"robin-replay '{span.path}' --start-offset {offset:.2f} --duration 10 --clock"


def create_app(store: PickStore, bag_roots: list[Path] | None = None, *, token: str | None = None,
               images: PickImages | None = None) -> FastAPI:
    """Build the app over ``store``; ``bag_roots`` are recorder output folders for images/replay."""
    bags = BagFrames(bag_roots) if bag_roots else None
    images = images or PickImages(bags)
    app = FastAPI(title='robin audit', docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / 'templates'))
    templates.env.filters['fmt_time'] = lambda s: datetime.fromtimestamp(s, UTC).strftime('%Y-%m-%d %H:%M:%S')
    app.mount('/static', StaticFiles(directory=str(HERE / 'static')), name='static')

    @app.middleware('http')
    async def timing_and_token(request: Request, call_next):
        t0 = time.perf_counter()
        if token is not None:
            given = (request.query_params.get('token') or request.cookies.get(TOKEN_COOKIE)
                     or request.headers.get('authorization', '').removeprefix('Bearer '))
            if not given or not secrets.compare_digest(given, token):
                return JSONResponse({'detail': 'access token required (?token=... or Authorization: Bearer)'}, 401)
        response = await call_next(request)
        response.headers['Server-Timing'] = f'app;dur={(time.perf_counter() - t0) * 1e3:.2f}'
        if token is not None and request.query_params.get('token'):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite='strict')
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith('/api/') or 'text/html' not in request.headers.get('accept', ''):
            return JSONResponse({'detail': exc.detail}, exc.status_code)
        return templates.TemplateResponse(request, 'error.html', {'status': exc.status_code, 'detail': exc.detail},
                                          status_code=exc.status_code)

    @app.get('/healthz')
    def healthz() -> dict[str, Any]:
        return {'ok': True, 'picks': store.count()}

    @app.get('/api/picks')
    def api_picks(request: Request) -> dict[str, Any]:
        q = parse_query(request.query_params)
        page = store.query(q)
        return {'total': page.total, 'page': page.page, 'pages': page.pages, 'per_page': page.per_page,
                'rows': page.rows}

    @app.get('/', response_class=HTMLResponse)
    def pick_list(request: Request):
        q = parse_query(request.query_params)
        page = store.query(q)
        width, buckets = store.timeline(q)
        base = [(k, v) for k, v in request.query_params.multi_items() if k not in {'page', 'token'}]
        return templates.TemplateResponse(request, 'list.html', {
            'q': q, 'page': page, 'facets': store.facets(), 'outcomes': OUTCOMES, 'verdicts': VERDICTS,
            'outcome_svg': audit_charts.outcome_chart(width, buckets),
            'latency_svg': audit_charts.latency_chart(buckets),
            'base_query': base,
        })

    def load(record_id: str) -> StoredPick:
        if not RECORD_ID.match(record_id):
            raise HTTPException(400, 'record id must be 1-64 letters, digits, dot, dash or underscore')
        if (pick := store.get(record_id)) is None:
            raise HTTPException(404, f'no pick record {record_id!r}')
        return pick

    @app.get('/picks/{record_id}', response_class=HTMLResponse)
    def pick_page(request: Request, record_id: str):
        pick = load(record_id)
        rec = pick.record
        frames = images.frames(pick)
        sig = rec.qa_signals
        return templates.TemplateResponse(request, 'pick.html', {
            'pick': pick, 'rec': rec, 'row': pick.row, 'frames': frames,
            'instances': _instance_rows(frames),
            'cups_svg': audit_charts.cup_grid(rec.cup_mask, rec.unhealthy_cups, sig.cup_sealed if sig else None,
                                              sig.cup_vacuum_kpa if sig else None),
            'states_svg': audit_charts.state_timeline(rec.states),
            'replay': replay_command(pick, bags),
        })

    @app.get('/picks/{record_id}/{kind}.png')
    def pick_image(record_id: str, kind: str) -> Response:
        if kind not in IMAGE_KINDS:
            raise HTTPException(404, f"no image '{kind}' (one of {', '.join(IMAGE_KINDS)})")
        pick = load(record_id)
        frames = images.frames(pick)
        img = _render(kind, frames, pick.record.target.instance_id if pick.record.target else None)
        if img is None:
            raise HTTPException(404, f'{kind} image not available for {record_id} ({frames.source})')
        return Response(overlay.png_bytes(img), media_type='image/png', headers={'Cache-Control': 'max-age=3600'})

    return app


def _render(kind: str, frames: PickFrames, target_id: int | None):
    if kind == 'color':
        return frames.color
    if kind == 'depth':
        return None if frames.depth_m is None else overlay.depth_to_rgb(frames.depth_m)
    if frames.color is None or frames.labels is None:
        return None
    return overlay.overlay_instances(frames.color, frames.labels, frames.table, target_id=target_id)


def _instance_rows(frames: PickFrames) -> list[dict[str, Any]]:
    if frames.table is None:
        return []
    names = overlay.PACKAGE_TYPES
    return [{'id': int(r['id']), 'type': names[int(r['type_id'])] if int(r['type_id']) < len(names) else r['type_id'],
             'score': float(r['score']), 'type_score': float(r['type_score']),
             'color': '#' + bytes(overlay.PALETTE[int(r['id'])]).hex()} for r in frames.table]
