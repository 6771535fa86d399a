"""``freqsens experiments``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import SMALL, groups, run_table

CASES = [
    (["nope", "--out", "{w}/e1"], "name", "{w}/e1"),
    (["depth", "--bogus", "--out", "{w}/e1"], "--bogus", "{w}/e1"),
    (["depth", "--seeds", "0", "--out", "{w}/e1"], "--seeds", "{w}/e1"),
    (["depth", "--workers", "0", "--out", "{w}/e1"], "--workers", "{w}/e1"),
    (["depth", "--preset", "huge", "--out", "{w}/e1"], "--preset", "{w}/e1"),
    (["depth", "--dataset", "imagenet", "--out", "{w}/e1"], "dataset", "{w}/e1"),
    (["depth", "--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/e1"], "alpha", "{w}/e1"),
    (["depth", "--dataset", "embedded?n_train=-1", "--out", "{w}/e1"], "n_train", "{w}/e1"),
    (["depth", "--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
    (["depth", "--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
    (["depth", "--dataset", "cifar10", "--data-root", "{w}/cifar_truncated", "--out", "{w}/e1"], "data_batch_1",
     "{w}/e1"),
    (["depth", "--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
    (["depth", "--dataset", SMALL, "--out", ""], "--out", "{w}/afile"),
    (["depth", "--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
    (["depth", "--dataset", SMALL, "--scheduler", "tcp://127.0.0.1:1", "--out", "{w}/e1"], "--scheduler", "{w}/e1"),
    (["depth", "--dataset", SMALL, "--scheduler", "not an address", "--out", "{w}/e1"], "--scheduler", "{w}/e1"),
    (["depth", "--dataset", SMALL, "--device", "meta", "--out", "{w}/e1"], "device", "{w}/e1"),
]
HOSTILE_FROM = 11   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_experiments_exit_2_with_one_line(group, world):
    run_table("experiments", CASES, HOSTILE_FROM, group, world)
