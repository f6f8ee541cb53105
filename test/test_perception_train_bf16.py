"""bf16 autocast only where the CPU computes it natively: emulated, it made training >10x slower."""

from __future__ import annotations

import pytest
import torch

from robin_perception import train


@pytest.mark.parametrize(('amx', 'avx512_bf16', 'fast'),
                         [(True, False, True), (False, True, True), (False, False, False)])
def test_auto_uses_bf16_only_on_cpus_that_compute_it(monkeypatch: pytest.MonkeyPatch, amx: bool, avx512_bf16: bool,
                                                     fast: bool) -> None:
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16, raising=False)
    assert train.use_bf16('auto') is fast
    assert train.use_bf16('on') and not train.use_bf16('off')


def test_a_torch_without_the_cpu_checks_trains_in_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch.cpu, '_is_amx_tile_supported', raising=False)
    monkeypatch.delattr(torch.cpu, '_is_avx512_bf16_supported', raising=False)
    assert not train.bf16_is_fast()
