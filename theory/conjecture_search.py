"""freqsens conjecture: random and adversarial search for counterexamples to Conjecture 4.13.

Conjecture 4.13 (the paper's generalised non-commutative Hölder inequality): for composable complex
A_1..A_L, B = A_L...A_1 and sum_l 1/p_l = 1/r (all > 0), |B|_r <= prod_l |A_l|_{p_l}.

What the certificate means. Each sample is checked through three classical inequalities: Horn (1950)
log-majorisation of singular values of products; Weyl's majorant theorem for t -> exp(r t); Hölder for
vectors. Chained, they imply the conjecture for every r > 0 (for two factors: Shang, Liu & Cheng 2016,
"Unified Scalable Equivalent Formulations for Schatten Quasi-Norms"). So no counterexample is expected:
the tool verifies each link numerically per sample, and reports any failing link. A ratio below 1 is
only reported as a counterexample after a float64 recheck and an mpmath recheck at >= 50 digits with
exactly consistent exponents. The tool verifies; it does not prove.

Bug flags. A sample whose ratio is below 1 *beyond its round-off* while all three links hold contradicts
the chain above, so it is a bug in this tool: the run says FAILED, exits 1 and saves the sample's
matrices under ``OUT/flagged/``. Earlier versions flagged on the float64 ratio itself and counted
hundreds of such samples in the equality families (``aligned_rotated``; seed 3, L = 4, 20 s: 601; float64
ratios down to 0.99984 where the true ratio is 1). The cause: the ratio and the links were judged under
different error models. Horn's link allowed each computed singular value of B an absolute error of
``delta = 16 n L eps prod s_1(A_l)``, but the ratio treated the same values as exact. At small r
(sum 1/p up to 20) the singular values of B span up to 1e40 and |B|_r depends on the smallest of them
(``(1e-30)^0.05 = 0.03``), whose relative error float64 cannot resolve: the ratio was off by up to 2e-4
(and by 20 % in the other direction where B's smallest singular values were truncated). Now
``theory.holder.certify`` returns the ratio's range under the same model (every singular value within
its delta, truncated ones anywhere in [0, delta]); a flag needs its upper end below 1. After the fix,
300 s over L = 2, 3, 4, 8 (1.5 million samples): 0 flags, and every equality family's upper end >= 1.

Work is split into deterministic chunks (chunk i's samples depend only on (seed, i)); chunks run in
waves (in-process, --workers local processes, or a Dask cluster via --scheduler), and the state is
checkpointed atomically after every wave, so Ctrl-C / kill loses at most one wave and --resume repeats
no sample. Every ``--adversarial-every``-th chunk is adversarial: gradient descent (torch autograd through
complex singular values) on the log ratio, started from the worst of a batch of random samples.
"""
from __future__ import annotations

import itertools
import json
import math
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from infra.cli import Terminated
from infra.io import FolderLock, LockError, atomic_save_npz, atomic_write_json, provenance
from infra.parallel import Executor, check_scheduler
from infra.resources import require_memory
from infra.tables import text_table
from theory.holder import certify, r_from, ratio_mpmath
from theory.linalg import haar_unitary

REGIMES = ("paper", "random", "r_lt_1", "small_r", "with_inf")
SAMPLERS = ("gaussian_complex", "gaussian_real", "spectrum", "near_rank_deficient", "rank_deficient",
            "aligned", "aligned_rotated", "aligned_perturbed")
CANDIDATE = 1e-9        # ratios below 1 + CANDIDATE are rechecked
MP_DPS = 60
MP_MARGIN = 1e-30       # a counterexample must stay below 1 - MP_MARGIN at MP_DPS digits (float64 error ~1e-16)


@dataclass
class SearchConfig:
    L: list = field(default_factory=lambda: [2, 3, 4, 6, 8])
    max_dim: int = 6
    regimes: list = field(default_factory=lambda: list(REGIMES))
    samplers: list = field(default_factory=lambda: list(SAMPLERS))
    seed: int = 0
    chunk: int = 256                 # samples per chunk
    adversarial_every: int = 8       # every n-th chunk is adversarial (0: never)
    adversarial_restarts: int = 4
    adversarial_steps: int = 200
    max_recheck: int = 4             # mpmath rechecks per chunk (the lowest ratios first)

    def identity(self) -> dict:
        return asdict(self)


