"""``freqsens bench``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["bogus"], "NAME", "{w}/afile"),
    (["--repeats", "0"], "--repeats", "{w}/afile"),
    (["--min-time", "nan"], "--min-time", "{w}/afile"),
    (["--min-time", "0"], "--min-time", "{w}/afile"),
    (["--threads", "x"], "--threads", "{w}/afile"),
    (["--small", "--out", "{w}/afile/r.json"], "--out", "{w}/afile"),
    (["--small", "--out", "/dev/full"], "--out", "/dev/full"),
    (["--small", "--out", "/dev/null"], "--out", "/dev/null"),
    (["--small", "--out", "{w}"], "--out", "{w}/afile"),
    (["--small", "--out", "{w}/userfile.json"], "--overwrite", "{w}/userfile.json"),
]
HOSTILE_FROM = 6   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_bench_exit_2_with_one_line(group, world):
    run_table("bench", CASES, HOSTILE_FROM, group, world)
