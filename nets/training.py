"""Training (appendix C.5): SGD momentum 0.9, weight decay, reduce-on-plateau, resumable; and the building of
what a run trains: its data (:func:`load_data`, memoised per process, so a sweep worker that trains several
runs on one data variant loads and filters it once) and its model (:func:`make_model`). The run folder it
writes is owned by :mod:`nets.runs`; the command line is ``freqsens train`` (``nets.cli.train``).

* Weight decay: ``TrainConfig.weight_decay`` is torch's ``weight_decay``, which adds ``weight_decay * w`` to
  the gradient, i.e. the penalty ``(weight_decay / 2) sum |w|^2``. Eq. 4.1's ``lambda`` is therefore
  ``weight_decay / 2``: :func:`eq41_lambda` is the one place that converts.
* Learning rate x0.1 after ``patience`` epochs without validation-loss improvement (or, with ``lr_drops``,
  at those epochs); stop when it falls below ``min_lr`` or after ``max_epochs``. The reported (and later
  measured) model is ``checkpoint``: ``"best"``, the epoch with the best validation accuracy (validation
  carved from the training data), or ``"last"``, the model at the end of the schedule; the test split is
  only evaluated once, at the end, on that model.
* Every epoch appends to ``metrics.jsonl``, then writes ``last.pt`` atomically (model, optimizer, scheduler,
  epoch, config: tensors and plain Python types only, so every load uses ``weights_only=True`` and a
  crafted checkpoint cannot run code). ``--resume`` drops metric rows newer than the checkpoint and
  continues exactly (the data order of epoch e is a function of ``(seed, e)``), so a seeded CPU run is
  bit-identical whether or not it was interrupted, and no epoch's row is lost or repeated.
* A non-finite loss stops the run with a clear message; the last good checkpoint is kept.
"""
from __future__ import annotations

import sys
import time
import functools
from dataclasses import asdict

import numpy as np
import torch

from infra.io import crash_point, provenance
from nets.runs import Run, TrainConfig, TrainDiverged, TrainError
from nets.runtime import configure, preferred_layout, resolve_device

PRESETS = ("quick", "paper")   # the hyperparameter sets a ModelSpec declares (nets.models)

__all__ = ["PRESETS", "check_training_memory", "eq41_lambda", "evaluate", "load_data", "make_model", "make_optimiser",
           "preset_defaults", "train", "train_epoch", "training_bytes"]


def eq41_lambda(weight_decay: float) -> float:
    """Eq. 4.1's ``lambda`` (penalty ``lambda sum |w|^2``) for torch's ``weight_decay`` (penalty
    ``(weight_decay / 2) sum |w|^2``): ``weight_decay / 2``. The one conversion in the project."""
    return weight_decay / 2


def preset_defaults(preset: str, model: str) -> dict:
    """The training hyperparameters a model family declares for ``preset`` (``nets.models``)."""
    from nets.models import get_model_spec
    if preset not in PRESETS:
        raise TrainError(f"preset: unknown {preset!r}; expected one of {PRESETS}")
    try:
        return get_model_spec(model).hyperparameters(preset)
    except ValueError as exc:
        raise TrainError(str(exc)) from None


# ---- building a run's data and model ---------------------------------------------------------

@functools.lru_cache(maxsize=2)
def _load(dataset, data_root, seed, filter, limits):
    from nets.data import load
    return load(dataset, data_root=data_root, seed=seed, filter=filter, limits=limits)


def load_data(cfg: TrainConfig):
    """The dataset a run trains on (``nets.data.load``: name, options, the run's split sizes, filter; a
    whitening or inversion filter therefore uses tau of the run's own training images). Memoised per process
    (the two most recent variants), so the runs of one worker share one load."""
    return _load(cfg.dataset, cfg.data_root, cfg.seed, cfg.filter, (cfg.n_train, cfg.n_val, cfg.n_test))


def make_model(cfg: TrainConfig, shape, classes: int):
    """The run's model, initialised from ``cfg.seed`` (the same weights on every call)."""
    import torch

    from nets.models import build_model
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, cfg.depth, cfg.width, shape[0], classes, tuple(shape[1:]))


