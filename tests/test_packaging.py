"""The wheel carries the data folders and works outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from conftest import TESTS_DIR

REPO = TESTS_DIR.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(REPO)], check=True, capture_output=True)
    (path,) = out.glob("welfare_kg-*.whl")
    return path


def test_wheel_contains_the_data_folders(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("welfare_kg/data/ontology/welfare.ttl", "welfare_kg/data/ontology/shapes.ttl",
                     "welfare_kg/data/graph/shared.ttl", "welfare_kg/data/graph/000_b867f87ad8e13151.ttl",
                     "welfare_kg/data/queries/cq01-projects.rq", "welfare_kg/cli.py"):
        assert expected in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_unpacked_wheel_answers_queries_outside_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    code = ("import welfare_kg.resources as r, sys; print(r.data_root()); "
            "from welfare_kg.cli import main; sys.exit(main(['--cache-dir', sys.argv[1], "
            "'query', 'cq11-sources', '--format', 'csv']))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "cache")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    root, *rows = done.stdout.splitlines()
    assert root == str(site / "welfare_kg" / "data")
    assert rows[0] == "project,source" and len(rows) == 6
