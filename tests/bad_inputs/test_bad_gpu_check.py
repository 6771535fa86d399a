"""``freqsens gpu-check``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["--width", "-3", "--out", "{w}/g1"], "--width", "{w}/g1"),
    (["--budget", "10", "--out", "{w}/g1"], "--budget", "{w}/g1"),
    (["--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
    (["--device", "meta", "--out", "{w}/g1"], "device", "{w}/g1"),
]
HOSTILE_FROM = 0   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_gpu_check_exit_2_with_one_line(group, world):
    run_table("gpu-check", CASES, HOSTILE_FROM, group, world)
