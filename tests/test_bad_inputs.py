"""Bad inputs beyond the per-command table (``tests/bad_inputs/``): library functions given NaN, wrong shapes or
sizes name the argument in one ValueError; run.sh and the CLIs suggest the close match of a misspelling."""
import subprocess

import numpy as np
import pytest


def _lib_cases():
    import torch
    from nets.data import DataError, ImageData, load_dataset
    from nets.data.synthetic import gaussian_field
    from nets.measures import compare_sensitivity, fourier_heat_map, frequency_sensitivity, moment
    from nets.models import FFTCircularConv2d, build_model
    from theory import regression as R
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))
    x = torch.randn(4, 3, 4, 4)
    xn = x.clone()
    xn[0, 0, 0, 0] = float("nan")
    y = torch.zeros(4, dtype=torch.long)
    z = np.zeros((1, 1, 2, 2), np.float32)
    xh = np.fft.fft2(np.random.default_rng(0).standard_normal((5, 1, 2, 2)), norm="ortho")
    return [
        (lambda: frequency_sensitivity(m, xn), "x: expected finite"),
        (lambda: frequency_sensitivity(m, x[0]), "x: expected an array of images"),
        (lambda: frequency_sensitivity(m, x, batch_size=0), "batch_size"),
        (lambda: fourier_heat_map(m, xn, y), "x: expected finite"),
        (lambda: fourier_heat_map(m, x, y, epsilon=float("inf")), "epsilon"),
        (lambda: compare_sensitivity(np.ones((3, 4, 4)), np.ones((3, 4, 5)), 0.1), "S, tau"),
        (lambda: moment(np.arange(3.0), np.zeros(3), 1), "g:"),
        (lambda: build_model("convactually", depth=0), "depth"),
        (lambda: build_model("convactually", width=0), "width"),
        (lambda: FFTCircularConv2d(0, 2, (4, 4)), "in_channels"),
        (lambda: FFTCircularConv2d(2, 2, (0, 4)), "size[0]"),
        (lambda: ImageData("t", z.repeat(2, 0), np.array([0, 5]), z, np.array([0]), z, np.array([0]), ["a", "b"]),
         "y_train: expected labels in 0..1"),
        (lambda: ImageData("t", z, np.array([0.5]), z, np.array([0]), z, np.array([0]), ["a"]), "integer labels"),
        (lambda: ImageData("t", z * np.nan, np.array([0]), z, np.array([0]), z, np.array([0]), ["a"]), "finite"),
        (lambda: gaussian_field(2, alpha=float("nan")), "alpha"),
        (lambda: R.soft_threshold_diagonal(xh, np.ones(5), -1.0), "lam"),
        (lambda: R.soft_threshold_diagonal(xh, np.ones(5), float("nan")), "lam"),
        (lambda: R.solve(xh, np.ones(5), float("nan")), "lam"),
        (lambda: load_dataset("embedded?n_train=-1"), "n_train"),
        (lambda: load_dataset("synthetic:grf?H=0"), "H"),
    ], (ValueError, DataError)


def test_bad_inputs_to_library_functions():
    """NaN/inf arrays, mismatched shapes, zero sizes, negative or NaN penalties: one ValueError (or its
    DataError subclass) whose message names the argument."""
    cases, errors = _lib_cases()
    problems = []
    for i, (call, name) in enumerate(cases):
        try:
            call()
            problems.append(f"case {i}: no error")
        except errors as exc:
            if name not in str(exc):
                problems.append(f"case {i}: {exc!r} does not name {name!r}")
    assert not problems, problems


def test_run_sh_suggests_the_verb_and_prints_its_whole_usage():
    """./run.sh analyse (the README's British spelling): exit 2, one line with the close match; ./run.sh alone
    prints the header to its last line (it was cut mid-sentence)."""
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    p = subprocess.run(["bash", str(root / "run.sh"), "analyse"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "did you mean 'analyze'?" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    u = subprocess.run(["bash", str(root / "run.sh")], capture_output=True, text=True, timeout=60)
    assert u.returncode == 0 and u.stdout.rstrip().endswith("default torch==2.13.0, a CPU build here).")


@pytest.mark.parametrize("argv, want", [
    (["deph"], "(did you mean 'depth'?)"),
    (["depth", "--preset", "cifar-myrtl"], "(did you mean 'cifar-myrtle'?)"),
    (["depth", "--sedes", "2"], "--sedes -> --seeds"),
])
def test_misspellings_get_a_suggestion(argv, want, capsys):
    """One line, exit 2, and the close match (issue 36)."""
    from nets.cli.experiments import main
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and want in err[0]


def test_every_command_has_its_bad_input_table():
    """Each command of the front door (infra.commands) has its file of bad-input cases in tests/bad_inputs/."""
    from pathlib import Path

    from infra.commands import COMMANDS
    here = Path(__file__).resolve().parent / "bad_inputs"
    missing = [n for n in COMMANDS if not (here / f"test_bad_{n.replace('-', '_')}.py").is_file()]
    assert not missing, missing
