"""How many cores this process may use: its CPU set, which ``taskset`` or a container's
cpuset can make smaller than the machine's count (``os.cpu_count``), so that work spread
over one thread or process per core never crowds more onto fewer cores."""

from __future__ import annotations

import os


def usable() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