def training_bytes(cfg: TrainConfig, shape, classes: int, n_images: int) -> float:
    """An estimate of the memory training ``cfg`` needs, from the model built on torch's ``meta`` device (no
    memory): parameters x4 (weights, gradients, two optimiser buffers), every layer's output for one batch x3
    (saved for backward, its gradient, FFT intermediates), and the training images x2 (float32, normalised
    copy). Exact enough to refuse ``--width 100000`` in a second instead of a ``DefaultCPUAllocator`` crash."""
    import torch

    from nets.models import build_model
    with torch.device("meta"):
        model = build_model(cfg.model, cfg.depth, cfg.width, shape[0], classes, tuple(shape[1:]))
        params = sum(p.numel() for p in model.parameters())
        acts = [0]

        def count(module, inputs, output):
            acts[0] += output.numel() if torch.is_tensor(output) else 0
        for mod in model.modules():
            if not list(mod.children()):
                mod.register_forward_hook(count)
        model(torch.empty(cfg.batch_size, *shape))
    return 4.0 * (4 * params + 3 * acts[0] + 2 * n_images * int(np.prod(shape)))


def check_training_memory(cfg: TrainConfig, shape, classes: int, n_images: int) -> None:
    """:class:`TrainError` naming the sizes when :func:`training_bytes` exceeds this machine's memory."""
    from infra.resources import ResourceError, require_memory
    try:
        require_memory(training_bytes(cfg, shape, classes, n_images),
                       f"--model {cfg.model} --depth {cfg.depth} --width {cfg.width} --batch-size {cfg.batch_size}")
    except ResourceError as exc:
        raise TrainError(str(exc)) from None


# ---- training ----------------------------------------------------------------------------------

def _tensors(data, split: str, n: int | None, device):
    x = data.normalised(split)[:n]
    y = data.split(split)[1][:n]
    return torch.from_numpy(np.ascontiguousarray(x)).to(device), torch.from_numpy(y.astype(np.int64)).to(device)


def evaluate(model, x, y, batch_size: int = 500, amp: bool = False) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on tensors ``x, y`` (eval mode, no grad)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        for s in range(0, len(x), batch_size):
            out = model(x[s:s + batch_size]).float()
            loss += float(torch.nn.functional.cross_entropy(out, y[s:s + batch_size], reduction="sum"))
            correct += int((out.argmax(1) == y[s:s + batch_size]).sum())
    return loss / len(x), correct / len(x)


def train(cfg: TrainConfig, data, resume: bool = False, progress: bool = True, overwrite: bool = False) -> dict:
    """Train per ``cfg`` on ``data`` (:func:`load_data` of ``cfg``: the caller builds it, so a sweep worker shares
    one load between runs) into ``cfg.out``; returns the result dict also written to ``result.json``.
    The run folder is locked for the whole call (``infra.io.FolderLock``): a second writer gets TrainError.
    A folder holding files freqsens did not write is refused unless ``overwrite``."""
    from infra.io import FolderLock, LockError, check_writable_folder
    run = Run(cfg.out)
    finished = _check_folder(run, cfg, resume, overwrite)   # everything is validated before anything is written
    if finished is not None:
        return finished
    try:
        resolve_device(cfg.device)
    except ValueError as exc:
        raise TrainError(str(exc)) from None
    try:
        check_writable_folder(run.path)
        n = min(cfg.n_train or len(data.y_train), len(data.y_train))
        check_split_sizes(cfg, data)
        check_training_memory(cfg, data.shape, len(data.classes), n)
        lock = FolderLock(run.path, tool="nets.train", overwrite=overwrite).acquire()
    except LockError as exc:
        raise TrainError(f"--out: {exc}") from None
    try:
        # checked again under the lock: another writer may have finished a run here since the check above
        # (two trains racing into one new folder); a different config is then refused, the same one returned
        finished = _check_folder(run, cfg, resume, overwrite)
        if finished is not None:
            return finished
        return _train(run, cfg, resume, data, progress)
    finally:
        lock.release()


def check_split_sizes(cfg: TrainConfig, data) -> None:
    """Refuse, before anything is written, a dataset whose training, validation or test split (as ``cfg``
    takes them) has no image: training would run, then divide by zero at the first evaluation."""
    sizes = {split: len(data.split(split)[1][:limit]) for split, limit in
             (("train", cfg.n_train), ("val", cfg.n_val), ("test", cfg.n_test))}
    if min(sizes.values()) < 1:
        got = ", ".join(f"{k} {v}" for k, v in sizes.items())
        raise TrainError(f"--dataset {cfg.dataset}: the splits got {got} image(s); training needs at least 1 in each "
                         "(a folder: more images per class; or larger --n-train/--n-val/--n-test)")


