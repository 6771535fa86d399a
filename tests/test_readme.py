"""The "Extending" examples (docs/extending.md, linked from the README's Extending section), run as written:
each file block is loaded as the module its first line names, each registry block runs in the namespace of the
package it names, then the new dataset, model, measure and experiment are used through the ordinary entry
points. The text cannot drift from the code."""
import importlib
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "docs" / "extending.md"


def example(kind: str) -> list[tuple[str, str]]:
    """``[(first-line path, code)]`` of the python blocks between ``<!-- extend:KIND -->`` markers."""
    m = re.search(rf"<!-- extend:{kind} -->\n(.*?)<!-- /extend:{kind} -->", README.read_text(), re.S)
    assert m, f"{README}: no extend:{kind} example"
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), re.S)
    return [(b.splitlines()[0].lstrip("# ").split()[0], b) for b in blocks]


def install(kind: str, added: list) -> None:
    """Load the example's file as its module and run its registry lines in its package."""
    (path, src), (init, reg) = example(kind)
    name = path.removesuffix(".py").replace("/", ".")
    parent, _, leaf = name.rpartition(".")
    mod = types.ModuleType(name)
    mod.__file__ = str(README)
    exec(compile(src, f"README:{path}", "exec"), mod.__dict__)
    sys.modules[name] = mod
    setattr(importlib.import_module(parent), leaf, mod)
    added.append((parent, leaf, name))
    assert init == path.rsplit("/", 1)[0] + "/__init__.py", init
    exec(compile(reg, f"README:{init}", "exec"), dict(vars(importlib.import_module(parent))))


@pytest.fixture
def extended(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQSENS_CACHE", str(tmp_path / "cache"))
    added = []
    try:
        for kind in ("dataset", "model", "measure", "experiment"):
            install(kind, added)
        yield
    finally:
        from nets.data import unregister_dataset
        from nets.experiments import unregister_experiment
        from nets.measures import unregister_measure
        from nets.models import unregister_model
        for fn, name in ((unregister_dataset, "stripes"), (unregister_model, "tiny_mlp"),
                         (unregister_measure, "logit_sum_gradient"), (unregister_experiment, "width")):
            try:
                fn(name)
            except (KeyError, ValueError):
                pass
        for parent, leaf, name in added:
            sys.modules.pop(name, None)
            if hasattr(sys.modules.get(parent), leaf):
                delattr(sys.modules[parent], leaf)


def test_extending_examples_run_as_written(extended, tmp_path):
    from nets.data import load_dataset
    from nets.experiments import Context, TaskPool
    from nets.experiments.driver import run_experiment
    from nets.measures import measure
    from nets.models import build_model
    from nets.report import build_report
    from theory.dft import dft2
    data = load_dataset("stripes?n_train=300")
    assert data.x_train.shape == (300, 3, 32, 32) and data.classes == ["slow", "fast"]
    model = build_model("tiny_mlp", width=8, classes=2).double()
    x = torch.from_numpy(data.normalised("test")[:5]).double()
    S = measure("logit_sum_gradient", model, x)
    # independent: one image at a time, the gradient's unitary DFT by the dense definition
    ref = np.mean([np.abs(dft2(torch.autograd.functional.jacobian(lambda v: model(v[None]).sum(), xi).numpy()))
                   for xi in x], axis=0)
    assert S.mean.shape == (3, 32, 32) and np.allclose(S.mean, ref, rtol=1e-10, atol=1e-14)
    ctx = Context("stripes?n_train=300", "tiny", 1, tmp_path / "out")
    res = run_experiment("width", ctx, TaskPool())
    assert not res["failed"] and res["trend"]["convactually"]["moment1"]["verdict"] in (
        "supported", "not supported", "inconclusive")
    assert "## Width" in build_report(ctx.out).read_text()


def test_readme_points_to_the_tested_examples():
    readme = (ROOT / "README.md").read_text()
    assert "## Extending" in readme and "docs/extending.md" in readme and "tests/test_readme.py" in readme


def _documented_commands():
    """Every ``freqsens COMMAND ...`` written as code in the README and docs (inline or in a fenced block)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    found = set()
    for md in [root / "README.md", root / "benchmarks" / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = md.read_text()
        spans = re.findall(r"`([^`\n]+)`", text) + [ln for block in re.findall(r"```bash\n(.*?)```", text, re.S)
                                                     for ln in block.splitlines()]
        for span in spans:
            m = re.match(r"\s*(?:freqsens|\./run\.sh) ([a-z][a-z-]*)(.*)", span)
            if m:
                found.add((md.name, m.group(1), tuple(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", m.group(2)))))
    return sorted(found)


def test_every_documented_command_and_flag_exists(capsys):
    """Each ``freqsens COMMAND --flag`` written in the README and docs names a command of the front door (or a
    run.sh verb) and only flags that command's --help lists (a renamed command or flag fails here)."""
    import importlib

    from infra.commands import COMMANDS
    verbs = {"main", "test", "setup", "python", "help"}   # run.sh's own verbs
    helps, problems = {}, []
    for doc, cmd, flags in _documented_commands():
        if cmd in verbs:
            continue
        if cmd not in COMMANDS:
            problems.append(f"{doc}: unknown command {cmd!r}")
            continue
        if cmd not in helps:
            with pytest.raises(SystemExit):
                importlib.import_module(COMMANDS[cmd][0]).main(["--help"])
            helps[cmd] = capsys.readouterr().out
        problems += [f"{doc}: freqsens {cmd} has no {f}" for f in flags if f not in helps[cmd]]
    assert len(_documented_commands()) > 15 and not problems, problems
