"""Measuring a finished run: its trained model rebuilt from the run folder (:func:`load_trained`) and its
frequency-sensitivity map (appendix C.2) measured and saved next to the checkpoints (:func:`measure_run`,
``freqsens sensitivity``)."""
from __future__ import annotations

import time

import numpy as np

from nets.runs import Run, TrainError
from nets.training import load_data, make_model


def load_trained(run_dir, device="cpu", data=None):
    """``(model, cfg, data)`` of a finished run, with the weights of its checkpoint rule (``Run.measured``).
    ``data``: the run's dataset if already loaded (else :func:`nets.training.load_data`)."""
    run = Run(run_dir)
    if not run.exists("config") or not run.exists("best"):
        raise TrainError(f"{run.path}: not a finished freqsens run (needs config.json and best.pt)")
    cfg = run.config()
    data = data if data is not None else load_data(cfg)
    model = make_model(cfg, data.shape, len(data.classes))
    model.load_state_dict(run.load_checkpoint(run.measured(cfg), device)["model"])
    return model.to(device).eval(), cfg, data


def measure_run(run_dir, split: str = "val", max_images: int | None = 5000, batch_size: int = 256,
                loss_grad: bool = False, device: str = "cpu", data=None) -> dict:
    """The frequency-sensitivity map of a finished run (appendix C.2) on its checkpoint, saved into the run
    folder (``sensitivity.npz``, ``.json``, ``.png``); returns the summary (moments, radial curve).
    ``data``: the run's dataset if the caller already has it (else it is loaded). The run folder is locked
    while the map is measured and written."""
    from infra.io import FolderLock, LockError
    run = Run(run_dir)
    try:   # one writer per run folder: a training or another measurement of this run is refused
        lock = FolderLock(run.path, tool="nets.train").acquire()
    except LockError as exc:
        raise TrainError(str(exc)) from None
    try:
        return _measure_run(run, split, max_images, batch_size, loss_grad, device, data)
    finally:
        lock.release()


def _measure_run(run: "Run", split, max_images, batch_size, loss_grad, device, data) -> dict:
    import torch

    from nets.measures import frequency_sensitivity, summarise
    from nets.plots import plot_map
    model, cfg, data = load_trained(run.path, device, data)
    x = torch.from_numpy(np.ascontiguousarray(data.normalised(split)[:max_images])).to(device)
    y = torch.from_numpy(data.split(split)[1][:max_images].astype(np.int64)).to(device)
    t0 = time.time()
    S = frequency_sensitivity(model, x, y, batch_size=batch_size, loss_grad=loss_grad, progress=True)
    summary = {**summarise(S.mean, S.n), "split": split, "loss_grad": loss_grad, "seconds": round(time.time() - t0, 3),
               "images_per_s": round(S.n / (time.time() - t0), 2)}
    run.save_map(S, summary, loss_grad)
    if not loss_grad:
        what = f"{cfg.model}" + (f" depth {cfg.depth}" if cfg.depth else "") + f", weight decay {cfg.weight_decay:g}"
        trained = run.result().get("measured_epoch", 0) if run.exists("result") else 0
        plot_map(S.mean, run.file("figure"), f"{what}{' (untrained)' if cfg.max_epochs == 0 or trained < 0 else ''}",
                 se=S.se, units="per unit of normalised input")
    return summary
