"""``freqsens stats``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import SMALL, groups, run_table

CASES = [
    (["--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/s1"], "alpha", "{w}/s1"),
    (["--dataset", "embedded?n_train=-1", "--out", "{w}/s1"], "n_train", "{w}/s1"),
    (["--dataset", "embedded?foo=1", "--out", "{w}/s1"], "foo", "{w}/s1"),
    (["--dataset", "imagenet", "--out", "{w}/s1"], "dataset", "{w}/s1"),
    (["--dataset", SMALL, "--filter", "highpass:1.5", "--out", "{w}/s1"], "filter", "{w}/s1"),
    (["--dataset", SMALL, "--filter", "bandpass:0.5,0.2", "--out", "{w}/s1"], "filter", "{w}/s1"),
    (["--dataset", SMALL, "--max-images", "1", "--out", "{w}/s1"], "--max-images", "{w}/s1"),
    (["--dataset", SMALL, "--split", "bogus", "--out", "{w}/s1"], "--split", "{w}/s1"),
    (["--dataset", SMALL, "--seed", "-1", "--out", "{w}/s1"], "--seed", "{w}/s1"),
    (["--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
    (["--dataset", "cifar10", "--data-root", "{w}/cifar_missing", "--out", "{w}/s1"], "data_batch_2", "{w}/s1"),
    (["--dataset", "cifar10", "--data-root", "{w}/cifar_shape", "--out", "{w}/s1"], "CIFAR-10 file", "{w}/s1"),
    (["--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
    (["--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--seed", str(2 ** 64), "--out", "{w}/s1"], "--seed", "{w}/s1"),
    (["--dataset", "synthetic:grf?n_train=40&n_val=10&n_test=10&H=128&W=128", "--out", "{w}/s1"], "--no-covariance",
     "{w}/s1"),
    # issue 34: flat images (no variance to fit) and a split of one image
    (["--dataset", "folder:{w}/imgs", "--out", "{w}/s1"], "--dataset", "{w}/s1"),
    (["--dataset", "npz:{w}/oneval.npz", "--split", "val", "--out", "{w}/s1"], "--split val", "{w}/s1"),
]
HOSTILE_FROM = 13   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_stats_exit_2_with_one_line(group, world):
    run_table("stats", CASES, HOSTILE_FROM, group, world)
