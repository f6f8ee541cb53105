"""Metadata embedded in the shipped ONNX (``metadata_props``) and mirrored in ``metadata.json``.

Each field is one ``robin.<name>`` property holding JSON, so standard tools (Netron, onnx) show
it and the runtime can check a model against its configuration before using it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from robin_perception.seg_model import HEIGHT_SCALE_M, RGB_MEAN, RGB_STD

PREFIX = 'robin.'
SCHEMA = 1


class ModelMetadataError(ValueError):
    """Metadata missing, unreadable, or contradicting the configuration."""


@dataclass
class ModelMetadata:
    """What a consumer must know to run a segmentation model correctly.

    Attributes:
        version: model version string.
        class_names: package types, index = type id.
        input_name: ONNX input tensor name.
        input_hw: fixed network input (height, width) [px].
        output_names: semantic, center, offset tensor names.
        output_stride: input px per output px.
        normalization: how the input is built (documented; applied inside the graph).
        training_data_sha256: hash of the training sidecars (dataset.dataset_hash).
        training: free-form training facts (minutes, steps, frames, data roots).
        confidence: ConfidenceModel.as_dict() fitted on validation data ({} = default prior).
    """

    version: str
    class_names: tuple[str, ...]
    input_hw: tuple[int, int]
    training_data_sha256: str
    input_name: str = 'rgbh'
    output_names: tuple[str, ...] = ('semantic', 'center', 'offset')
    output_stride: int = 2
    normalization: dict[str, Any] = field(default_factory=lambda: {
        'channels': ['R', 'G', 'B', 'height_above_belt_m'], 'rgb_range': [0, 255], 'rgb_mean': list(RGB_MEAN),
        'rgb_std': list(RGB_STD), 'height_scale_m': HEIGHT_SCALE_M, 'height_clip_m': [-0.05, 0.6],
        'applied_in_graph': True,
    })
    training: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    def to_props(self) -> dict[str, str]:
        return {PREFIX + k: json.dumps(v) for k, v in asdict(self).items()}

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMetadata:
        """Parse ``robin.*`` properties; raises ModelMetadataError when missing or malformed."""
        raw = {k[len(PREFIX):]: v for k, v in props.items() if k.startswith(PREFIX)}
        if not raw:
            raise ModelMetadataError('model has no robin.* metadata (not exported by robin_perception.export_onnx?)')
        try:
            d = {k: json.loads(v) for k, v in raw.items()}
            if d.get('schema') != SCHEMA:
                raise ModelMetadataError(f"metadata schema {d.get('schema')} is not {SCHEMA}")
            known = set(cls.__dataclass_fields__)
            md = cls(**{k: v for k, v in d.items() if k in known})
        except (TypeError, json.JSONDecodeError) as exc:
            raise ModelMetadataError(f'unreadable model metadata: {exc}') from exc
        md.class_names = tuple(md.class_names)
        md.input_hw = (int(md.input_hw[0]), int(md.input_hw[1]))
        md.output_names = tuple(md.output_names)
        return md

    def problems_with(self, class_names: tuple[str, ...] | None = None,
                      input_hw: tuple[int, int] | None = None) -> list[str]:
        """Contradictions between this metadata and what the configuration expects."""
        out = []
        if class_names is not None and tuple(class_names) != self.class_names:
            out.append(f'model classes {list(self.class_names)} != configured {list(class_names)}')
        if input_hw is not None and tuple(input_hw) != self.input_hw:
            out.append(f'model input {list(self.input_hw)} != configured {list(input_hw)}')
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)
