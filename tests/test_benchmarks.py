"""benchmarks harness: entries agree with their baselines, results are written; no timing is asserted."""
import json
import subprocess
import sys

import pytest

from benchmarks import harness


def test_registered_entries_compute_the_same_thing():
    """Every registered candidate agrees with its baseline (the harness refuses to time otherwise)."""
    harness.load_all()
    assert {"schatten-batched", "conv-fft", "lasso-clarabel", "nuclear-scs"} <= set(harness.REGISTRY)
    for name, build in harness.REGISTRY.items():
        case = build(small=True)
        assert (case.agreement or harness._max_rel_diff)(case.candidate(), case.baseline()) <= case.rtol, name


def test_disagreeing_candidate_is_refused(monkeypatch):
    """A candidate that returns a wrong answer is never timed."""
    monkeypatch.setitem(harness.REGISTRY, "_wrong", lambda small=False: harness.Case("x", lambda: 1.0, lambda: 2.0, "a", "b"))
    with pytest.raises(RuntimeError, match="disagree"):
        harness.run_one("_wrong")


def test_slow_baseline_runs_once(monkeypatch):
    """slow_baseline: the candidate is warmed up and timed in repeats, the baseline warmed up once and timed once."""
    calls = {"c": 0, "b": 0}

    def side(k):
        def f():
            calls[k] += 1
            return 1.0
        return f
    monkeypatch.setitem(harness.REGISTRY, "_slow", lambda small=False: harness.Case(
        "x", side("c"), side("b"), "a", "b", slow_baseline=True))
    r = harness.run_one("_slow", repeats=3, min_time=1e-4)
    assert calls["b"] == 2 and calls["c"] >= 1 + 1 + 3 and r.baseline.calls == 1


