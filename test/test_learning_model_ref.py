"""The cell's model comes from the registry: shipped registry, seeding, reference resolution."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from robin_core.fleet_env import CELL_ID_ENV, MODEL_REF_ENV, env_override
from robin_learning.registry import ModelRegistry, RegistryError, sha256_of
from robin_learning.registry_seed import seed_shipped_model
from robin_learning.rollout_demo import stand_in_onnx
from robin_perception.model_source import choose_model, registry_root

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / 'models' / 'universal'


def _no_check(_: Path) -> None:
    """Registry loader stand-in: these tests are about references, not onnxruntime."""


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    reg = ModelRegistry(tmp_path / 'registry')
    reg.register(stand_in_onnx(tmp_path / 'a.onnx', 1.0), version='v-a', alias='production', loader=_no_check)
    reg.register(stand_in_onnx(tmp_path / 'b.onnx', 2.0), version='v-b', parent='production', alias='canary',
                 loader=_no_check)
    return reg


def test_shipped_registry_holds_the_universal_model_on_production() -> None:
    reg = ModelRegistry(REPO / 'models' / 'registry')
    assert reg.verify() == []
    meta = json.loads((SHIPPED / 'metadata.json').read_text())
    mv = reg.get('production')
    path = reg.resolve('production')
    assert path.resolve() == (SHIPPED / 'package_seg.onnx').resolve()
    assert mv.sha256 == meta['onnx_sha256'] == sha256_of(path)
    # the shipped model's lineage: every ancestor resolves to its own, unchanged files
    ancestor = mv
    while ancestor.parent is not None:
        ancestor = reg.get(ancestor.parent)
        own = reg.resolve(ancestor.version)
        assert own.resolve() != path.resolve() and sha256_of(own) == ancestor.sha256
    assert mv.training_data['sha256'] == meta['training_data_sha256']
    latest = json.loads((REPO / 'eval' / 'results' / 'latest.json').read_text())
    assert mv.metrics['model_sha256'] == mv.sha256 and mv.metrics['recall_pickable'] == latest['recall_pickable']
    assert mv.model_card and (reg.root / mv.model_card).read_text() == (REPO / 'docs' / 'model_card.md').read_text()
    assert mv.weights and (reg.root / mv.weights).resolve() == (SHIPPED / 'weights.pt').resolve()


def test_seed_copies_or_references_and_refuses_contradicting_metadata(tmp_path: Path) -> None:
    model_dir = tmp_path / 'universal'
    model_dir.mkdir()
    for name in ('package_seg.onnx', 'metadata.json'):
        shutil.copyfile(SHIPPED / name, model_dir / name)
    copied = ModelRegistry(tmp_path / 'copied')
    mv = seed_shipped_model(copied, model_dir, None, None, in_place=False)
    assert mv.onnx == f'{mv.version}/package_seg.onnx' and (copied.root / mv.onnx).is_file()
    assert copied.aliases() == {'production': mv.version} and mv.weights is None
    referenced = ModelRegistry(tmp_path / 'referenced')
    mv2 = seed_shipped_model(referenced, model_dir, None, None, in_place=True)
    assert mv2.onnx == '../universal/package_seg.onnx'
    assert not (referenced.root / mv2.version / 'package_seg.onnx').exists()
    assert referenced.resolve('production').resolve() == (model_dir / 'package_seg.onnx').resolve()

    meta = json.loads((model_dir / 'metadata.json').read_text())
    meta['onnx_sha256'] = '0' * 64
    (model_dir / 'metadata.json').write_text(json.dumps(meta))
    fresh = ModelRegistry(tmp_path / 'fresh')
    with pytest.raises(RegistryError, match='differs from metadata'):
        seed_shipped_model(fresh, model_dir, None, None, in_place=True)
    assert not fresh.file.exists() or fresh.versions() == []


def test_env_override_wins_unless_blank() -> None:
    assert env_override('cell_id', 'cell_0', CELL_ID_ENV, {CELL_ID_ENV: 'cell_7'}).value == 'cell_7'
    s = env_override('cell_id', 'cell_0', CELL_ID_ENV, {CELL_ID_ENV: '  '})
    assert (s.value, s.source) == ('cell_0', 'parameter cell_id')


def test_model_ref_resolves_alias_version_and_env_override(registry: ModelRegistry, tmp_path: Path) -> None:
    default = tmp_path / 'default.onnx'
    prod = choose_model('production', '', default, registry.root, environ={})
    assert prod.ok and prod.version == 'v-a' and prod.path == registry.resolve('v-a')
    assert choose_model('v-b', '', default, registry.root, environ={}).version == 'v-b'
    env = choose_model('production', '', default, registry.root, environ={MODEL_REF_ENV: 'canary'})
    assert env.version == 'v-b' and env.source == MODEL_REF_ENV
    # an explicit file bypasses model_ref, but not the fleet runner's environment
    explicit = choose_model('production', str(default), default, registry.root, environ={})
    assert explicit.path == default and explicit.version is None
    assert choose_model('production', str(default), default, registry.root,
                        environ={MODEL_REF_ENV: 'canary'}).version == 'v-b'
    assert choose_model('', '', default, registry.root, environ={}).path == default


def test_bad_references_give_an_error_instead_of_a_model(registry: ModelRegistry, tmp_path: Path) -> None:
    default = tmp_path / 'default.onnx'
    unknown = choose_model('candidate', '', default, registry.root, environ={})
    assert not unknown.ok and "unknown model 'candidate'" in unknown.error and 'production' in unknown.error
    missing_file = choose_model('x', '', default, registry.root, environ={MODEL_REF_ENV: str(tmp_path / 'no.onnx')})
    assert not missing_file.ok and 'file not found' in missing_file.error

    (registry.root / 'v-b' / 'package_seg.onnx').write_bytes(b'tampered')
    tampered = choose_model('canary', '', default, registry.root, environ={})
    assert not tampered.ok and 'sha256' in tampered.error
    assert choose_model('production', '', default, registry.root, environ={}).ok  # the other version still loads

    text = registry.file.read_text()
    registry.file.write_text(text[: len(text) // 2])
    corrupt = choose_model('production', '', default, registry.root, environ={})
    assert not corrupt.ok and 'not valid JSON' in corrupt.error
    registry.file.write_text(json.dumps({'schema': 'robin.model_registry/1', 'versions': [], 'aliases': {}}))
    assert "'versions' must be a mapping" in choose_model('production', '', default, registry.root, environ={}).error
    nowhere = choose_model('production', '', default, tmp_path / 'no_registry', environ={})
    assert not nowhere.ok and 'unknown model' in nowhere.error


def test_registry_root_precedence(tmp_path: Path) -> None:
    assert registry_root('/x', tmp_path, {'ROBIN_MODEL_REGISTRY': '/y'}) == Path('/x')
    assert registry_root('', tmp_path, {'ROBIN_MODEL_REGISTRY': '/y'}) == Path('/y')
    assert registry_root('', tmp_path, {}) == tmp_path / 'models' / 'registry'