def _check_folder(run: Run, cfg: TrainConfig, resume: bool, overwrite: bool = False) -> dict | None:
    """Refuse a folder that is not this run's (or not empty, unless ``overwrite``); a finished run's result
    when not resuming."""
    from infra.io import LockError, check_output_folder
    out = run.path
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out}: is a file, expected a folder")
    try:   # a folder of the user's (even one holding a config.json) is refused before its files are read
        check_output_folder(out, "nets.train", overwrite)
    except LockError as exc:
        raise TrainError(f"--out: {exc}") from None
    if run.exists("config"):
        saved = run.saved().get("config")
        if not isinstance(saved, dict):
            raise TrainError(f"{run.file('config')}: unreadable run config (no config)")
        mine = cfg.identity()
        if {k: saved.get(k) for k in mine} != mine:
            diff = {k: (saved.get(k), v) for k, v in mine.items() if saved.get(k) != v}
            raise TrainError(f"{out} holds a run with a different config {diff}; use another --out")
        if not resume and run.exists("result"):
            return run.result()
        if not resume:
            raise TrainError(f"{out} holds an unfinished run; pass --resume to continue it or use another --out")
    return None


def make_optimiser(cfg: TrainConfig, model):
    """The optimiser and the learning-rate schedule of appendix C.5 (or Adam, or a fixed calendar)."""
    if cfg.optimizer == "adam":
        # torch's Adam adds weight_decay * w to the gradient (not AdamW's decoupled step), so a converged run
        # minimises the same penalised loss (eq. 4.1) as SGD; it only gets there in fewer CPU minutes
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        raise TrainError(f"optimizer: expected 'sgd' or 'adam', got {cfg.optimizer!r}")
    if cfg.checkpoint not in ("best", "last"):
        raise TrainError(f"checkpoint: expected 'best' or 'last', got {cfg.checkpoint!r}")
    if cfg.lr_drops:
        # the paper's x0.1 steps on a fixed calendar: a short budget cannot wait for plateaus
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.lr_drops), gamma=0.1)
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=cfg.patience)
    return opt, sched


def _start(run: Run, cfg: TrainConfig, resume: bool, model, opt, sched, device, data, runtime, sizes) -> tuple[int, dict]:
    """A fresh run writes its config (and the initial weights as ``best.pt``); a resumed one restores model,
    optimiser and schedule from ``last.pt``. Returns ``(first epoch, best so far)``."""
    run.path.mkdir(parents=True, exist_ok=True)
    if resume and run.exists("last"):
        ck = run.load_checkpoint("last", device)
        missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "best") if k not in ck]
        if missing:
            raise TrainError(f"{run.file('last')}: not a complete freqsens checkpoint (no {', '.join(missing)}); delete "
                             "it and pass --resume again to restart this run from its first epoch")
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise TrainError(f"{run.file('last')} does not fit model {cfg.model!r} and its optimiser "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); delete it and pass "
                             "--resume again to restart this run") from None
        run.truncate_metrics(ck["epoch"])
        return ck["epoch"] + 1, ck["best"]
    # the config first: a kill before the first checkpoint leaves a folder that --resume recognises and restarts
    run.write_config(cfg, provenance=provenance(), device=str(device), runtime=runtime, n_train=sizes[0], n_val=sizes[1],
                     # [0, 1]-pixel statistics of the normalisation: sensitivity per pixel unit is the map over
                     # std_c (unfiltered data only)
                     normalisation={"mean": np.asarray(data.mean, float).tolist(),
                                    "std": np.asarray(data.std, float).tolist(), "pixel_units": cfg.filter is None})
    crash_point("config")
    # the initial weights are the "best" until an epoch beats them: max_epochs = 0 gives the untrained model
    # (the experiments' baseline for what initialisation alone does to a sensitivity map)
    run.save_checkpoint("best", {"model": model.state_dict(), "epoch": -1, "config": asdict(cfg)})
    run.reset_metrics()
    return 0, {"val_acc": -1.0, "epoch": -1}


