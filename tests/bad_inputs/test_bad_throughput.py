"""``freqsens throughput``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import groups, run_table

CASES = [
    (["vgg"], "models", "{w}/afile"),
    (["convactually-dx"], "models", "{w}/afile"),
    (["--batch", "0"], "--batch", "{w}/afile"),
    (["--device", "bogus"], "device", "{w}/afile"),
    (["--out", "{w}/afile/t.json"], "--out", "{w}/afile"),
    (["--out", "/dev/null"], "--out", "/dev/null"),
    (["--out", "{w}/userfile.json"], "--overwrite", "{w}/userfile.json"),
    (["--device", "meta"], "device", "{w}/afile"),
    (["linearcnn-d2", "--batch", "100000000", "--out", "{w}/t1.json"], "--batch 100000000", "{w}/t1.json"),
]
HOSTILE_FROM = 5   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_throughput_exit_2_with_one_line(group, world):
    run_table("throughput", CASES, HOSTILE_FROM, group, world)
