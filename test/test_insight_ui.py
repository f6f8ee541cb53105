"""Audit UI: HTTP behaviour with FastAPI's TestClient and a real headless chromium via Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from robin_insight.audit_app import create_app
from robin_insight.pick_store import PickStore
from robin_insight.synthetic import write_session

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = '/usr/bin/chromium'


@pytest.fixture(scope='module')
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp('audit')
    records = write_session(root / 'bags', 40, seed=11)
    store = PickStore(f'sqlite:///{root / "picks.db"}')
    store.upsert(records)
    yield store, records, root / 'bags'
    store.close()


@pytest.fixture(scope='module')
def client(session):
    store, _, bags = session
    return TestClient(create_app(store, [bags]))


@pytest.mark.parametrize('query', [
    'conf_min=1.5', 'conf_min=abc', 'conf_min=0.9&conf_max=0.2', 'outcome=exploded', 'verdict=maybe',
    'page=0', 'page=-3', 'per_page=100000', 'time_from=yesterday', 'time_from=2025-02-01&time_to=2025-01-01',
    'unknown_filter=1', 'cell=a&cell=b', 'order=sideways',
])
@pytest.mark.parametrize('path', ['/', '/api/picks'])
def test_bad_query_is_400_with_message(client, path, query):
    r = client.get(f'{path}?{query}', headers={'accept': 'text/html'})
    assert r.status_code == 400, r.text
    assert 'bad query' in r.text or 'given 2 times' in r.text


@pytest.mark.parametrize(('url', 'status'), [
    ('/picks/does-not-exist', 404), ('/picks/bad%20id%21', 400), ('/picks/' + 'x' * 65, 400),
    ('/picks/does-not-exist/color.png', 404),
])
def test_bad_pick_urls(client, url, status):
    assert client.get(url).status_code == status


def test_list_filters_and_paging(client, session):
    _, records, _ = session
    failed = {r.record_id for r in records if r.outcome == 'failed'}
    data = client.get('/api/picks?outcome=failed&per_page=500').json()
    assert data['total'] == len(failed) and {r['record_id'] for r in data['rows']} == failed
    page2 = client.get('/api/picks?per_page=15&page=2').json()
    assert page2['pages'] == 3 and len(page2['rows']) == 15
    html = client.get('/?verdict=ok').text
    assert html.count('class="pick-row"') == min(50, sum(r.verdict == 'ok' for r in records))
    assert 'id="outcome-chart"' in html and 'id="latency-chart"' in html
    assert 'server-timing' in client.get('/').headers


def test_pick_page_and_images(client, session):
    _, records, bags = session
    rec = records[5]
    html = client.get(f'/picks/{rec.record_id}').text
    for part in ('img-color', 'img-depth', 'img-overlay', 'id="cup-grid"', 'class="candidate"', 'id="timings"',
                 'id="qa-signals"'):
        assert part in html, part
    assert html.count('data-on="1"') == bin(rec.cup_mask).count('1')
    cmd = re.search(r'robin-replay [^<]*', html).group(0).replace('&#39;', "'")
    assert str(bags) in cmd and '--start-offset' in cmd
    offset = float(re.search(r'--start-offset ([\d.]+)', cmd).group(1))
    assert offset == pytest.approx(5 * 7.0 - 2.0, abs=0.01)  # pick 5 is 35 s into the recording, 2 s pre-roll
    for kind in ('color', 'depth', 'overlay'):
        r = client.get(f'/picks/{rec.record_id}/{kind}.png')
        assert r.status_code == 200 and r.content[:8] == b'\x89PNG\r\n\x1a\n'


def test_token_required_when_configured(session):
    store, records, bags = session
    c = TestClient(create_app(store, [bags], token='s3cret'))
    assert c.get('/').status_code == 401
    assert c.get('/?token=wrong').status_code == 401
    assert c.get('/', headers={'Authorization': 'Bearer s3cret'}).status_code == 200
    assert c.get('/?token=s3cret').status_code == 200
    assert c.get(f'/picks/{records[0].record_id}').status_code == 200  # cookie set by the first visit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(session):
    store, _, bags = session
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(store, [bags]), host='127.0.0.1', port=port, log_level='warning'))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f'http://127.0.0.1:{port}'
    srv.should_exit = True
    thread.join(10)


def test_browser_list_filter_and_pick_page(server, session, tmp_path):
    from playwright.sync_api import sync_playwright

    _, records, _ = session
    assert shutil.which('chromium') or Path(CHROMIUM).exists(), 'chromium missing: run scripts/bootstrap.sh'
    args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--no-first-run']
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        page.goto(server + '/')
        rows = page.locator('tr.pick-row')
        total = int(page.locator('#total').inner_text())
        assert total == len(records) and rows.count() == len(records)
        # narrow: tick "failed" and apply
        page.check('input[name=outcome][value=failed]')
        page.click('#apply')
        page.wait_for_url(re.compile(r'outcome=failed'))
        n_failed = sum(r.outcome == 'failed' for r in records)
        assert 0 < n_failed < len(records)
        assert int(page.locator('#total').inner_text()) == n_failed
        assert rows.count() == n_failed
        assert set(rows.evaluate_all('rs => rs.map(r => r.dataset.outcome)')) == {'failed'}
        # open a pick: images decode, overlay and cups are drawn
        page.locator('tr.pick-row a').first.click()
        page.wait_for_selector('#img-overlay')
        for img in ('#img-color', '#img-depth', '#img-overlay'):
            page.wait_for_function(f"document.querySelector('{img}').complete")
            assert page.eval_on_selector(img, 'e => e.naturalWidth') > 0, img
        assert page.locator('#cup-grid g.cup').count() == 8
        assert page.locator('#cup-grid g.cup.on').count() >= 1
        assert page.locator('#instances tr.instance').count() == 5
        assert 'robin-replay' in page.locator('#replay').inner_text()
        # the picture in docs/ is refreshed on request only: a test run leaves the repository as it was
        shot = REPO / 'docs' / 'audit_ui.png' if os.environ.get('ROBIN_UPDATE_DOCS_SCREENSHOT') else tmp_path / 'ui.png'
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
