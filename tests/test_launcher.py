"""The ``welfare-kg`` command restarts under jemalloc where it is installed (.ci/run installs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from welfare_kg.launcher import jemalloc_path, restart_environment

COMMAND = Path(sys.executable).parent / "welfare-kg"


def test_restart_preloads_the_library():
    assert restart_environment({"PATH": "/bin"}, "/lib/libjemalloc.so.2") == {
        "PATH": "/bin", "LD_PRELOAD": "/lib/libjemalloc.so.2"}


@pytest.mark.parametrize("environ, library", [
    ({"PATH": "/bin"}, None),
    ({"LD_PRELOAD": "/opt/mine.so"}, "/lib/libjemalloc.so.2"),
    ({"WELFARE_KG_ALLOCATOR": "system"}, "/lib/libjemalloc.so.2"),
])
def test_no_restart_without_the_library_or_against_the_users_choice(environ, library):
    assert restart_environment(environ, library) is None


def _loaded_libraries(extra: dict[str, str]) -> tuple[str, str]:
    """What the installed command prints, and the dynamic loader's log of the libraries it loaded."""
    environ = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "WELFARE_KG_ALLOCATOR")}
    done = subprocess.run([str(COMMAND), "--version"], env={**environ, "LD_DEBUG": "libs", **extra},
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout, done.stderr


def test_the_installed_command_runs_under_jemalloc():
    if jemalloc_path() is None:
        if os.environ.get("CI"):
            pytest.fail("libjemalloc2 is missing; .ci/run installs it")
        pytest.skip("libjemalloc2 is not installed (Debian: apt install libjemalloc2)")
    printed, loader_log = _loaded_libraries({})
    assert printed.startswith("welfare-kg ")
    assert "libjemalloc.so.2" in loader_log
    printed, loader_log = _loaded_libraries({"WELFARE_KG_ALLOCATOR": "system"})
    assert printed.startswith("welfare-kg ")
    assert "libjemalloc.so.2" not in loader_log
