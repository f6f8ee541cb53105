"""Growing a trained RobinSegNet by a context branch: it starts exactly where the trained net was,
learns from there, and only architectures the weights fit are accepted."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from robin_perception import train
from robin_perception.seg_loss import seg_loss
from robin_perception.seg_model import RobinSegNet, architecture_of


def _save(model: RobinSegNet, path: Path) -> Path:
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
    return path


def _args(init: Path | None, width: float | None = None, context: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(init=init, width=width, context_width=context, resume=False)


def _trained_v1(path: Path) -> Path:
    torch.manual_seed(0)
    v1 = RobinSegNet(4)
    with torch.no_grad():  # BN statistics away from their init, as after training
        for m in v1.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return _save(v1, path)


def test_a_grown_network_computes_what_the_trained_one_did_and_then_learns(tmp_path: Path) -> None:
    weights = _trained_v1(tmp_path / 'v1.pt')
    v1, grown = RobinSegNet(4).eval(), RobinSegNet(4, context_width=32).eval()
    train.load_weights(v1, weights)
    train.load_weights(grown, weights)
    x = torch.rand(2, 4, 96, 128) * torch.tensor([255.0, 255.0, 255.0, 0.3]).view(1, 4, 1, 1)
    with torch.no_grad():
        for a, b in zip(v1(x), grown(x), strict=True):
            torch.testing.assert_close(a, b, rtol=0.0, atol=0.0)
    # the branch is gated by its last BatchNorm, which gets a gradient from the first step
    grown.train()
    batch = {'fg': torch.zeros(2, 48, 64), 'boundary': torch.zeros(2, 48, 64), 'center': torch.zeros(2, 48, 64),
             'offset': torch.zeros(2, 2, 48, 64), 'type_id': torch.full((2, 48, 64), -1)}
    batch['fg'][:, 10:30, 10:40] = 1.0
    batch['type_id'][:, 10:30, 10:40] = 2
    loss, _ = seg_loss(*grown(x), batch)
    loss.backward()
    assert grown.context.project[1].weight.grad.abs().sum() > 0


def test_the_architecture_comes_from_the_weights_unless_grown(tmp_path: Path) -> None:
    v1 = _trained_v1(tmp_path / 'v1.pt')
    ctx = _save(RobinSegNet(4, context_width=32), tmp_path / 'ctx.pt')
    assert architecture_of(torch.load(ctx, weights_only=True)) == {'width': 1.0, 'context_width': 32}
    assert train.resolve_architecture(_args(None)) == (1.0, train.SCRATCH_CONTEXT_WIDTH)
    assert train.resolve_architecture(_args(None, 1.5, 0)) == (1.5, 0)
    assert train.resolve_architecture(_args(v1)) == (1.0, 0)  # a fine-tune keeps the shipped net's shape
    assert train.resolve_architecture(_args(v1, context=32)) == (1.0, 32)  # grown
    assert train.resolve_architecture(_args(ctx)) == (1.0, 32)
    with pytest.raises(ValueError, match='only a net without one can be grown'):
        train.resolve_architecture(_args(ctx, context=64))
    with pytest.raises(ValueError, match='does not match the --init weights'):
        train.resolve_architecture(_args(v1, width=1.5))


def test_weights_of_another_network_are_refused(tmp_path: Path) -> None:
    wide = _save(RobinSegNet(4, width=1.5), tmp_path / 'wide.pt')
    with pytest.raises(RuntimeError, match='size mismatch'):
        train.load_weights(RobinSegNet(4), wide)
    ctx = _save(RobinSegNet(4, context_width=32), tmp_path / 'ctx.pt')
    with pytest.raises(RuntimeError, match='Unexpected key'):
        train.load_weights(RobinSegNet(4), ctx)  # dropping a trained branch is not a load


def test_train_says_why_it_cannot_build_the_network(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = _save(RobinSegNet(4, context_width=32), tmp_path / 'ctx.pt')
    rc = train.main(['--data', str(tmp_path), '--ckpt-dir', str(tmp_path / 'ck'), '--init', str(ctx),
                     '--context-width', '64'])
    assert rc == 2 and 'cannot build the network' in capsys.readouterr().err
