"""theory.holder and theory.conjecture_search: Conjecture 4.13 ratio, certificate links, samplers, CLI."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import seeds
from theory.linalg import haar_unitary
from theory import conjecture_search as cs
from theory.holder import certify, check_exponents, r_from, ratio_mpmath


@given(seeds, st.sampled_from(cs.REGIMES), st.integers(2, 6), st.integers(1, 5))
def test_equality_cases_give_ratio_one(seed, regime, L, n):
    """Aligned factors A_l = U_l diag(c^(1/p_l)) U_{l-1}^* attain equality: the ratio's round-off range
    [ratio_lo, ratio_hi] contains 1 (at small r the float64 ratio alone can be off by 20 %: the singular
    values that decide it span more decades than float64 resolves)."""
    rng = np.random.default_rng(seed)
    ps = cs.exponents(regime, L, rng)
    F = cs.sample("aligned_rotated", ps, [n] * (L + 1), 4, rng)
    c = certify(F, ps, r_from(ps))
    assert np.all(c.log_ratio_lo <= 1e-12) and np.all(c.log_ratio_hi >= -1e-12)
    assert not np.any(c.below_one)


def test_seed3_equality_families_raise_no_bug_flag():
    """Regression (seed 3, L = 4, the families that flagged 601 samples in 20 s): float64 ratios below 1 with
    every link holding exist (the old flag fired on them), but none lies below 1 beyond round-off."""
    cfg = cs.SearchConfig(L=[4], regimes=["small_r", "random"], samplers=["aligned_rotated"], seed=3, chunk=256,
                          adversarial_every=0, max_recheck=0)
    old_flags = new_flags = 0
    for index in range(6):
        rng = np.random.default_rng([cfg.seed, index])
        L, regime, sampler = cs.combos(cfg)[index % 2]
        ps = cs.exponents(regime, L, rng)
        F = cs.sample(sampler, ps, cs.dimensions(sampler, L, cfg.max_dim, rng), cfg.chunk, rng)
        c = certify(F, ps, r_from(ps))
        old_flags += int(((c.log_ratio < -1e-12) & c.links_ok).sum())
        new_flags += int((c.below_one & c.links_ok).sum())
        assert cs.run_chunk(cs.SearchConfig(**cfg.identity()).identity(), index)["bug_flags"] == 0
    assert old_flags > 0 and new_flags == 0


def test_every_regime_and_sampler_raises_no_bug_flag(tmp_path):
    """One chunk of every (L, regime, sampler) for L = 2, 3, 4, 8: no sample below 1 beyond round-off with every
    link holding, and no counterexample."""
    cfg = cs.SearchConfig(L=[2, 3, 4, 8], chunk=32, adversarial_every=0, max_recheck=1, seed=1)
    state = cs.search(cfg, tmp_path / "s", samples=32 * len(cs.combos(cfg)), progress=False)
    assert len(state["summary"]) == len(cs.combos(cfg))
    assert sum(v["bug_flags"] for v in state["summary"].values()) == 0 and not state["counterexamples"]


def test_equality_case_in_mpmath():
    """At 60 digits the float64-rounded equality case is within O(eps^2) of 1 (rounding moves it off the
    equality point, and the ratio changes at second order there), and never below 1."""
    rng = np.random.default_rng(0)
    ps = [2.0, 3.0, 6.0]
    F = cs.sample("aligned_rotated", ps, [3] * 4, 1, rng)
    excess = float(ratio_mpmath([A[0] for A in F], ps) - 1)
    assert -1e-40 < excess < 1e-28


@settings(max_examples=25)
@given(seeds, st.sampled_from(["gaussian_complex", "gaussian_real", "spectrum", "rank_deficient"]),
       st.sampled_from(["paper", "random", "r_lt_1", "with_inf"]), st.integers(2, 5))
def test_certificate_links_hold_on_random_samples(seed, sampler, regime, L):
    """Horn, majorisation and Hölder links hold on random samples, and every ratio is >= 1."""
    rng = np.random.default_rng(seed)
    ps = cs.exponents(regime, L, rng)
    F = cs.sample(sampler, ps, cs.dimensions(sampler, L, 5, rng), 64, rng)
    c = certify(F, ps, r_from(ps))
    assert c.links_ok.all() and np.all(c.log_ratio >= -1e-12)


@given(seeds, st.integers(2, 4))
def test_ratio_invariant_under_unitary_rotations(seed, L):
    """Replacing A_l by U_l A_l U_{l-1}^* (U_0, U_L arbitrary unitaries) leaves the ratio unchanged."""
    rng = np.random.default_rng(seed)
    ps = cs.exponents("random", L, rng)
    dims = cs.dimensions("gaussian_complex", L, 4, rng)
    F = cs.sample("gaussian_complex", ps, dims, 8, rng)
    U = [haar_unitary(rng, d, (8,)) for d in dims]
    G = [U[l + 1] @ A @ np.conj(np.swapaxes(U[l], -1, -2)) for l, A in enumerate(F)]
    r = r_from(ps)
    assert np.allclose(certify(F, ps, r).log_ratio, certify(G, ps, r).log_ratio, atol=1e-10)


def test_inconsistent_exponents_rejected():
    """A planted 'counterexample' with sum 1/p_l != 1/r is refused by the consistency check, not reported."""
    A = np.eye(2)[None] * 2
    with pytest.raises(ValueError, match="sum 1/p_l = 1/r"):
        certify([A, A], [2.0, 2.0], 2.0)          # 1/2 + 1/2 = 1 != 1/2
    with pytest.raises(ValueError, match="ps\\[0\\]: expected a real number > 0"):
        check_exponents([0.0, 1.0], 1.0)
    assert r_from([2.0, math.inf]) == 2.0


def test_rank_truncation_at_small_r():
    """A rank-1 product with a round-off second singular value: without truncation the ratio would drop below 1
    at r = 0.05 (the tool's own failure mode); with it the ratio is >= 1 in float64 and in mpmath."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 1)) + 0j, rng.standard_normal((1, 6)) + 0j
    ps = [0.05 / 0.3, 0.05 / 0.7]
    c = certify([b[None], a[None]], ps, r_from(ps))
    assert c.ratio[0] >= 1 - 1e-12 and c.links_ok[0]
    assert ratio_mpmath([b, a], ps) - 1 >= -1e-30   # compared in mpmath: the float 1 - 1e-30 is exactly 1.0


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "theory", "conjecture", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_end_to_end_resume_and_seed(tmp_path):
    """A small budget writes JSON with config/summary; --resume continues without repeating chunks; the same
    seed gives the same samples (identical summaries)."""
    common = ["--samples", "400", "--chunk", "50", "--L", "2,3", "--max-dim", "3", "--adversarial-steps", "5"]
    p = run_cli(*common, "--out", str(tmp_path / "a"))
    assert p.returncode == 0, p.stderr
    assert "counterexamples" in p.stdout
    a = json.loads((tmp_path / "a" / "search.json").read_text())
    assert a["samples"] >= 400 and a["counterexamples"] == [] and a["config"]["seed"] == 0
    assert "a bug in this tool): 0" in p.stdout and all(v["bug_flags"] == 0 for v in a["summary"].values())
    first_chunks = a["next_chunk"]
    p = run_cli(*common, "--out", str(tmp_path / "a"), "--resume")
    assert p.returncode == 0, p.stderr
    b = json.loads((tmp_path / "a" / "search.json").read_text())
    assert b["next_chunk"] == 2 * first_chunks and b["samples"] >= a["samples"] + 400
    p = run_cli(*common, "--out", str(tmp_path / "c"))
    c = json.loads((tmp_path / "c" / "search.json").read_text())
    assert c["summary"] == a["summary"]


def test_workers_and_dask_give_the_same_samples(tmp_path):
    """--workers 2 and a Dask LocalCluster with 2 workers run the same chunks as the in-process run."""
    pytest.importorskip("distributed")
    common = ["--samples", "200", "--chunk", "50", "--L", "2", "--max-dim", "3", "--adversarial-every", "0"]
    ref = run_cli(*common, "--out", str(tmp_path / "ref"), "--workers", "2")
    dask = run_cli(*common, "--out", str(tmp_path / "dask"), "--workers", "2", "--scheduler", "local")
    assert ref.returncode == 0 and dask.returncode == 0, dask.stderr
    r = json.loads((tmp_path / "ref" / "search.json").read_text())
    d = json.loads((tmp_path / "dask" / "search.json").read_text())
    assert r["summary"] == d["summary"]


@pytest.mark.parametrize("args, match", [
    (["--L", "0"], "--L"), (["--L", "2,x"], "--L"), (["--samples", "-5"], "--samples"),
    (["--max-dim", "0"], "--max-dim"), (["--time", "soon"], "--time"),
    pytest.param(["--scheduler", "tcp://127.0.0.1:1", "--samples", "10"], "cannot connect", marks=pytest.mark.slow),
])
def test_cli_bad_input(tmp_path, args, match):
    """Bad values and an unreachable scheduler: one clear line, exit status 2."""
    p = run_cli(*args, "--out", str(tmp_path / "x"), timeout=120)
    assert p.returncode == 2 and match in p.stderr and "Traceback" not in p.stderr


def test_flagged_samples_fail_the_run_and_are_saved(tmp_path, monkeypatch, capsys):
    """A bug flag makes the CLI exit 1 with a FAILED line, and each flagged sample's matrices are saved as npz."""
    A = [np.eye(2, dtype=complex), 2 * np.eye(2, dtype=complex)]
    res = {"index": 7, "flagged": [{"ps": [2.0, 2.0], "ratio": 0.9, "ratio_hi": 0.95, "factors": A}]}
    cs._save_flagged(tmp_path, res)
    with np.load(tmp_path / "flagged" / "chunk7-0.npz", allow_pickle=False) as z:
        assert np.array_equal(z["A2"], A[1]) and z["ps"].tolist() == [2.0, 2.0] and float(z["ratio_hi"]) == 0.95
    state = {"samples": 1, "counterexamples": [], "summary": {"L=2|paper|aligned": {
        "samples": 1, "worst_ratio": 0.9, "worst_ratio_hi": 0.95, "link_failures": 0, "link_failures_resolved": 0,
        "rechecked": 0, "counterexamples": 0, "bug_flags": 1}}}
    monkeypatch.setattr(cs, "search", lambda *a, **k: state)
    from theory.cli.conjecture import main
    assert main(["--samples", "1", "--out", str(tmp_path / "o")]) == 1
    assert "FAILED: 1 sample(s) contradict the certificate" in capsys.readouterr().out


@pytest.mark.slow
def test_long_search_over_every_family_raises_no_bug_flag(tmp_path):
    """Issue 17's acceptance run, shortened to 60 s: every regime and sampler at L = 2, 3, 4, 8 on 2 workers,
    no sample below 1 beyond round-off with every link holding, no counterexample, exit 0."""
    p = run_cli("--time", "60", "--L", "2,3,4,8", "--workers", "2", "--out", str(tmp_path / "long"), timeout=400)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    state = json.loads((tmp_path / "long" / "search.json").read_text())
    assert len(state["summary"]) >= 150 and sum(v["bug_flags"] for v in state["summary"].values()) == 0
    assert not (tmp_path / "long" / "flagged").exists()


@pytest.mark.parametrize("sig, code, word", [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")])
def test_signal_saves_state_and_exits_with_the_shells_code(tmp_path, sig, code, word):
    """SIGTERM -> 143 and SIGINT -> 130 (128 + signal), one line, the state saved for --resume."""
    import signal
    import time
    out = tmp_path / "c"
    p = subprocess.Popen([sys.executable, "-m", "theory", "conjecture", "--time", "120", "--chunk", "16", "--L", "2",
                          "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (out / "search.json").exists() and time.time() - t0 < 60:
        time.sleep(0.05)
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err[-1000:]
    assert len(err.strip().splitlines()) == 1 and word in err and "Traceback" not in err
    assert json.loads((out / "search.json").read_text())["samples"] > 0
