"""python -m benchmarks.readme RUN.json [RUN.json ...]: write benchmarks/README.md from benchmark runs' JSON.

Every number in the page comes from the JSON files named (``freqsens bench --out RUN.json``); nothing is
typed in. With one file the tables show that run; with several (the same entries run again), each ratio is
also given as min / median / max over the runs that have it, and the timings are those of the run with the
median ratio. The machine block (cores, float32 GEMM at 4096, BLAS kernels, environment) is the first file's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from infra.cli import ArgumentParser, add_overwrite, require_output_file

TITLES = {"peer": "Against the peers a user would pick instead",
          "training": "Training: freqsens's epoch vs a plain DataLoader loop on the same model",
          "context": "Context: against cvxpy, nn.Conv2d and the definitions"}
NOTES = {
    "peer": "Ratio = peer time / freqsens time (above 1: freqsens faster); each entry first checks that both "
            "reach the same answer (values, or the objective for solvers) and refuses to time a wrong one.",
    "training": "One epoch of 512 embedded images at the model's quick preset on each side, from the same "
                "weights in the same order; the first epoch's parameter changes must agree within 30 % relative L2 "
                "(float32 round-off grows during training: 16 % on ResNet-20, 0.003 % on MyrtleCNN; a wrong order or "
                "step differs by order 1). Where the rest of a "
                "run's time goes (validation, the learning gate's passes, checkpoints, test) is in every run's "
                "`result.json` (`timing`).",
    "context": "Baselines that take minutes are timed once after a warm-up call; candidates are timed in repeats "
               "(median, interquartile range in the JSON).",
}


HOW = """## How freqsens gets there (no figures here: they are all in the tables above)

