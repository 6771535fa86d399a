"""``freqsens conjecture``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["--L", "0", "--out", "{w}/c1"], "--L", "{w}/c1"),
    (["--L", "a,b", "--out", "{w}/c1"], "--L", "{w}/c1"),
    (["--time", "-1", "--out", "{w}/c1"], "--time", "{w}/c1"),
    (["--time", "nan", "--out", "{w}/c1"], "--time", "{w}/c1"),
    (["--samples", "0", "--out", "{w}/c1"], "--samples", "{w}/c1"),
    (["--regime", "bogus", "--out", "{w}/c1"], "--regime", "{w}/c1"),
    (["--adversarial-every", "-1", "--out", "{w}/c1"], "--adversarial-every", "{w}/c1"),
    (["--seed", "-1", "--out", "{w}/c1"], "--seed", "{w}/c1"),
    (["--samples", "8", "--out", "{w}/afile"], "--out", "{w}/afile"),
    (["--samples", "8", "--L", "3", "--resume", "--out", "{w}/conj"], "different config", "{w}/conj"),
    (["--samples", "8", "--out", "{w}/conj"], "--resume", "{w}/conj"),
    (["--samples", "8", "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
    (["--samples", "8", "--out", "/"], "--out", "{w}/afile"),
    (["--samples", "8", "--max-dim", "100000", "--out", "{w}/c1"], "--max-dim", "{w}/c1"),
    (["--samples", "8", "--chunk", "1000000000", "--out", "{w}/c1"], "--chunk", "{w}/c1"),
    (["--samples", "8", "--scheduler", "tcp://127.0.0.1:1", "--out", "{w}/c1"], "--scheduler", "{w}/c1"),
    (["--samples", "8", "--resume", "--out", "{w}/conjkeys"], "--resume", "{w}/conjkeys"),
    (["--samples", "8", "--resume", "--out", "{w}/conjlist"], "--resume", "{w}/conjlist"),
]
HOSTILE_FROM = 11   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_conjecture_exit_2_with_one_line(group, world):
    run_table("conjecture", CASES, HOSTILE_FROM, group, world)
