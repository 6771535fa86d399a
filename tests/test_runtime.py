"""nets.runtime: the allocator setting is applied (or says why not), can be turned off, and rejects bad threads."""
import subprocess
import sys
from pathlib import Path

import pytest


def _run(env_value):
    code = ("from nets.runtime import configure, STATE; import torch; r = configure(1); "
            "print(r['allocator'], torch.get_num_threads(), STATE['allocator'] == r['allocator'])")
    env = {"PATH": "", "FREQSENS_MALLOC": env_value}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          cwd=Path(__file__).resolve().parents[1]).stdout


def test_allocator_setting_and_opt_out():
    """In a fresh process: tuned on Linux glibc (the CI machine), the opt-out leaves glibc's defaults."""
    tuned = _run("")
    assert tuned.split()[-2:] == ["1", "True"]
    if sys.platform.startswith("linux"):
        assert tuned.startswith("glibc mallopt"), tuned
    assert _run("default").startswith("default (FREQSENS_MALLOC=default)")


def test_bad_threads():
    from nets.runtime import configure
    with pytest.raises(ValueError, match="threads"):
        configure(0)
