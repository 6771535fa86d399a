"""``freqsens sensitivity``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["{w}/missing"], "run_dir", "{w}/missing"),
    (["{w}/run", "--max-images", "1"], "--max-images", "{w}/run"),
    (["{w}/run", "--batch-size", "0"], "--batch-size", "{w}/run"),
    (["{w}/run", "--split", "bogus"], "--split", "{w}/run"),
    (["{w}/run", "--device", "bogus"], "device", "{w}/run"),
    (["{w}/badrun"], "best.pt", "{w}/badrun"),
    (["{w}/run", "--device", "meta"], "device", "{w}/run"),
    (["{w}/userdir"], "run_dir", "{w}/userdir"),
]
HOSTILE_FROM = 6   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_sensitivity_exit_2_with_one_line(group, world):
    run_table("sensitivity", CASES, HOSTILE_FROM, group, world)
