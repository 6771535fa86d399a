"""``freqsens train``'s rows of the bad-input table (runner and world: ``tests/badinput_table.py``)."""
import pytest

from badinput_table import SMALL, groups, run_table

CASES = [
    (["--bogus", "1", "--out", "{w}/o1"], "--bogus", "{w}/o1"),
    (["--depth", "abc", "--out", "{w}/o1"], "--depth", "{w}/o1"),
    (["--depth", "0", "--out", "{w}/o1"], "--depth", "{w}/o1"),
    (["--width", "-3", "--out", "{w}/o1"], "--width", "{w}/o1"),
    (["--batch-size", "0", "--out", "{w}/o1"], "--batch-size", "{w}/o1"),
    (["--max-epochs", "0", "--out", "{w}/o1"], "--max-epochs", "{w}/o1"),
    (["--seed", "-1", "--out", "{w}/o1"], "--seed", "{w}/o1"),
    (["--lr", "nan", "--out", "{w}/o1"], "--lr", "{w}/o1"),
    (["--lr", "0", "--out", "{w}/o1"], "--lr", "{w}/o1"),
    (["--weight-decay", "-1", "--out", "{w}/o1"], "--weight-decay", "{w}/o1"),
    (["--lr-drops", "3,2", "--out", "{w}/o1"], "--lr-drops", "{w}/o1"),
    (["--lr-drops", "x", "--out", "{w}/o1"], "--lr-drops", "{w}/o1"),
    (["--optimizer", "rmsprop", "--out", "{w}/o1"], "--optimizer", "{w}/o1"),
    (["--model", "vgg", "--out", "{w}/o1"], "model", "{w}/o1"),
    (["--preset", "huge", "--out", "{w}/o1"], "--preset", "{w}/o1"),
    (["--dataset", "imagenet", "--out", "{w}/o1"], "dataset", "{w}/o1"),
    (["--dataset", "synthetic:grf?alpha=abc", "--out", "{w}/o1"], "alpha", "{w}/o1"),
    (["--dataset", "embedded?n_train=-1", "--out", "{w}/o1"], "n_train", "{w}/o1"),
    (["--dataset", "embedded?foo=1", "--out", "{w}/o1"], "foo", "{w}/o1"),
    (["--dataset", SMALL, "--filter", "highpass:1.5", "--out", "{w}/o1"], "filter", "{w}/o1"),
    (["--dataset", SMALL, "--filter", "sharpen", "--out", "{w}/o1"], "filter", "{w}/o1"),
    (["--dataset", SMALL, "--device", "bogus", "--out", "{w}/o1"], "device", "{w}/o1"),
    (["--dataset", SMALL, "--out", "{w}/afile"], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--out", "{w}/afile/sub"], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--resume", "--out", "{w}/missing"], "--resume", "{w}/missing"),
    (["--dataset", SMALL, "--depth", "2", "--width", "2", "--max-epochs", "1", "--batch-size", "20",
      "--weight-decay", "0.5", "--resume", "--out", "{w}/run"], "different config", "{w}/run"),
    (["--dataset", "cifar10", "--data-root", "{w}/cifar_missing", "--out", "{w}/o1"], "data_batch_2", "{w}/o1"),
    (["--dataset", "cifar10", "--data-root", "{w}/cifar_truncated", "--out", "{w}/o1"], "data_batch_1", "{w}/o1"),
    (["--dataset", "cifar10", "--data-root", "{w}/cifar_shape", "--out", "{w}/o1"], "CIFAR-10 file", "{w}/o1"),
    (["--dataset", "cifar10", "--data-root", "{w}/nowhere", "--out", "{w}/o1"], "CIFAR-10 not found", "{w}/o1"),
    # issue 25: validation before any side effect, resource bombs, devices, user folders, corrupt state
    (["--dataset", SMALL, "--seed", "100000000000000", "--out", "{w}/o1"], "--seed", "{w}/o1"),
    (["--dataset", SMALL, "--seed", str(2 ** 64), "--out", "{w}/o1"], "--seed", "{w}/o1"),
    (["--dataset", SMALL, "--device", "cpu:7", "--out", "{w}/o1"], "device", "{w}/o1"),
    (["--dataset", SMALL, "--device", "meta", "--out", "{w}/o1"], "device", "{w}/o1"),
    (["--dataset", SMALL, "--device", "mps", "--out", "{w}/o1"], "device", "{w}/o1"),
    (["--dataset", SMALL, "--device", "cuda:5", "--out", "{w}/o1"], "device", "{w}/o1"),
    (["--dataset", SMALL, "--lr", "1e300", "--out", "{w}/o1"], "--lr", "{w}/o1"),
    (["--dataset", SMALL, "--depth", "4", "--width", "100000", "--out", "{w}/o1"], "--width 100000", "{w}/o1"),
    (["--dataset", SMALL, "--depth", "100000", "--out", "{w}/o1"], "--depth 100000", "{w}/o1"),
    (["--dataset", "synthetic:grf?H=100000", "--out", "{w}/o1"], "H=100000", "{w}/o1"),
    (["--dataset", "synthetic:grf?n_train=100000000", "--out", "{w}/o1"], "n_train", "{w}/o1"),
    (["--dataset", "synthetic:grf?seed=-1", "--out", "{w}/o1"], "seed", "{w}/o1"),
    (["--dataset", SMALL, "--out", "{w}/userdir"], "--overwrite", "{w}/userdir"),
    (["--dataset", SMALL, "--out", ""], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--out", "/"], "--out", "{w}/afile"),
    (["--dataset", SMALL, "--depth", "2", "--width", "2", "--max-epochs", "1", "--batch-size", "20", "--resume",
      "--out", "{w}/noopt"], "optimizer", "{w}/noopt"),
]
HOSTILE_FROM = 30   # cases from here on are the hostile ones (slow)


@pytest.mark.parametrize("group", groups(CASES, HOSTILE_FROM))
def test_bad_train_exit_2_with_one_line(group, world):
    run_table("train", CASES, HOSTILE_FROM, group, world)
