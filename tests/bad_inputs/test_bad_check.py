"""``freqsens check``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["--instances", "0"], "--instances", "{w}/afile"),
    (["--only", "bogus"], "--only", "{w}/afile"),
    (["--seed", "-1"], "--seed", "{w}/afile"),
    (["--json", "{w}/afile/sub.json", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
    (["--json", "/dev/full", "--only", "dft-dense", "--instances", "1"], "--json", "/dev/full"),
    (["--json", "/dev/null", "--only", "dft-dense", "--instances", "1"], "--json", "/dev/null"),
    (["--json", "{w}", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
    (["--json", "{w}/userfile.json", "--only", "dft-dense", "--instances", "1"], "--overwrite", "{w}/userfile.json"),
    (["--json", "", "--only", "dft-dense", "--instances", "1"], "--json", "{w}/afile"),
]
HOSTILE_FROM = 4   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_check_exit_2_with_one_line(group, world):
    run_table("check", CASES, HOSTILE_FROM, group, world)
