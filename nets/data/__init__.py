"""Datasets: a registry of named loaders, the ``ImageData`` container, normalisation and filters.

    from nets.data import load_dataset, apply_filter
    data = load_dataset("synthetic:grf?alpha=1.5&n_train=2000")

Registered names (each one module in this folder plus one line below):

* ``embedded`` - natural-photograph patches that ship inside scikit-image / scikit-learn (``embedded.py``);
* ``cifar10`` - the python-pickle CIFAR-10 release from ``--data-root`` or ``$FREQSENS_DATA`` (``cifar10.py``);
* ``synthetic:grf`` / ``synthetic:deadleaves`` with options, e.g. ``synthetic:grf?alpha=1.5&n_train=2000``
  (``synthetic.py``);
* ``folder:PATH`` (one subfolder per class, PNG/JPEG, ``?size=224``) and ``npz:PATH`` (arrays x, y): a
  user's own images (``folder.py``).

Spectral filters (``filters.apply_filter``) turn any of them into a new ``ImageData``. To add a dataset,
write a module with a function returning ``ImageData`` and register a ``DatasetSpec`` (see docs/extending.md).
"""
from nets.data.base import DataError, ImageData, cache_dir, cached, channel_stats, check_images, normalise
from nets.data.cifar10 import cifar10
from nets.data.embedded import embedded
from nets.data.folder import folder, npz_file
from nets.data.filters import FILTERS, apply_filter, filter_gain, parse_filter
from nets.data.registry import (DatasetSpec, dataset_names, load_dataset, parse_name, register_dataset,
                                unregister_dataset)
from nets.data.synthetic import synthetic

register_dataset(DatasetSpec("embedded", embedded, "32x32 patches of 10 bundled photographs (label = photograph)"))
register_dataset(DatasetSpec("cifar10", cifar10, "CIFAR-10 python release from --data-root or $FREQSENS_DATA"))
register_dataset(DatasetSpec("synthetic:grf", synthetic, "Gaussian random fields, power ~ 1/|k|^alpha", {"kind": "grf"}))
register_dataset(DatasetSpec("synthetic:deadleaves", synthetic, "dead-leaves images (Lee, Mumford & Huang 2001)",
                             {"kind": "deadleaves"}))
register_dataset(DatasetSpec("folder", folder, "your images: one subfolder per class, PNG/JPEG (folder:PATH)",
                             takes_path=True))
register_dataset(DatasetSpec("npz", npz_file, "your arrays: x (N, C, H, W), y (N,) in an .npz (npz:PATH)",
                             takes_path=True))


def load(spec: str, data_root=None, seed: int = 0, filter: str | None = None,
         limits: tuple[int | None, int | None, int | None] | None = None) -> ImageData:
    """``load_dataset``, then the first ``limits = (n_train, n_val, n_test)`` images of each split if given
    (``ImageData.head``), then, if given, ``apply_filter``: the one door every CLI and experiment uses."""
    data = load_dataset(spec, data_root=data_root, seed=seed)
    if limits is not None:
        data = data.head(*limits)
    return apply_filter(data, filter) if filter else data


__all__ = ["DataError", "DatasetSpec", "ImageData", "FILTERS", "apply_filter", "cache_dir", "cached", "channel_stats",
           "check_images", "cifar10", "dataset_names", "embedded", "folder", "npz_file", "filter_gain", "load", "load_dataset",
           "normalise", "parse_filter", "parse_name", "register_dataset", "synthetic", "unregister_dataset"]
