"""Training throughput (issue 24): freqsens's training epoch vs a plain torch loop on the same model.

Both sides train a copy of the same model (same initial weights, the model's quick preset: batch size,
optimiser, learning rate, width) on the same 512 embedded images in the same order for one epoch. freqsens:
``nets.training.train_epoch`` (batches gathered by indexing tensors). The plain loop is what a user writes
first: ``DataLoader(TensorDataset(x, y), batch_size, sampler=<the same order>)``, forward, cross-entropy,
``backward``, ``step``, ``loss.item()`` for the log. The check: after one epoch each, both models'
parameter changes agree (relative L2 within ``RTOL``), then each side is timed over further epochs. Ratio = plain / freqsens.

Where else a run's time goes (validation, the learning gate's train-split loss passes, checkpoints, the test)
is written by every run into ``result.json`` (``timing``), so the share outside the step is measured on real
runs, not here.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from benchmarks.harness import Case, register

N_IMAGES = 512
# the check compares the parameter change of the first epoch on each side, relative L2. Float32 round-off is
# amplified by training: ResNet-20's float32 gradient is 0.2 % (NCHW) or 0.9 % (channels-last) from float64's,
# and after the epoch's four steps at lr 0.05 (BatchNorm) the two changes differ by 16 % (measured); MyrtleCNN's
# by 0.003 %. A different batch order or a skipped step gives differences of order 1 (wrong answers refused).
RTOL = 0.3


def _flat(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).double()


def _relative_l2(a, b) -> float:
    return float((a - b).norm() / b.norm())


def _setup(name: str, depth: int | None, small: bool):
    from nets.data import load_dataset
    from nets.models import get_model_spec
    from nets.runs import TrainConfig
    from nets.training import make_model
    spec = get_model_spec(name)
    q = dict(spec.hyperparameters("quick"))
    n = 64 if small else N_IMAGES
    data = load_dataset(f"embedded?n_train={n}&n_val=16&n_test=16")
    cfg = TrainConfig.from_dict({**q, "model": name, "depth": depth if spec.uses_depth else None,
                                 "width": (4 if small else q.get("width")) if spec.uses_width else None,
                                 "preset": "quick", "batch_size": 32 if small else q["batch_size"]})
    x = torch.from_numpy(np.ascontiguousarray(data.normalised("train")[:n]))
    y = torch.from_numpy(data.y_train[:n].astype(np.int64))
    model = make_model(cfg, data.shape, len(data.classes))
    return cfg, model, x, y


def plain_epoch(model, opt, loader) -> float:
    """The loop a user writes first: DataLoader batches, forward, cross-entropy, backward, step, logged loss."""
    model.train()
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    return total


def _train_case(name: str, depth: int | None, small: bool) -> Case:
    from nets.training import make_optimiser, train_epoch
    cfg, model, x, y = _setup(name, depth, small)
    from nets.runtime import preferred_layout
    ours, theirs = preferred_layout(copy.deepcopy(model)), model      # nets.train's model: its preferred layout
    opt_ours, opt_theirs = make_optimiser(cfg, ours)[0], make_optimiser(cfg, theirs)[0]
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed * 1_000_003))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=cfg.batch_size,
                                         sampler=order.tolist())   # epoch 0's order of train_epoch
    dev = torch.device("cpu")

    start = _flat(model)

    def candidate():
        train_epoch(cfg, ours, opt_ours, 0, x, y, dev)
        return _flat(ours) - start

    def baseline():
        plain_epoch(theirs, opt_theirs, loader)
        return _flat(theirs) - start

    what = name + (f" depth {depth}" if depth else "")
    width = f", width {cfg.width}" if cfg.width else ""
    return Case(f"one training epoch of {what} (quick preset: batch {cfg.batch_size}, {cfg.optimizer}{width}), "
                f"{len(x)} images 3x32x32", candidate, baseline, "nets.training.train_epoch",
                "plain DataLoader loop", rtol=RTOL, repeats=3, agreement=_relative_l2,
                extra={"images": len(x), "batch_size": cfg.batch_size})


TRAINED = [("convactually", d) for d in (1, 2, 3, 4, 5)] + [("myrtle", None), ("resnet20", None), ("resnet9", None)]
for _name, _depth in TRAINED:
    register(f"train-{_name}" + (f"-d{_depth}" if _depth else ""),
             f"training epoch of {_name}{f' depth {_depth}' if _depth else ''} at its quick preset: freqsens's "
             "loop vs a plain DataLoader loop (target: >= 1.5x, or the profile)", kind="training", target=1.5)(
        lambda small=False, _n=_name, _d=_depth: _train_case(_n, _d, small))
