"""The benchmark at a tiny size: both sides run, the JSON has the specified shape."""

from __future__ import annotations

import json
import os
import re

import pytest

from welfare_kg import bench, queries
from welfare_kg.cli import main


def test_bench_writes_json_with_one_row_per_catalogue_query(tmp_path, monkeypatch, capsys):
    captured = {}
    real_run = bench.run

    def quick_run(**kwargs):  # a short per-query cap: rdflib's cq02 is very slow even here
        kwargs.update(cap=3.0, validate_cap=60.0)
        captured["result"] = real_run(**kwargs)
        return captured["result"]

    monkeypatch.setattr(bench, "run", quick_run)
    servers = []
    stop = bench._stop
    monkeypatch.setattr(bench, "_stop", lambda server: servers.append(server.pid) or stop(server))
    target = tmp_path / "bench.json"
    assert main(["bench", "--projects", "20", "--repeat", "1", "--json", str(target)]) == 0
    result = json.loads(target.read_text(encoding="utf-8"))
    assert result["triples"] > 0
    tasks = [row["task"] for row in result["rows"]]
    names = [item.name for item in queries.catalogue()]
    assert all(name in tasks for name in names)
    assert {"build", "load-in-memory", "catalogue", "validate", "validate-changed", "export-turtle",
            "second-query-process", "second-process-server"} <= set(tasks)
    for row in result["rows"]:
        assert {"task", "ours_s", "rdflib_s", "ratio"} <= set(row)
    ours = {row["task"]: row["ours_s"] for row in result["rows"]}
    assert all(ours[name] is not None for name in names)
    assert result["peak_rss_mb"]["ours"] > 0
    rows = {row["task"]: row for row in result["rows"]}
    assert rows["validate"]["ours_peak_rss_mb"] > 0 and result["conforms"]["ours"] is True
    rechecked = re.search(r"the (\d+) re-checked resources", rows["validate-changed"]["summary"])
    assert rechecked and 1 <= int(rechecked.group(1)) < 20, "the changed project and what reaches it, not all 20"
    assert "cq01-projects" in capsys.readouterr().out
    served = rows["second-process-server"]
    assert served["ours_s"] > 0 and served["rdflib_s"] is None and served["ratio"] is None
    assert "serve --in-memory" in served["note"]
    assert len(servers) == 1
    with pytest.raises(ProcessLookupError):  # serve and its query workers (its process group) are gone
        os.killpg(servers[0], 0)