def test_cli_runs_and_writes_json(tmp_path):
    """freqsens bench NAME prints a ratio table and writes JSON with the machine description (GEMM rates,
    BLAS libraries); python -m benchmarks.readme renders that JSON's numbers, and only those."""
    out = tmp_path / "b.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "bench", "conv-fft", "ridge-vs-sklearn", "--small", "--repeats",
                           "2", "--min-time", "0.01", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "speedup" in proc.stdout
    data = json.loads(out.read_text())
    r = data["results"][0]
    assert r["name"] == "conv-fft" and r["speedup"] > 0 and data["machine"]["cpu_count"]
    gemm = data["machine"]["gemm"]
    assert gemm["best"] == max(gemm[k] for k in ("numpy", "torch") if k in gemm) > 0
    assert "libraries" in data["machine"]["blas"]
    if sys.platform.startswith("linux"):
        assert data["machine"]["allocator"] == "glibc mallopt"   # the setting the timings were taken under
    page = tmp_path / "README.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.readme", str(out), str(out), "--out", str(page)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = page.read_text()
    for res in data["results"]:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{res['name']}`"))
        ratio = f"{res['speedup']:.2f}"
        assert f"| {ratio}x |" in row and f"{ratio} / {ratio} / {ratio}x" in row   # two copies of one run
    assert f"{gemm['numpy'] / 1e9:.0f} GFLOP/s" in text
    kinds = {res["name"]: res["kind"] for res in data["results"]}
    assert kinds == {"conv-fft": "context", "ridge-vs-sklearn": "peer"}


def test_readme_refuses_a_file_that_is_not_a_benchmark_run(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"a": 1}')
    proc = subprocess.run([sys.executable, "-m", "benchmarks.readme", str(bad), "--out", str(tmp_path / "p.md")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a `freqsens bench` output" in proc.stderr
    assert not (tmp_path / "p.md").exists()


def test_cli_unknown_name_exits_2():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "bench", "nope"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown benchmark" in proc.stderr


def test_throughput_cli(tmp_path):
    """freqsens throughput writes a positive rate per model with the machine; bad names exit 2."""
    out = tmp_path / "t.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "throughput", "linearcnn-d2", "--batch", "2", "--steps", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["images_per_s"]["linearcnn-d2"] > 0 and data["machine"]["torch_threads"] == 1
    bad = subprocess.run([sys.executable, "-m", "benchmarks", "throughput", "vgg"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "unknown name 'vgg'" in bad.stderr


def test_gpu_check_dry_runs_every_step(tmp_path):
    """freqsens gpu-check --dry: every step runs on the CPU at tiny sizes; the FFT layer agrees with
    nn.Conv2d in float32 and under bf16 autocast; the depth experiment's section is in the Markdown."""
    import os
    out = tmp_path / "g"
    p = subprocess.run([sys.executable, "-m", "benchmarks", "gpu-check", "--dry", "--out", str(out)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "FREQSENS_CACHE": str(tmp_path / "cache")})
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads((out / "gpu_check.json").read_text())
    assert r["fft_layer"]["float32"]["ok"] and r["fft_layer"]["bfloat16"]["ok"] and not r["skipped"]
    assert r["fft_vs_cudnn"]["speedup"] > 0 and all(v["images_per_s_float32"] > 0 for v in r["models"].values())
    assert set(r["sensitivity"]) == {"convactually", "myrtle"} and len(r["depth"]["runs"]) == 2
    assert "Hypothesis I" in (out / "gpu_check.md").read_text()


def test_missing_peer_is_reported_as_skipped_never_timed(monkeypatch, tmp_path, capsys):
    """An entry whose peer is not installed says so (stdout and JSON) and times nothing."""
    from benchmarks.cli.bench import main

    def build(small=False):
        raise harness.Skip("peerlib is not installed")
    monkeypatch.setattr(harness, "load_all", lambda: None)
    monkeypatch.setitem(harness.REGISTRY, "_peer", build)
    out = tmp_path / "b.json"
    assert main(["_peer", "--out", str(out)]) == 0
    assert "_peer: SKIPPED (peerlib is not installed)" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["results"] == [] and data["skipped"] == {"_peer": "peerlib is not installed"}


def test_fft_layer_ten_line_reference_matches_nn_conv2d():
    """The ten-line FFT baseline is itself checked against nn.Conv2d (circular, 'same'), odd and even sizes."""
    import torch
    from benchmarks.bench_peers import ten_line_conv
    from nets.models.layers import same_padding_shift
    for H in (5, 6):
        torch.manual_seed(H)
        conv = torch.nn.Conv2d(3, 4, H, padding="same", padding_mode="circular").double()
        x = torch.randn(2, 3, H, H, dtype=torch.float64)
        s = same_padding_shift(H)
        got = ten_line_conv(x, conv.weight, conv.bias, (s, s))
        assert torch.allclose(got, conv(x), atol=1e-10), H


def test_real_fourier_design_is_the_pixel_design_in_the_real_basis():
    """theory.real_basis' O(N d) design from x_hat (one compiled gather) equals X Q with Q the real orthonormal
    Fourier basis (an independent construction through idft2 of every basis vector); the map back from
    coefficients equals dft2(Q beta); the peers' groups and weights match that basis's."""
    import numpy as np
    from benchmarks.bench_peers import real_fourier_groups
    from theory.real_basis import from_real_coefficients, real_fourier_basis, real_fourier_design
    from theory.dft import dft2
    rng = np.random.default_rng(0)
    for shape in ((2, 4, 4), (1, 5, 6), (3, 3, 5)):
        x = rng.standard_normal((7,) + shape)
        Z = real_fourier_design(dft2(x))
        groups, weights = real_fourier_groups(shape)
        Q, group, weight = real_fourier_basis(shape)
        assert np.allclose(Q.T @ Q, np.eye(Q.shape[0]), atol=1e-12)   # an orthonormal real basis
        assert np.allclose(Z, x.reshape(7, -1) @ Q, atol=1e-12)
        beta = rng.standard_normal((Q.shape[0], 2))
        assert np.allclose(from_real_coefficients(beta, shape), dft2((Q @ beta).T.reshape((2,) + shape)), atol=1e-12)
        assert [list(np.nonzero(group == g)[0]) for g in range(len(weight))] == groups
        assert np.allclose(weights, weight)


def test_benchmarks_readme_is_the_generator_output_of_the_published_runs(monkeypatch):
    """benchmarks/README.md is exactly what `python -m benchmarks.readme` makes of benchmarks/published/*.json:
    no figure in it was typed or edited by hand."""
    from pathlib import Path

    from benchmarks import readme
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    page = Path("benchmarks/README.md").read_text()
    paths = sorted(str(p) for p in Path("benchmarks/published").glob("run*.json"))
    tag = "- **Conditions**: "
    context = next((line[len(tag):] for line in page.splitlines() if line.startswith(tag)), "")
    assert paths and readme.render(readme.load_runs(paths), paths, context) + "\n" == page


def test_gpu_check_sigterm_keeps_its_report(tmp_path):
    """SIGTERM during a step: exit 143, and gpu_check.md / .json still hold every finished step and say where it
    stopped (the script a run on a lent GPU uses must never lose its report)."""
    import os
    import signal
    import time
    out = tmp_path / "g"
    p = subprocess.Popen([sys.executable, "-m", "benchmarks", "gpu-check", "--dry", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "FREQSENS_CACHE": str(tmp_path / "cache")})
    t0 = time.time()
    while not (out / "gpu_check.json").exists() and time.time() - t0 < 120 and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err[-2000:]
    assert "terminated (SIGTERM)" in err.strip().splitlines()[-1]
    r = json.loads((out / "gpu_check.json").read_text())
    md = (out / "gpu_check.md").read_text()
    assert r["fft_layer"]["float32"]["ok"] and "Interrupted" in md and "| fft_layer | done |" in md
    assert "Terminated during" in r["interrupted"]


def test_gpu_check_markdown_with_a_failed_depth_step():
    """A failed step is a row with its error (the depth step's section missing used to be a KeyError)."""
    from benchmarks.gpu_check import markdown
    md = markdown({"device_name": "cpu", "torch": "x", "dry": True, "depth": {"error": "RuntimeError: boom"},
                   "fft_layer": {"ok": True}, "seconds": {"fft_layer": 1.0}})
    assert "| depth | FAILED: RuntimeError: boom |" in md and "| fft_layer | done | 1.0 |" in md
