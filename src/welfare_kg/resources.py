"""The one place that knows where the data files live.

An installed wheel carries the data folders inside the package (``welfare_kg/data/``);
a source checkout or editable install finds them at the repository root.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import UsageError

DATA_FOLDERS = ("ontology", "graph", "queries", "viz", "metadata")


def data_root() -> Path:
    packaged = Path(__file__).parent / "data"
    if (packaged / "ontology").is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def ontology_dir() -> Path:
    return data_root() / "ontology"


def graph_dir() -> Path:
    return data_root() / "graph"


def queries_dir() -> Path:
    return data_root() / "queries"


def viz_dir() -> Path:
    return data_root() / "viz"


def dcat_template() -> Path:
    """The hand-owned part of the DCAT-AP description (not loaded into the store)."""
    path = data_root() / "metadata" / "catalogue.ttl"
    if not path.is_file():  # the one data file edited by hand outside graph/, so the one gone astray
        raise UsageError(f"{path}: not found (the hand-written part of the DCAT-AP description)")
    return path


def templates_dir() -> Path:
    """Jinja2 templates of the pages the package writes or serves (inside the package)."""
    return Path(__file__).parent / "templates"


@functools.cache
def html_template(name: str):
    """A page template of :func:`templates_dir`, HTML-escaped, block tags taking no line of their own."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(name)


def shapes_file() -> Path:
    return ontology_dir() / "shapes.ttl"


def ontology_files() -> list[Path]:
    """OWL ontology and SKOS schemes; the SHACL shapes are not data and stay out."""
    return sorted(p for p in ontology_dir().glob("*.ttl") if p != shapes_file())


def graph_files() -> list[Path]:
    return sorted(graph_dir().glob("*.ttl"))


def source_files() -> list[Path]:
    """Every Turtle file that goes into the store, ontology first."""
    return ontology_files() + graph_files()


def data_files(path: Path) -> list[Path]:
    """Extra data given with ``--data``: a folder's ``*.nt`` and ``*.ttl`` files, or the one file."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".nt", ".ttl") and p.is_file())
    return [path]


def query_files() -> list[Path]:
    return sorted(queries_dir().glob("*.rq"))


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "welfare-kg"


def yasgui_dir() -> Path | None:
    """YASGUI's browser build, installed from the npm registry into ``web/node_modules``
    (``npm ci --prefix web``); None when it was not installed (the query page then falls back)."""
    build = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "@zazuko" / "yasgui" / "build"
    if (build / "yasgui.min.js").is_file() and (build / "yasgui.min.css").is_file():
        return build
    return None
