"""Model registry: immutable versions (file + hash + lineage + metrics) and movable aliases.

Storage (see docs/learning.md): ``<root>/registry.json`` is the single source of truth and
``<root>/<version>/`` holds each version's files (``package_seg.onnx``, optional ``weights.pt``,
``model_card.md``, ``metrics.json``). Why a JSON file and not SQLite: the registry is tiny, read
by every cell at start-up, reviewed in pull requests and shipped in the repository; a JSON diff
shows exactly what a promotion changed.

Consistency: every change holds an exclusive ``fcntl`` lock on ``registry.lock`` and rewrites
``registry.json`` atomically (temp file, fsync, rename). A new version's files are staged in a
hidden directory and renamed into place only after the model loads in onnxruntime, so a model
that fails to load leaves neither a version entry nor a directory behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ALIASES = ('production', 'canary', 'candidate')
SCHEMA = 'robin.model_registry/1'
ONNX_NAME = 'package_seg.onnx'
_VERSION_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')


class RegistryError(RuntimeError):
    """Unknown version/alias, a refused model, or a registry that is not consistent."""


class ModelRefusedError(RegistryError):
    """The model file cannot be loaded (or exported); it was not registered."""


@dataclass
class ModelVersion:
    """One registered model."""

    version: str
    sha256: str
    onnx: str  # relative to the registry root
    created: str  # ISO 8601 UTC
    parent: str | None = None
    training_data: dict[str, Any] = field(default_factory=dict)  # dataset hashes + counts
    metrics: dict[str, Any] = field(default_factory=dict)  # eval JSON (headline numbers)
    model_card: str | None = None  # relative path
    weights: str | None = None  # relative path (fine-tuning starts from these)
    notes: str = ''


def check_onnx_loads(path: Path) -> None:
    """Raise ModelRefusedError unless onnxruntime can create an InferenceSession for ``path``."""
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    import onnxruntime as ort  # noqa: PLC0415 - heavy; only when registering

    try:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        ort.InferenceSession(str(path), so, providers=['CPUExecutionProvider'])
    except Exception as exc:  # onnxruntime raises several unrelated types
        raise ModelRefusedError(f'{path}: onnxruntime cannot load it: {str(exc).splitlines()[0][:300]}') from exc


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open('rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def default_root() -> Path:
    """``$ROBIN_MODEL_REGISTRY``, else ``models/registry`` of the source tree, else of the cwd."""
    if env := os.environ.get('ROBIN_MODEL_REGISTRY'):
        return Path(env)
    here = Path(__file__).resolve().parents[1] / 'models' / 'registry'
    return here if here.is_dir() else Path.cwd() / 'models' / 'registry'


class ModelRegistry:
    """Versions and aliases under ``root`` (created on first write)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else default_root()
        self.file = self.root / 'registry.json'

    # --- storage ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Exclusive lock; yields the state, written back atomically if the block succeeds."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / 'registry.lock').open('a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read()
                yield state
                self._write(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        if not self.file.exists():
            return {'schema': SCHEMA, 'versions': {}, 'aliases': {}, 'history': {}, 'log': []}
        try:
            state = json.loads(self.file.read_text())
        except json.JSONDecodeError as exc:
            raise RegistryError(f'{self.file}: not valid JSON ({exc})') from exc
        if not isinstance(state, dict) or state.get('schema') != SCHEMA:
            found = state.get('schema') if isinstance(state, dict) else type(state).__name__
            raise RegistryError(f'{self.file}: schema {found!r}, expected {SCHEMA}')
        for key in ('versions', 'aliases', 'history'):
            if not isinstance(state.get(key), dict):
                raise RegistryError(f"{self.file}: '{key}' must be a mapping")
        if not isinstance(state.get('log'), list):
            raise RegistryError(f"{self.file}: 'log' must be a list")
        return state

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.file.with_name(f'.registry.{uuid.uuid4().hex}.tmp')
        with tmp.open('w') as f:
            json.dump(state, f, indent=2, sort_keys=True)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.file)

    @staticmethod
    def _log(state: dict[str, Any], action: str, **kw: Any) -> None:
        state['log'].append({'time': datetime.now(UTC).isoformat(timespec='seconds'), 'action': action, **kw})

    # --- queries -----------------------------------------------------------------------------------
    def versions(self) -> list[ModelVersion]:
        return [ModelVersion(**v) for v in self._read()['versions'].values()]

    def aliases(self) -> dict[str, str]:
        return dict(self._read()['aliases'])

    def get(self, ref: str) -> ModelVersion:
        """The version named ``ref`` (an alias or a version id)."""
        state = self._read()
        version = state['aliases'].get(ref, ref)
        if version not in state['versions']:
            known = ', '.join([*state['aliases'], *state['versions']]) or 'none'
            raise RegistryError(f"unknown model '{ref}' in {self.file} (known: {known})")
        try:
            return ModelVersion(**state['versions'][version])
        except TypeError as exc:
            raise RegistryError(f"{self.file}: entry of version '{version}' is malformed ({exc})") from exc

    def resolve(self, ref: str, verify: bool = True) -> Path:
        """ONNX path of an alias or version; with ``verify`` its sha256 is checked."""
        mv = self.get(ref)
        path = self.root / mv.onnx
        if not path.is_file():
            raise RegistryError(f"model '{ref}' ({mv.version}): file missing: {path}")
        if verify and sha256_of(path) != mv.sha256:
            raise RegistryError(f"model '{ref}' ({mv.version}): {path} does not match its registered sha256")
        return path

    # --- changes -----------------------------------------------------------------------------------
    def register(self, onnx_path: Path, *, version: str | None = None, parent: str | None = None,
                 training_data: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                 model_card: Path | None = None, weights: Path | None = None, alias: str | None = None,
                 notes: str = '', loader: Callable[[Path], None] = check_onnx_loads,
                 in_place: bool = False) -> ModelVersion:
        """Copy a model into the registry as a new immutable version (optionally set an alias).

        ``in_place`` references the ONNX and weights where they are (path relative to the root)
        instead of copying them: for a model shipped in the repository next to the registry, so
        git does not hold the same binary twice. The sha256 check on resolve still applies.

        Raises:
            ModelRefusedError: the file is missing or does not load; RegistryError: bad version
                name, existing version, unknown parent or alias. The registry is unchanged then.
        """
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise ModelRefusedError(f'model file not found (did the export fail?): {onnx_path}')
        with self._locked() as state:
            version = version or f"v{len(state['versions']) + 1:04d}"
            if not _VERSION_RE.match(version) or version in ALIASES:
                raise RegistryError(f"invalid version name '{version}'")
            if version in state['versions'] or (self.root / version).exists():
                raise RegistryError(f"version '{version}' already exists")
            if parent is not None:
                parent = state['aliases'].get(parent, parent)
                if parent not in state['versions']:
                    raise RegistryError(f"unknown parent model '{parent}'")
            if alias is not None and alias not in ALIASES:
                raise RegistryError(f"unknown alias '{alias}' (one of {', '.join(ALIASES)})")
            staging = self.root / f'.staging-{uuid.uuid4().hex}'
            staging.mkdir()
            try:
                model_file = onnx_path.resolve() if in_place else staging / ONNX_NAME
                if not in_place:
                    shutil.copyfile(onnx_path, model_file)
                try:
                    loader(model_file)
                except ModelRefusedError as exc:  # name the caller's file, not the staging copy
                    raise ModelRefusedError(str(exc).replace(str(model_file), str(onnx_path))) from exc
                created = datetime.now(UTC).isoformat(timespec='seconds')
                mv = ModelVersion(version=version, sha256=sha256_of(model_file),
                                  onnx=self._relative(model_file) if in_place else f'{version}/{ONNX_NAME}',
                                  created=created, parent=parent, training_data=training_data or {},
                                  metrics=metrics or {}, notes=notes)
                if weights is not None and in_place:
                    mv.weights = self._relative(Path(weights).resolve())
                elif weights is not None:
                    shutil.copyfile(weights, staging / 'weights.pt')
                    mv.weights = f'{version}/weights.pt'
                if model_card is not None:
                    shutil.copyfile(model_card, staging / 'model_card.md')
                    mv.model_card = f'{version}/model_card.md'
                if metrics:
                    (staging / 'metrics.json').write_text(json.dumps(metrics, indent=2, default=str) + '\n')
                staging.replace(self.root / version)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            state['versions'][version] = asdict(mv)
            self._log(state, 'register', version=version, parent=parent, sha256=mv.sha256)
            if alias is not None:
                self._set_alias(state, alias, version)
        return mv

    def _relative(self, path: Path) -> str:
        return os.path.relpath(path, self.root.resolve())

    def _set_alias(self, state: dict[str, Any], alias: str, version: str) -> None:
        old = state['aliases'].get(alias)
        if old == version:
            return
        if old is not None:
            state['history'].setdefault(alias, []).append(old)
        state['aliases'][alias] = version
        self._log(state, 'promote', alias=alias, version=version, previous=old)

    def promote(self, alias: str, ref: str) -> str:
        """Point ``alias`` at ``ref`` (a version or another alias); return the version."""
        if alias not in ALIASES:
            raise RegistryError(f"unknown alias '{alias}' (one of {', '.join(ALIASES)})")
        with self._locked() as state:
            version = state['aliases'].get(ref, ref)
            if version not in state['versions']:
                raise RegistryError(f"unknown model '{ref}'")
            self._set_alias(state, alias, version)
        return version

    def rollback(self, alias: str) -> str:
        """Point ``alias`` back at its previous version; return it."""
        with self._locked() as state:
            history = state['history'].get(alias) or []
            if not history:
                raise RegistryError(f"alias '{alias}' has no previous version to roll back to")
            previous = history.pop()
            current = state['aliases'].get(alias)
            state['aliases'][alias] = previous
            self._log(state, 'rollback', alias=alias, version=previous, previous=current)
        return previous

    def internalize(self, ref: str) -> ModelVersion:
        """Copy the files a version references in place (outside its directory) into it.

        For the shipped model: its version points at ``models/universal/``; before that directory
        takes a newer model, the older version gets its own copy (sha256-checked first, so a file
        that has already changed is refused, not adopted). A no-op for a version stored inside.

        Raises:
            RegistryError: unknown version, or a referenced file missing or not the registered one.
        """
        with self._locked() as state:
            version = state['aliases'].get(ref, ref)
            if version not in state['versions']:
                raise RegistryError(f"unknown model '{ref}'")
            entry = state['versions'][version]
            moves = {key: entry[key] for key in ('onnx', 'weights')
                     if entry.get(key) and not entry[key].startswith(f'{version}/')}
            if not moves:
                return ModelVersion(**entry)
            if sha256_of(self.root / entry['onnx']) != entry['sha256']:
                raise RegistryError(f"{version}: {self.root / entry['onnx']} is no longer the registered model")
            (self.root / version).mkdir(exist_ok=True)
            names = {'onnx': ONNX_NAME, 'weights': 'weights.pt'}
            for key, rel in moves.items():
                src = self.root / rel
                if not src.is_file():
                    raise RegistryError(f'{version}: missing {src}')
                tmp = self.root / version / f'.{names[key]}.{uuid.uuid4().hex}.tmp'
                shutil.copyfile(src, tmp)
                tmp.replace(self.root / version / names[key])
                entry[key] = f'{version}/{names[key]}'
            self._log(state, 'internalize', version=version, moved=sorted(moves))
            return ModelVersion(**entry)

    def verify(self) -> list[str]:
        """Problems of the stored registry (missing files, hash mismatches, dangling aliases)."""
        state = self._read()
        problems = []
        for v, entry in state['versions'].items():
            p = self.root / entry['onnx']
            if not p.is_file():
                problems.append(f'{v}: missing {p}')
            elif sha256_of(p) != entry['sha256']:
                problems.append(f'{v}: sha256 mismatch for {p}')
        problems += [f"alias '{a}' -> unknown version '{v}'" for a, v in state['aliases'].items()
                     if v not in state['versions']]
        return problems


def resolve_model(ref: str, root: Path | None = None) -> Path:
    """ONNX path of ``ref`` (alias such as ``production`` or a version id), hash-checked.

    A ref that is an existing ``.onnx`` file path is returned as is, so configs may still name a
    file directly.
    """
    p = Path(ref)
    if p.suffix == '.onnx' and p.is_file():
        return p
    return ModelRegistry(root).resolve(ref)