- **Ridge** (`theory.regression.ridge_pixels`): eq. 4.15 is invariant under the unitary DFT (Parseval), so from
  pixels it is solved on the pixels and only the K filters are transformed: the Gram in float32 (`ssyrk`, twice
  `dsyrk`'s rate), its Cholesky as the preconditioner, then float64 residual refinement until the residual stops
  halving (`to_floor=True`), which leaves it no less accurate than scikit-learn's float64 Cholesky solve.
- **LASSO of eq. A.1** (`theory/lasso_ws.py`): working sets of KKT violators, sub-Grams from one real product, the
  numba coordinate descent warm-started, a duality gap as certificate; the full Gram is never formed.
- **Sensitivity maps** (`nets.measures.frequency_sensitivity`): K backward passes of the batch with parameter
  gradients switched off, then one FFT. jacrev and batched VJPs do the same K passes batched differently, so
  parity is the expected outcome where the model's backward dominates (MyrtleCNN). Channels-last memory for
  these passes was measured ~1.1x faster on MyrtleCNN and rejected: its float32 map was 2.6e-4 (relative) from
  the float64 map, against 7e-8 in the default layout.
- **FFT layer** (`nets/models/layers.py`): one complex batched product per frequency in a frequency-major
  layout, the weight transforms shared by the batch, the backward written out (no conjugate copies).
- **Training** (`nets.training.train_epoch`): batches gathered by indexing tensors (no DataLoader collation),
  and models with `nn.Conv2d` layers in channels-last memory (`nets.runtime.preferred_layout`).

## GPU check

`freqsens gpu-check --out DIR [--budget 420]` runs every CUDA path once on the device it finds,
inside a time budget it enforces itself: the FFT layer against `nn.Conv2d` (values and gradients, float32 and
bfloat16 autocast), one training step of every registered model in float32 and bfloat16, the FFT layer against
cuDNN, the sensitivity map per image with the bfloat16 map's error against float32, and the depth experiment at
width 64. `--dry` runs every step at tiny sizes on a CPU (the test suite does). No GPU has been lent to this
project's tasks yet: every figure on this page is from the CPU machine described at the top.
"""


def load_runs(paths: list[str]) -> list[dict]:
    """The runs' JSON (each must be a ``freqsens bench`` output: ``results`` and ``machine``)."""
    runs = []
    for p in paths:
        try:
            doc = json.loads(Path(p).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"RUN {p}: not a readable JSON file ({type(exc).__name__})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) or "machine" not in doc:
            raise ValueError(f"RUN {p}: not a `freqsens bench` output (no results / machine)")
        runs.append(doc)
    return runs


def _s(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _status(ratio: float, target) -> str:
    if target is None:
        return "-"
    return f">= {target:g}x: " + ("met" if ratio >= target else "**not met**")


def entries(runs: list[dict]) -> dict[str, list[dict]]:
    """name -> that entry's result in every run that has it, in file order."""
    out: dict[str, list[dict]] = {}
    for run in runs:
        for r in run["results"]:
            out.setdefault(r["name"], []).append(r)
    return out


def table(rows: list[list[dict]], several: bool) -> list[str]:
    head = ["benchmark", "workload", "freqsens", "baseline", "time", "baseline time", "ratio"]
    head += ["min / median / max", "runs"] if several else []
    head += ["target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rs in rows:
        ratios = [r["speedup"] for r in rs]
        med = _median(ratios)
        r = min(rs, key=lambda q: abs(q["speedup"] - med))       # the run with the median ratio
        cells = [f"`{r['name']}`", r["workload"], r["candidate_name"], r["baseline_name"],
                 _s(r["candidate"]["median_s"]), _s(r["baseline"]["median_s"]), f"{r['speedup']:.2f}x"]
        if several:
            cells += [f"{min(ratios):.2f} / {med:.2f} / {max(ratios):.2f}x", str(len(rs))]
        cells += [_status(min(ratios) if several else r["speedup"], r.get("target"))]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return lines


def machine_block(run: dict) -> list[str]:
    m = run["machine"]
    g = m.get("gemm") or {}
    blas = m.get("blas") or {}
    libs = ", ".join(f"{lib.get('internal_api')}{' ' + lib['version'] if lib.get('version') else ''} ("
                     f"{lib['architecture'] + ' kernel, ' if lib.get('architecture') else ''}{lib.get('num_threads')} "
                     f"thread{'s' if lib.get('num_threads') != 1 else ''})" for lib in blas.get("libraries", []))
    rates = ", ".join(f"{k} {g[k] / 1e9:.0f} GFLOP/s" for k in ("numpy", "torch") if k in g)
    cfg = run.get("config", {})
    return [f"- **Machine**: {m.get('cpu_count')} cores, torch {m.get('torch')} ({blas.get('torch_blas')} BLAS, "
            f"{blas.get('cpu_capability')}), numpy {m.get('numpy')}, device {m.get('device')}, allocator "
            f"{m.get('allocator')}; benchmark threads {cfg.get('threads')}.",
            f"- **float32 GEMM at {g.get('n')}** (median of {g.get('samples')} products): {rates or 'not measured'}.",
            f"- **BLAS libraries**: {libs or 'unknown'}; environment: {blas.get('env') or 'no OPENBLAS_/MKL_/OMP_ variables'}.",
            f"- **Run**: {run.get('provenance', {}).get('time_utc', '?')}, git "
            f"{str(run.get('provenance', {}).get('git_revision', '?'))[:7]}, `freqsens bench` with "
            f"{len(cfg.get('names') or []) or 'all'} entries (listed in the JSON's config), repeats "
            f"{cfg.get('repeats')}{', --small' if cfg.get('small') else ''}, threads {cfg.get('threads')}."]


def extras(rows: list[list[dict]]) -> list[str]:
    out = []
    for rs in rows:
        for r in rs[:1]:
            ex = r.get("extra") or {}
            if "candidate_share_of_gemm" in ex:
                shares = [q["extra"]["candidate_share_of_gemm"] for q in rs]
                out.append(f"- `{r['name']}`: {ex['useful_flop'] / 1e9:.2f} GFLOP of useful work (the per-frequency "
                           f"channel products, forward and both backward); freqsens at "
                           f"{ex['candidate_flop_per_s'] / 1e9:.0f} GFLOP/s = **{100 * ex['candidate_share_of_gemm']:.1f} % "
                           f"of the GEMM rate** measured in the same run (min / max over runs "
                           f"{100 * min(shares):.1f} / {100 * max(shares):.1f} %; target 25 %).")
            if "bmm_s" in ex:
                total = r["candidate"]["median_s"]
                out.append(f"  - Profile (each part timed alone at the layer's sizes, same run): the three complex "
                           f"products {_s(ex['bmm_s'])} ({100 * ex['bmm_s'] / total:.0f} %), plain `torch.fft` calls of "
                           f"the layer's sizes {_s(ex['fft_s'])} ({100 * ex['fft_s'] / total:.0f} %), the rest (layout "
                           f"copies, phase, bias) {_s(ex['rest_s'])} ({100 * ex['rest_s'] / total:.0f} %) of "
                           f"{_s(total)}; the products alone run at "
                           f"{ex['useful_flop'] / ex['bmm_s'] / 1e9:.0f} GFLOP/s.")
    return out


def render(runs: list[dict], paths: list[str], context: str = "") -> str:
    by_name = entries(runs)
    several = len(runs) > 1
    lines = ["# Benchmarks", "", "Back to the [README](../README.md).", "",
             "Generated by `python -m benchmarks.readme " + " ".join(str(p) for p in paths) +
             (" --context TEXT" if context else "") +
             "` from the JSON of `freqsens bench` runs; every figure below is from those files. "
             "To redo: `freqsens bench --out run1.json` (and again for more runs), then this command.", ""]
    lines += machine_block(runs[0]) + ([f"- **Conditions**: {context}"] if context else []) + [""]
    for kind in ("peer", "training", "context"):
        rows = [rs for rs in by_name.values() if rs[0].get("kind", "context") == kind]
        if not rows:
            continue
        lines += [f"## {TITLES[kind]}", "", NOTES[kind], ""] + table(rows, several) + [""]
        ex = extras(rows)
        lines += ex + ([""] if ex else [])
    skipped = {k: v for run in runs for k, v in (run.get("skipped") or {}).items()}
    if skipped:
        lines += ["## Skipped", ""] + [f"- `{k}`: {v}" for k, v in skipped.items()] + [""]
    lines += [HOW]
    from benchmarks import harness
    harness.load_all()
    absent = [n for n in harness.REGISTRY if n not in by_name and n not in skipped]
    if absent:
        lines += ["## Registered but not in these runs", "",
                  "No figure is shown for these (run `freqsens bench NAME` to measure one): " +
                  ", ".join(f"`{n}`" for n in absent) + ".", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = ArgumentParser(prog="python -m benchmarks.readme", description=__doc__.split(":", 1)[1].strip().split("\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN", help="JSON written by freqsens bench --out")
    ap.add_argument("--out", default="benchmarks/README.md", help="page to write (default benchmarks/README.md)")
    ap.add_argument("--context", default="", help="one sentence on how the runs were taken (shown under the machine)")
    add_overwrite(ap)
    args = ap.parse_args(argv)
    try:
        runs = load_runs(args.runs)
    except ValueError as exc:
        ap.error(str(exc))
    if Path(args.out).resolve() != Path(__file__).with_name("README.md").resolve():
        require_output_file(ap, "--out", args.out, args.overwrite)
    from infra.io import atomic_write_text
    atomic_write_text(args.out, render(runs, args.runs, args.context) + "\n", follow=True)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    from infra.cli import entry
    sys.exit(entry(main, "python -m benchmarks.readme"))