# ---- samplers ----------------------------------------------------------------------------------

def exponents(regime: str, L: int, rng) -> list[float]:
    """``p_1..p_L`` of a regime: paper (p = 2, r = 2/L), random, r_lt_1, small_r (r = 0.05), with_inf."""
    if regime == "paper":
        return [2.0] * L
    if regime == "small_r":   # sum 1/p = 20, split by random weights
        w = rng.dirichlet(np.ones(L))
        return [0.05 / wi for wi in w]
    ps = list(np.exp(rng.uniform(np.log(0.2), np.log(8.0), L)))
    if regime == "r_lt_1":
        while r_from(ps) >= 1:
            ps = [p / 2 for p in ps]
    if regime == "with_inf":
        k = int(rng.integers(1, L))   # 1..L-1 infinite exponents, at least one finite
        for i in rng.choice(L, k, replace=False):
            ps[i] = math.inf
    return ps


def dimensions(sampler: str, L: int, max_dim: int, rng) -> list[int]:
    """``n_0..n_L`` (A_l is n_l x n_{l-1}); inner widths below, equal to or above the outer ones."""
    if sampler.startswith("aligned"):
        return [int(rng.integers(1, max_dim + 1))] * (L + 1)
    outer = rng.integers(1, max_dim + 1, 2)
    inner = [int(rng.choice([rng.integers(1, max(outer.min(), 1) + 1), outer.min(), rng.integers(outer.max(), max_dim + 1)]))
             for _ in range(L - 1)]
    return [int(outer[0]), *inner, int(outer[1])]


def sample(sampler: str, ps, dims, S: int, rng) -> list[np.ndarray]:
    """``S`` samples of the factors ``[A_1 (S, n_1, n_0), ..., A_L]`` from ``sampler``."""
    L = len(ps)
    shapes = [(S, dims[l + 1], dims[l]) for l in range(L)]
    cplx = lambda s: rng.standard_normal(s) + 1j * rng.standard_normal(s)  # noqa: E731
    if sampler == "gaussian_complex":
        return [cplx(s) for s in shapes]
    if sampler == "gaussian_real":
        return [rng.standard_normal(s).astype(complex) for s in shapes]
    if sampler in ("spectrum", "near_rank_deficient"):
        out = []
        for s in shapes:
            k = min(s[1:])
            sv = 10 ** rng.uniform(-8, 0, (S, k))                      # log-uniform over 8 decades
            if sampler == "near_rank_deficient":
                sv[:, rng.integers(0, k):] *= 1e-13
            U, V = haar_unitary(rng, s[1], (S,))[..., :k], haar_unitary(rng, s[2], (S,))[..., :k]
            out.append((U * sv[:, None, :]) @ np.conj(np.swapaxes(V, -1, -2)))
        return out
    if sampler == "rank_deficient":
        return [cplx(s[:2] + (max(1, min(s[1:]) - 1),)) @ cplx((S, max(1, min(s[1:]) - 1), s[2])) for s in shapes]
    # aligned: A_l = U_l diag(c^(1/p_l)) U_{l-1}^*  (equality case: ratio exactly 1)
    n = dims[0]
    c = rng.uniform(0.1, 10, (S, n))
    U = [np.broadcast_to(np.eye(n), (S, n, n))] * (L + 1) if sampler == "aligned" else [haar_unitary(rng, n, (S,)) for _ in range(L + 1)]
    out = []
    for l, p in enumerate(ps):
        d = np.ones_like(c) if math.isinf(p) else c ** (1 / p)
        if math.isinf(p):
            d = np.broadcast_to(np.ones((S, n)), (S, n)).copy()
        A = (U[l + 1] * d[:, None, :]) @ np.conj(np.swapaxes(U[l], -1, -2))
        if sampler == "aligned_perturbed":
            A = A + 1e-3 * np.abs(A).mean() * cplx(A.shape)
        out.append(A)
    return out


def combos(cfg: SearchConfig) -> list[tuple[int, str, str]]:
    return list(itertools.product(cfg.L, cfg.regimes, cfg.samplers))


# ---- one chunk -----------------------------------------------------------------------------------

