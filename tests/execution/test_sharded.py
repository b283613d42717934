"""A scan sharded by point ids gives the local scan's scorecard (timings aside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trustbench import Dataset, ScanConfig, Schema, scan
from trustbench.attacks.registry import get_attack
from trustbench.errors import InputError
from trustbench.execution import LocalExecutor
from trustbench.execution.sharded import sharded_scan
from trustbench.testing.toy import toy_blobs, toy_mlp


@pytest.fixture(scope="module")
def data() -> Dataset:
    x, y = toy_blobs(160, seed=7)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)),
                   name="blobs")


def test_a_shard_draws_what_its_points_would_draw_unsharded() -> None:
    model = toy_mlp(seed=0)
    x, y = toy_blobs(60, seed=1)
    pgd = get_attack("pgd", eps=0.1, steps=10, seed=5)  # random start: the streams matter
    whole = pgd.run(model, x, y)
    part = pgd.run(model, x[20:40], y[20:40], point_ids=torch.arange(20, 40))
    assert torch.equal(part.fooled, whole.fooled[20:40])
    assert torch.equal(part.x_adv, whole.x_adv[20:40])
    with pytest.raises(ValueError, match="point_ids"):
        pgd.run(model, x[:5], y[:5], point_ids=torch.arange(4))


@pytest.mark.parametrize("shard_size", [17, 64, 1000])
def test_sharded_equals_local(shard_size: int, data: Dataset, comparable: Any) -> None:
    config = ScanConfig(eps=[0.05, 0.1], norm="linf", attacks=["fgsm", "pgd", "standard"],
                        n=120, seed=2)
    model = toy_mlp(seed=1)
    assert comparable(sharded_scan(model, data, config, shard_size=shard_size)) == \
        comparable(scan(model, data, config))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_sharded_in_a_process_pool(data: Dataset, comparable: Any) -> None:
    """Worker processes get the model pickled: a TorchScript one travels as its bytes."""
    from trustbench.models import TorchModel

    config = ScanConfig(eps=[0.1], norm="linf", attacks=["fgsm", "pgd"], n=100, seed=0)
    model = TorchModel(torch.jit.script(toy_mlp(seed=2).module))
    pooled = sharded_scan(model, data, config, shard_size=40,
                          executor=LocalExecutor(processes=2))
    assert comparable(pooled) == comparable(scan(model, data, config))


def test_sharded_refuses_a_budget_and_a_bad_shard_size(data: Dataset) -> None:
    with pytest.raises(InputError, match="time budget"):
        sharded_scan(toy_mlp(), data, ScanConfig(budget=10.0))
    with pytest.raises(InputError, match="shard_size"):
        sharded_scan(toy_mlp(), data, ScanConfig(), shard_size=0)


def test_a_stored_run_resumes_with_only_the_missing_blocks(data: Dataset, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          comparable: Any) -> None:
    """Blocks are kept as they finish; a resumed run reads them instead of attacking."""
    import trustbench.execution.sharded as sharded

    config = ScanConfig(eps=[0.1], norm="linf", attacks=["fgsm", "pgd"], n=100, seed=4)
    model = toy_mlp(seed=3)
    first = sharded_scan(model, data, config, shard_size=30, store=tmp_path)
    kept = sorted(tmp_path.glob("*.pt"))
    assert len(kept) == 4  # 30 + 30 + 30 + 10 points
    kept[1].unlink()  # as if the driver died before that block was stored
    kept[2].write_bytes(b"damaged")  # and one was cut short: it is run again too
    ran: list[tuple[int, int]] = []
    real = sharded._attack_block
    monkeypatch.setattr(sharded, "_attack_block",
                        lambda item, shared: ran.append(item[1:3]) or real(item, shared))
    again = sharded_scan(model, data, config, shard_size=30, store=tmp_path, resume=True)
    assert sorted(ran) == [(30, 60), (60, 90)]
    assert comparable(again) == comparable(first) == comparable(scan(model, data, config))
    other = ScanConfig(eps=[0.1], norm="linf", attacks=["fgsm", "pgd"], n=100, seed=5)
    ran.clear()
    sharded_scan(model, data, other, shard_size=30, store=tmp_path, resume=True)
    assert len(ran) == 4  # another plan: nothing stored matches


def test_several_models_share_one_map_and_each_gets_its_local_scorecard(
        data: Dataset, tmp_path: Path, comparable: Any) -> None:
    """Every (model, block) is one unit; each model's scorecard is its local scan's."""
    import trustbench.execution.sharded as sharded

    config = ScanConfig(eps=[0.1], norm="linf", attacks=["fgsm", "pgd"], n=90, seed=1)
    models = [toy_mlp(seed=s) for s in (4, 5, 6)]
    seen: list[int] = []
    cards = sharded.sharded_scans(models, data, config, shard_size=40, store=tmp_path,
                                  on_scanned=lambda k, card: seen.append(k))
    assert seen == [0, 1, 2]
    assert len(list(tmp_path.glob("*.pt"))) == 3 * 3  # 40 + 40 + 10 points each
    for model, card in zip(models, cards, strict=True):
        assert comparable(card) == comparable(scan(model, data, config))
    assert not sharded._PREPARED  # the driver keeps no prepared contexts after the map