def train_epoch(cfg: TrainConfig, model, opt, epoch: int, xtr, ytr, device, amp: bool = False, progress: bool = False,
                name: str = "") -> dict:
    """One epoch of appendix C.5's training (minibatch steps on the cross-entropy, weight decay in the optimiser:
    eq. 4.1's penalty) over ``xtr (N, C, H, W)``, ``ytr (N,)`` (tensors on ``device``) in batches of
    ``cfg.batch_size``, in the order fixed by ``(cfg.seed, epoch)``; returns the running loss and accuracy.
    Batches are gathered by indexing the tensors (no DataLoader, no per-image collation)."""
    from tqdm import tqdm
    model.train()
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)   # data order = f(seed, epoch)
    perm = torch.randperm(len(xtr), generator=g).to(device)
    tot, correct, n = 0.0, 0, 0
    bar = tqdm(range(0, len(xtr), cfg.batch_size), desc=f"epoch {epoch}", leave=False,
               disable=not (progress and sys.stderr.isatty()), file=sys.stderr)
    for s in bar:
        idx = perm[s:s + cfg.batch_size]
        xb = augment(xtr[idx], g) if cfg.augment else xtr[idx]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(xb).float()
        loss = torch.nn.functional.cross_entropy(logits, ytr[idx])
        if not torch.isfinite(loss):
            raise TrainDiverged(f"non-finite loss ({float(loss.detach())}) at epoch {epoch}; stopped. The last good "
                             f"checkpoint ({name}/last.pt, epoch {epoch - 1}) is kept; lower --lr.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tot += loss.item() * len(idx)
        correct += int((logits.argmax(1) == ytr[idx]).sum())
        n += len(idx)
    return {"train_loss": tot / n, "train_acc": correct / n, "n": n}


def augment(x, g, shift: int = 4):
    """The released code's training augmentation on a batch ``x (N, C, H, W)``: each image flipped left-right
    with probability 1/2 and translated by up to ``shift`` pixels per axis (zero padding, i.e. the mean colour
    in normalised units); the draws come from ``g``, so an epoch's batches are a function of ``(seed, epoch)``."""
    N, C, H, W = x.shape
    flip = torch.rand(N, generator=g) < 0.5
    di, dj = (torch.randint(0, 2 * shift + 1, (N,), generator=g) for _ in range(2))
    x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
    pad = torch.nn.functional.pad(x, (shift, shift, shift, shift))
    rows = (di[:, None] + torch.arange(H)).to(x.device)          # (N, H)
    cols = (dj[:, None] + torch.arange(W)).to(x.device)          # (N, W)
    n = torch.arange(N, device=x.device)[:, None, None, None]
    c = torch.arange(C, device=x.device)[None, :, None, None]
    return pad[n, c, rows[:, None, :, None], cols[:, None, None, :]].contiguous(memory_format=torch.channels_last
                                                                            if x.is_contiguous(memory_format=torch.channels_last)
                                                                            else torch.contiguous_format)


#: what a tracked epoch records of its map (``nets.measures.summarise``): the headline and its neighbours
TRACKED = ("moment1_nodc", "moment1", "moment1_released")


def track_map(model, x) -> dict:
    """The statistics :data:`TRACKED` of the frequency-sensitivity map (appendix C.2, eq. 5.1) of ``model`` on
    the fixed validation images ``x (M, C, H, W)``: measured at each of a run's last ``track_epochs`` epochs,
    so the settled-map gate can see whether the statistic the verdicts use still moves. The model is measured
    in float32 and contiguous (NCHW) memory, as the final map is, on a copy (training state untouched)."""
    import copy

    from nets.measures import frequency_sensitivity, summarise
    m = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    S = frequency_sensitivity(m, x)
    summary = summarise(S.mean, S.n)
    return {k: summary[k] for k in TRACKED}


def _train(run: Run, cfg: TrainConfig, resume: bool, data, progress: bool) -> dict:
    runtime = configure(cfg.threads)
    device = resolve_device(cfg.device)
    amp = cfg.amp and device.type == "cuda"
    xtr, ytr = _tensors(data, "train", cfg.n_train, device)
    xva, yva = _tensors(data, "val", cfg.n_val, device)
    x_track = _tensors(data, "val", cfg.track_images, device)[0] if cfg.track_epochs else None
    model = preferred_layout(make_model(cfg, data.shape, len(data.classes)).to(device))
    opt, sched = make_optimiser(cfg, model)
    start, best = _start(run, cfg, resume, model, opt, sched, device, data, runtime, (len(xtr), len(xva)))
    stop_reason, last_done = "max_epochs", start - 1
    # where this process's time goes (issue 24's profile): saved in result.json as "timing"
    spent = dict.fromkeys(("train_steps", "validation", "gate_train_loss", "checkpoints"), 0.0)
    for epoch in range(start, cfg.max_epochs):
        if opt.param_groups[0]["lr"] < cfg.min_lr * (1 - 1e-9):
            stop_reason = "min_lr"
            break
        t0 = time.time()
        fit = train_epoch(cfg, model, opt, epoch, xtr, ytr, device, amp, progress, str(run.path))
        t1 = time.time()
        val_loss, val_acc = evaluate(model, xva, yva, amp=amp)
        t2 = time.time()
        # the last two epochs also measure the training loss of the model itself (eval mode, whole training
        # split), not the running average along the epoch: what the experiments' learning gate compares
        end = {"train_loss_end": evaluate(model, xtr, ytr, amp=amp)[0]} if epoch >= cfg.max_epochs - 2 else {}
        # tracked: the last track_epochs of a fixed calendar; under reduce-on-plateau, whose last epoch is not
        # known in advance, every epoch of the final rate (the one whose next drop stops the run)
        final_rate = not cfg.lr_drops and opt.param_groups[0]["lr"] < 10 * cfg.min_lr * (1 - 1e-9)
        if cfg.track_epochs and (epoch >= cfg.max_epochs - cfg.track_epochs or final_rate):
            end["track"] = track_map(model, x_track)    # the settled-map gate's input (nets.experiments.trends)
        t3 = time.time()
        sched.step() if cfg.lr_drops else sched.step(val_loss)
        rec = {"epoch": epoch, "train_loss": fit["train_loss"], "train_acc": fit["train_acc"], "val_loss": val_loss,
               "val_acc": val_acc, "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - t0, 3),
               "images_per_s": round(fit["n"] / (time.time() - t0), 1), **end}
        spent["train_steps"] += t1 - t0
        spent["validation"] += t2 - t1
        spent["gate_train_loss"] += t3 - t2
        # the metrics row first: a crash before the checkpoint repeats this epoch, and resume drops the row
        t4 = time.time()
        run.append_metrics(rec)
        crash_point("metrics")
        if val_acc > best["val_acc"]:
            best = {"val_acc": val_acc, "epoch": epoch}
            run.save_checkpoint("best", {"model": model.state_dict(), "epoch": epoch, "config": asdict(cfg)})
            crash_point("best")
        run.save_checkpoint("last", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                     "scheduler": sched.state_dict(), "epoch": epoch, "best": best, "config": asdict(cfg)})
        crash_point("last")
        spent["checkpoints"] += time.time() - t4
        last_done = epoch
        if progress:
            print(f"[train] {run.path.name} epoch {epoch}: train {rec['train_acc']:.3f} val {val_acc:.3f} "
                  f"lr {rec['lr']:.1e} ({rec['seconds']:.1f} s)", file=sys.stderr)
    return _finish(run, cfg, model, data, device, amp, best, stop_reason, last_done, (xva, yva), spent)