def adversarial(factors: list[np.ndarray], ps, steps: int) -> list[np.ndarray]:
    """Minimise the log ratio over the factors by Adam (torch, complex128) from the given starts (S, ...)."""
    import torch
    torch.set_num_threads(1)
    r = r_from(ps)
    params = [torch.tensor(np.ascontiguousarray(A), requires_grad=True) for A in factors]
    opt = torch.optim.Adam(params, lr=1e-2)

    def lognorm(s, p):
        if math.isinf(p):
            return torch.log(s[..., 0])
        return torch.logsumexp(p * torch.log(s.clamp_min(1e-300)), -1) / p

    for _ in range(steps):
        opt.zero_grad()
        B = params[0]
        for A in params[1:]:
            B = A @ B
        val = sum(lognorm(torch.linalg.svdvals(A), p) for A, p in zip(params, ps)) - lognorm(torch.linalg.svdvals(B), r)
        val.sum().backward()
        opt.step()
    return [p.detach().numpy() for p in params]


def run_chunk(cfg_dict: dict, index: int) -> dict:
    """Run chunk ``index``: deterministic from (seed, index); returns summary numbers and the worst cases."""
    cfg = SearchConfig(**cfg_dict)
    rng = np.random.default_rng([cfg.seed, index])
    cs = combos(cfg)
    L, regime, sampler = cs[index % len(cs)]
    is_adv = cfg.adversarial_every > 0 and index % cfg.adversarial_every == cfg.adversarial_every - 1
    ps = exponents(regime, L, rng)
    dims = dimensions(sampler, L, cfg.max_dim, rng)
    factors = sample(sampler, ps, dims, cfg.chunk, rng)
    r = r_from(ps)
    cert = certify(factors, ps, r)
    n_samples = cfg.chunk
    if is_adv:
        worst = np.argsort(cert.log_ratio)[:cfg.adversarial_restarts]
        factors = adversarial([A[worst] for A in factors], ps, cfg.adversarial_steps)
        cert = certify(factors, ps, r)
        n_samples = len(worst)
    order = np.argsort(cert.log_ratio)
    cand = [int(i) for i in order if cert.log_ratio[i] < math.log1p(CANDIDATE)]
    failing = [int(i) for i in order if not cert.links_ok[i]]
    rechecked, counter = [], []
    # candidates (lowest ratios first), then samples with a failing float64 link, go to mpmath
    for i in list(dict.fromkeys(cand + failing))[:cfg.max_recheck]:
        mp_ratio = ratio_mpmath([A[i] for A in factors], ps, MP_DPS)
        rechecked.append({"float64": float(cert.ratio[i]), "mpmath": str(mp_ratio), "links_ok": bool(cert.links_ok[i]),
                          "holds_at_high_precision": bool(1 - mp_ratio <= MP_MARGIN)})
        if 1 - mp_ratio > MP_MARGIN:   # in mpmath: 1 - MP_MARGIN would round to 1.0 as a float
            counter.append({"index": i, "ratio_mpmath": str(mp_ratio), "ps": ps, "dims": dims,
                            "factors": [[A[i].real.tolist(), A[i].imag.tolist()] for A in factors]})
    w = int(order[0])
    # below 1 beyond round-off while every link holds: impossible mathematically, so a bug in this code;
    # the matrices are returned so that the driver saves them for a recheck
    flagged = np.flatnonzero(cert.below_one & cert.links_ok)
    return {"index": index, "key": f"L={L}|{regime}|{sampler}{'|adversarial' if is_adv else ''}", "samples": n_samples,
            "worst_ratio": float(cert.ratio[w]), "link_failures": int((~cert.links_ok).sum()),
            "link_failures_by_link": {"horn": int((~cert.horn_ok).sum()), "majorisation": int((~cert.majorisation_ok).sum()),
                                      "holder": int((~cert.holder_ok).sum())},
            # ratio below 1 while every link holds is impossible mathematically: a bug in this code
            "bug_flags": int(len(flagged)),
            "flagged": [{"ps": ps, "ratio": float(cert.ratio[i]), "ratio_hi": float(np.exp(cert.log_ratio_hi[i])),
                         "factors": [A[i] for A in factors]} for i in flagged[:8]],
            "worst_ratio_hi": float(np.exp(cert.log_ratio_hi.min())),
            "candidates": len(cand), "rechecked": rechecked, "counterexamples": counter,
            "link_failures_resolved": sum(1 for c in rechecked if not c["links_ok"] and c["holds_at_high_precision"]),
            "worst_case": {"ratio": float(cert.ratio[w]), "ps": ps, "r": r, "dims": dims,
                           "factors": [[A[w].real.tolist(), A[w].imag.tolist()] for A in factors]}}


