"""The results folder of ``freqsens experiments --out OUT``, the one place its layout is spelled (as
:class:`nets.runs.Run` is for a run folder)::

    OUT/experiment_config.json   the sweep's config (dataset, preset, seeds): what makes OUT a results folder
    OUT/experiments/NAME.json    each experiment's saved result (run paths relative to OUT)
    OUT/runs/MODEL-KEY/          one run folder per task (nets.runs.Run)
    OUT/tau/KEY.npy              tau of each data variant's training images, shared by its runs
    OUT/tau.npy                  the stats experiment's tau
    OUT/figures/NAME.png         the report's figures
    OUT/timing.json              wall times of the first complete ``all`` run
    OUT/report.md                the report (nets.report)
"""
from __future__ import annotations

from pathlib import Path

JSON_LIMIT = 1 << 27   # bytes: the largest saved result read back (a sweep's rows with their radial curves)


def read_json(path):
    """A saved JSON result of a results folder, read only if it is a regular file within :data:`JSON_LIMIT`
    (a FIFO planted there would hang a plain read, ``/dev/zero`` never end); OSError or ValueError otherwise."""
    import json

    from infra.io import read_regular
    return json.loads(read_regular(path, JSON_LIMIT).decode(errors="replace"))


NAMES = {"config": "experiment_config.json", "timing": "timing.json", "report": "report.md", "data_tau": "tau.npy"}


class Results:
    """A results folder. ``Results(out).experiment("depth")`` is ``OUT/experiments/depth.json``."""

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def of_run(cls, run) -> "Results":
        """The results folder that holds run folder ``run`` (``OUT/runs/NAME`` -> ``OUT``)."""
        return cls(Path(run).parent.parent)

    def file(self, name: str) -> Path:
        """``config``, ``timing``, ``report`` or ``data_tau`` (names in :data:`NAMES`)."""
        return self.path / NAMES[name]

    def is_results(self) -> bool:
        return self.file("config").is_file()

    def experiment(self, name: str) -> Path:
        return self.path / "experiments" / f"{name}.json"

    def experiments(self) -> list[Path]:
        """Every saved experiment result, sorted by name."""
        return sorted((self.path / "experiments").glob("*.json"))

    def run(self, name: str) -> Path:
        return self.path / "runs" / name

    def tau(self, key: str) -> Path:
        return self.path / "tau" / f"{key}.npy"

    def figures(self) -> Path:
        """``OUT/figures`` (created: figures are written next)."""
        (self.path / "figures").mkdir(parents=True, exist_ok=True)
        return self.path / "figures"

    def figure(self, name: str) -> Path:
        """``OUT/figures/NAME`` (the folder created)."""
        return self.figures() / name