def _finish(run: Run, cfg: TrainConfig, model, data, device, amp: bool, best: dict, stop_reason: str,
            last_done: int, val, spent: dict) -> dict:
    """The measured checkpoint (``cfg.checkpoint``) evaluated once on the test split; ``result.json``.
    ``timing``: seconds this process spent in training steps, validation, the gate's train-split loss passes,
    metrics rows and checkpoints, and this final test (epochs run before a resume are not counted)."""
    t0 = time.time()
    if cfg.checkpoint == "best":
        model.load_state_dict(run.load_checkpoint("best", device)["model"])
    measured = best["epoch"] if cfg.checkpoint == "best" else last_done
    xte, yte = _tensors(data, "test", cfg.n_test, device)
    test_loss, test_acc = evaluate(model, xte, yte, amp=amp)
    chance = float(torch.bincount(yte).max() / len(yte)) if len(yte) else float("nan")   # most frequent class
    val_acc = best["val_acc"] if cfg.checkpoint == "best" else evaluate(model, *val, amp=amp)[1]
    result = {"config": asdict(cfg), "best_epoch": best["epoch"], "val_acc": val_acc, "test_acc": test_acc,
              "checkpoint": cfg.checkpoint, "measured_epoch": measured,
              "chance": chance,
              "test_loss": test_loss, "stop_reason": stop_reason, "device": str(device),
              "parameters": sum(p.numel() for p in model.parameters()),
              "timing": {k: round(v, 3) for k, v in {**spent, "test": time.time() - t0}.items()}}
    run.write_result(result)
    return result
