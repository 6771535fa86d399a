"""``freqsens report``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    ([], "RESULTS_DIR", "{w}/afile"),
    (["{w}/missing"], "RESULTS_DIR", "{w}/afile"),
    (["{w}/userdir"], "RESULTS_DIR", "{w}/userdir"),
    (["{w}/badexp"], "depth.json", "{w}/badexp"),
]
HOSTILE_FROM = 2   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_report_exit_2_with_one_line(group, world):
    run_table("report", CASES, HOSTILE_FROM, group, world)