# ---- the driver ----------------------------------------------------------------------------------

class Interrupted(Exception):
    """The search stopped on a signal after saving its state; ``code`` is the shell's exit status for it
    (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, message: str, code: int = 130):
        super().__init__(message)
        self.code = code


def _merge(state: dict, res: dict) -> None:
    s = state["summary"].setdefault(res["key"], {"samples": 0, "worst_ratio": math.inf, "link_failures": 0,
                                                  "link_failures_resolved": 0, "bug_flags": 0, "candidates": 0,
                                                  "rechecked": 0, "counterexamples": 0, "worst_ratio_hi": math.inf})
    s["worst_ratio_hi"] = min(s.get("worst_ratio_hi", math.inf), res["worst_ratio_hi"])
    s["link_failures_resolved"] += res["link_failures_resolved"]
    s["bug_flags"] += res["bug_flags"]
    s["samples"] += res["samples"]
    s["worst_ratio"] = min(s["worst_ratio"], res["worst_ratio"])
    s["link_failures"] += res["link_failures"]
    s["candidates"] += res["candidates"]
    s["rechecked"] += len(res["rechecked"])
    s["counterexamples"] += len(res["counterexamples"])
    state["samples"] += res["samples"]
    state["counterexamples"] += res["counterexamples"]
    state["worst"] = sorted(state["worst"] + [dict(res["worst_case"], key=res["key"])], key=lambda c: c["ratio"])[:10]


def read_state(path: Path) -> dict:
    """The saved search state, or ValueError saying what to delete: a file that does not parse, is not an
    object, or lacks the keys a search writes (a foreign or hand-edited ``search.json``)."""
    need = ("config", "next_chunk", "samples", "summary", "worst", "counterexamples", "seconds")
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict) or any(k not in state for k in need):
        raise ValueError(f"--resume: {path} is not a readable saved conjecture search (needs {', '.join(need)}); "
                         "delete it to start afresh")
    return state


def search(cfg: SearchConfig, out: Path, samples: int | None = None, seconds: float | None = None,
           workers: int = 1, scheduler: str | None = None, resume: bool = False, progress: bool = True,
           overwrite: bool = False) -> dict:
    """Run the search until ``samples`` (new this run) or ``seconds`` is reached; checkpoint to ``out`` (a
    folder holding files freqsens did not write is refused unless ``overwrite``)."""
    state_path = out / "search.json"
    if state_path.exists() and not resume:   # read-only checks first: a refused call writes nothing
        raise ValueError(f"{state_path} exists; pass --resume to continue it or choose another --out")
    if resume and state_path.exists() and read_state(state_path)["config"] != cfg.identity():
        raise ValueError(f"--resume: {state_path} was made with a different config; use the same flags")
    # a chunk holds max(L) complex128 factors of up to max_dim^2 per sample, and its SVDs / autograd ~8x that
    require_memory(16.0 * 8 * cfg.chunk * max(cfg.L) * cfg.max_dim ** 2, f"--chunk {cfg.chunk} --max-dim {cfg.max_dim}")
    check_scheduler(scheduler)
    try:
        lock = FolderLock(out, tool="theory.conjecture_search", overwrite=overwrite).acquire()   # one writer per output folder
    except LockError as exc:
        raise ValueError(f"--out: {exc}") from None
    try:
        return _search(cfg, out, samples, seconds, workers, scheduler, resume, progress)
    finally:
        lock.release()


def _search(cfg, out, samples, seconds, workers, scheduler, resume, progress) -> dict:
    state_path = out / "search.json"
    if resume and state_path.exists():   # search() checked it before taking the lock
        state = read_state(state_path)
    else:
        state = {"config": cfg.identity(), "next_chunk": 0, "samples": 0, "summary": {}, "worst": [],
                 "counterexamples": [], "seconds": 0.0}
    state["provenance"] = provenance()
    if samples is None and seconds is None:
        samples = 20000
    executor = Executor(workers, scheduler)
    wave = executor.size * 2
    cfgd = cfg.identity()
    t_start, new = time.time(), 0
    from tqdm import tqdm
    bar = tqdm(total=samples, unit="sample", desc="conjecture search", disable=not (progress and sys.stderr.isatty()),
               file=sys.stderr)
    old_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    stopped = False
    try:
        while (samples is None or new < samples) and (seconds is None or time.time() - t_start < seconds):
            idx = list(range(state["next_chunk"], state["next_chunk"] + wave))
            results = executor.map(run_chunk, [cfgd] * len(idx), idx)
            for res in results:
                _save_flagged(out, res)
                _merge(state, res)
                new += res["samples"]
                bar.update(res["samples"])
            state["next_chunk"] += len(idx)
            state["seconds"] += time.time() - t_start - state.get("_last", 0.0)
            state["_last"] = time.time() - t_start
            atomic_write_json(state_path, {k: v for k, v in state.items() if k != "_last"})
    except (KeyboardInterrupt, Terminated) as exc:
        stopped = True
        atomic_write_json(state_path, {k: v for k, v in state.items() if k != "_last"})
        raise Interrupted(f"{'terminated (SIGTERM)' if isinstance(exc, Terminated) else 'interrupted'}; "
                          f"{state['samples']} samples saved in {state_path} (--resume continues)",
                          143 if isinstance(exc, Terminated) else 130) from None
    finally:
        signal.signal(signal.SIGTERM, old_handler)
        bar.close()
        executor.close(wait=not stopped)   # on a signal the running chunks' workers are stopped, not awaited
    state.pop("_last", None)
    state["samples_per_second_this_run"] = new / max(time.time() - t_start, 1e-9)
    atomic_write_json(state_path, state)
    return state


def _save_flagged(out: Path, res: dict) -> None:
    """Each flagged sample's factors, exponents and ratios as ``out/flagged/chunk<i>-<j>.npz`` (no pickles)."""
    for j, f in enumerate(res.pop("flagged", [])):
        atomic_save_npz(out / "flagged" / f"chunk{res['index']}-{j}.npz", ps=np.array(f["ps"]), ratio=f["ratio"],
                        ratio_hi=f["ratio_hi"], **{f"A{l + 1}": A for l, A in enumerate(f["factors"])})


