"""freqsens throughput: training images/s per model (one SGD step = forward, backward, update).

Random 3x32x32 inputs and labels (the cost does not depend on the content), the optimiser of nets.train
(SGD, momentum 0.9, weight decay), one warm-up step, then ``--steps`` timed steps. An absolute rate, not
a ratio: it depends on the machine, which is saved with the numbers.
"""
from __future__ import annotations


def default_models() -> list[str]:
    """Every registered model (``nets.models``) at its default size, and depth 2 of those with a depth."""
    from nets.models import get_model_spec, model_names
    names = list(model_names())
    return names + [f"{n}-d2" for n in names if get_model_spec(n).uses_depth]


def parse_model(name: str) -> tuple[str, dict]:
    """``"convactually-d2"`` -> ``("convactually", {"depth": 2})``; the name must be registered."""
    from nets.models import get_model_spec
    base, _, d = name.partition("-d")
    kw = {"depth": int(d)} if d.isdigit() else {}
    if d and not d.isdigit():
        raise ValueError(f"model {name!r}: expected NAME or NAME-dDEPTH")
    get_model_spec(base)
    return base, kw


def check_memory(name: str, batch: int) -> None:
    """Refuse, before any allocation, a ``batch`` whose training step would not fit this machine's memory
    (``nets.runs.training_bytes`` on the meta device); raises ``infra.resources.ResourceError`` naming it."""
    from infra.resources import require_memory
    from nets.runs import TrainConfig
    from nets.training import training_bytes
    model_name, kw = parse_model(name)
    cfg = TrainConfig(model=model_name, depth=kw.get("depth"), batch_size=batch)
    require_memory(training_bytes(cfg, (3, 32, 32), 10, batch), f"--batch {batch} ({name})")


def images_per_second(name: str, batch: int, steps: int, device: str = "cpu") -> float:
    """Training throughput of one registered model at ``batch`` (images/s, median step time)."""
    import torch
    from nets.models import build_model
    torch.manual_seed(0)
    model_name, kw = parse_model(name)
    model = build_model(model_name, **kw).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if device != "cpu":
            torch.cuda.synchronize()

    from benchmarks.harness import median_time
    return batch / median_time(step, steps)
