"""theory.check: the report runs every identity, verdicts are as expected, the CLI behaves."""
import json
import subprocess
import sys

import pytest

from theory import check


def test_every_check_is_as_expected():
    """All registered checks (including the paper's printed forms, expected to fail by the derived
    amount) give the expected verdict on a few seeded instances."""
    results = check.run_checks(instances=4, seed=7)
    assert [r.identity for r in results if not r.ok] == []
    assert len(results) == len(check.CHECKS)
    assert all(r.instances >= 1 and r.worst_error == r.worst_error for r in results)


def test_printed_conv_theorem_error_is_the_derived_constant():
    """The 'as printed' eq. 3.7 row measures a nonzero error (it must not pass as an identity)."""
    (r,) = check.run_checks(instances=3, names=["conv-theorem-printed"])
    assert r.ok and r.worst_error > 0.25


def test_cli_writes_json(tmp_path):
    """freqsens check writes the table and an atomic JSON with config and provenance."""
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, "-m", "theory", "check", "--instances", "2", "--only", "dft-unitary",
                           "schatten", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "worst error" in proc.stdout and "holds" in proc.stdout
    data = json.loads(out.read_text())
    assert data["config"]["instances"] == 2 and len(data["results"]) == 2
    assert data["provenance"]["versions"]["numpy"]


@pytest.mark.parametrize("args", [["--instances", "0"], ["--instances", "x"], ["--only", "nope"]])
def test_cli_bad_arguments_exit_2(args):
    """Bad values exit with status 2 and one clear line."""
    proc = subprocess.run([sys.executable, "-m", "theory", "check", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "error:" in proc.stderr


def test_unknown_check_name():
    with pytest.raises(ValueError, match="names: unknown checks"):
        check.run_checks(names=["nope"])