def _raise_interrupt(signum, frame):
    raise Terminated()


def format_summary(state: dict) -> str:
    head = ("L | regime | sampler", "samples", "worst ratio (float64)", "worst ratio + round-off", "link failures (float64)",
            "of them fine at 60 digits", "mpmath rechecks", "counterexamples", "bug flags")
    rows = [(k, str(v["samples"]), f"{v['worst_ratio']:.12f}", f"{v.get('worst_ratio_hi', math.nan):.12f}",
             str(v["link_failures"]), str(v["link_failures_resolved"]), str(v["rechecked"]), str(v["counterexamples"]),
             str(v.get("bug_flags", 0)))
            for k, v in sorted(state["summary"].items(), key=lambda kv: kv[1]["worst_ratio"])]
    total_fail = sum(v["link_failures"] for v in state["summary"].values())
    bugs = sum(v.get("bug_flags", 0) for v in state["summary"].values())
    return "\n".join([text_table(head, rows), "",
                      f"{state['samples']} samples, {len(state['summary'])} configurations; worst ratio "
                      f"{min((v['worst_ratio'] for v in state['summary'].values()), default=float('nan')):.15f}; "
                      f"float64 certificate link failures: {total_fail} (float64 cannot resolve singular values spread over > 1e16; "
                      f"flagged samples are recomputed at {MP_DPS} digits); counterexamples (below 1 - {MP_MARGIN:g} at "
                      f"{MP_DPS} digits): {len(state['counterexamples'])}; samples below 1 beyond round-off with every "
                      f"link holding (impossible: a bug in this tool): {bugs}"]
                     + ([f"FAILED: {bugs} sample(s) contradict the certificate. Their matrices are saved under "
                         "flagged/ in the output folder (npz: A1..AL, ps); please report them with that folder."]
                        if bugs else []))
