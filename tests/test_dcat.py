"""`welfare-kg dcat`: a DCAT-AP 3 description that the official SEMIC shapes accept without
a single result (warnings included), with VoID figures that match the public export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, VOID, XSD

from conftest import BASE
from welfare_kg import dcat, export, resources, stats, store
from welfare_kg.cli import main

SHAPES_DIR = Path(__file__).resolve().parents[2] / "shared/external/dcat-ap/3.0.1/html-shacl"
# The DCAT-AP 3.0.1 split files (see the folder's README.txt): mandatory properties and
# literal ranges, class ranges, recommended properties (sh:Warning), deprecated terms.
SHAPE_FILES = ("shapes.ttl", "range.ttl", "shapes_recommended.ttl", "deprecateduris.ttl")
SHAPE_FILES_2_1_1 = ("shapes", "range", "shapes_recommended", "deprecateduris")
DATASET = URIRef(BASE + "dataset")
CATALOGUE = URIRef(BASE + "catalogue")


def shapes_missing(why: str) -> None:
    """Skip, with the reason, in a checkout without shared/ beside it; fail under CI, which has it."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def dcat_shapes() -> Graph:
    missing = [name for name in SHAPE_FILES if not (SHAPES_DIR / name).is_file()]
    if missing:
        shapes_missing(f"DCAT-AP 3.0.1 shapes not found in {SHAPES_DIR} ({', '.join(missing)})")
    shapes = Graph()
    for name in SHAPE_FILES:
        shapes.parse(SHAPES_DIR / name, format="turtle")
    return shapes


@pytest.fixture(scope="module")
def turtle(dataset) -> bytes:
    return dcat.description(dataset)


@pytest.fixture(scope="module")
def described(turtle) -> Graph:
    return Graph().parse(data=turtle, format="turtle")


@pytest.fixture(scope="module")
def public(dataset) -> Graph:
    """The public N-Triples export, parsed: what the VoID figures must describe."""
    data = export.serialize(export.named_graphs(store.oxigraph(dataset)), "nt", public=True)
    return Graph().parse(data=data, format="nt")


def test_description_conforms_to_dcat_ap_3_with_no_result_of_any_severity(described, dcat_shapes):
    from pyshacl import validate

    conforms, report, text = validate(described, shacl_graph=dcat_shapes, inference="none",
                                      allow_warnings=False)
    results = list(report.objects(None, SH.result))
    assert conforms, text
    assert results == [], text


def test_description_conforms_to_dcat_ap_2_1_1_too(described):
    """data.europa.eu's checker has long applied DCAT-AP 2.1.1, which took no gYearMonth dates."""
    from pyshacl import validate

    folder = SHAPES_DIR.parents[1] / "2.1.1"
    files = [folder / f"dcat-ap_2.1.1_shacl_{name}.ttl" for name in SHAPE_FILES_2_1_1]
    if not all(path.is_file() for path in files):
        shapes_missing(f"DCAT-AP 2.1.1 shapes not found in {folder}")
    shapes = Graph()
    for path in files:
        shapes.parse(path, format="turtle")
    conforms, report, text = validate(described, shacl_graph=shapes, inference="none", allow_warnings=False)
    assert conforms and list(report.objects(None, SH.result)) == [], text


def test_a_missing_title_is_caught_by_the_same_shapes(described, dcat_shapes):
    """The check has teeth: drop a mandatory property and the shapes object."""
    from pyshacl import validate

    broken = Graph()
    for triple in described:
        broken.add(triple)
    broken.remove((DATASET, DCTERMS.title, None))
    conforms, report, _ = validate(broken, shacl_graph=dcat_shapes, inference="none")
    assert not conforms
    assert (None, SH.resultPath, DCTERMS.title) in report


def test_void_figures_equal_counts_over_the_public_export(described, public):
    subjects = set(public.subjects())
    expected = {
        "triples": len(public),
        "entities": sum(1 for s in subjects if isinstance(s, URIRef) and str(s).startswith(BASE + "id/")),
        "classes": len(set(public.objects(None, RDF.type))),
        "properties": len(set(public.predicates())),
        "distinctSubjects": len(subjects),
        "distinctObjects": len(set(public.objects())),
    }
    found = {name: described.value(DATASET, VOID[name]) for name in expected}
    assert found == {name: Literal(value, datatype=XSD.integer) for name, value in expected.items()}
    assert described.value(DATASET, VOID.uriSpace) == Literal(BASE + "id/")
    assert described.value(DATASET, VOID.sparqlEndpoint) == URIRef(BASE + "sparql")


def test_void_vocabularies_cover_every_predicate_namespace(described, public):
    listed = {str(v) for v in described.objects(DATASET, VOID.vocabulary)}
    for predicate in set(public.predicates()):
        assert any(str(predicate).startswith(ns) for ns in listed), predicate
    assert BASE + "ontology/" in listed


def test_every_export_format_has_a_distribution_with_its_media_type(described):
    distributions = set(described.objects(DATASET, DCAT.distribution))
    for name, (suffix, media_type) in export.FORMATS.items():
        matches = [d for d in distributions
                   if str(described.value(d, DCAT.downloadURL)).endswith(f"/welfare-kg-public{suffix}")]
        assert len(matches) == 1, name
        (distribution,) = matches
        assert str(described.value(distribution, DCAT.mediaType)).endswith("/" + media_type)
        assert str(described.value(distribution, DCTERMS.format)).startswith(
            "http://publications.europa.eu/resource/authority/file-type/")
    service = described.value(CATALOGUE, DCAT.service)
    assert described.value(service, DCAT.endpointURL) == URIRef(BASE + "sparql")
    assert described.value(service, DCAT.servesDataset) == DATASET
    assert any(described.value(d, DCAT.accessService) == service for d in distributions)


def test_temporal_coverage_spans_the_projects_and_dates_come_from_the_ontology(described, graph):
    period = described.value(DATASET, DCTERMS.temporal)
    start = described.value(period, DCAT.startDate)
    end = described.value(period, DCAT.endDate)
    starts = {str(graph.value(p, DCAT.startDate)) for p in graph.objects(None, DCTERMS.temporal)}
    ends = {str(graph.value(p, DCAT.endDate)) for p in graph.objects(None, DCTERMS.temporal)}
    # the first and last day the projects' periods can mean, as xsd:date (DCAT-AP 2.1.1)
    assert start.datatype == end.datatype == XSD.date
    assert str(start)[:7] == min(starts - {"None"})[:7] and str(start).endswith("-01")
    assert str(end)[:7] == max(e[:7] for e in ends - {"None"}) == "2021-11" and str(end) == "2021-11-30"
    modified = graph.value(URIRef(BASE + "ontology"), DCTERMS.modified)
    issued = graph.value(URIRef(BASE + "ontology"), DCTERMS.issued)
    assert described.value(DATASET, DCTERMS.modified) == modified
    assert described.value(DATASET, DCTERMS.issued) == issued <= modified  # the first publication stays put
    assert set(described.objects(DATASET, DCTERMS.spatial)) == {
        URIRef("http://publications.europa.eu/resource/authority/country/POL"),
        URIRef("http://publications.europa.eu/resource/authority/country/SVK")}


def test_output_is_byte_identical_across_runs_and_hash_seeds(turtle, cache_dir):
    code = ("import sys; from pathlib import Path; from welfare_kg import dcat, store; "
            "sys.stdout.buffer.write(dcat.description(store.open_dataset(Path(sys.argv[1]))))")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", code, str(cache_dir)], env=env, capture_output=True,
                              check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == turtle


def test_cli_writes_the_description_atomically(cache_dir, tmp_path, turtle):
    target = tmp_path / "out" / "dataset.ttl"
    assert main(["--cache-dir", str(cache_dir), "dcat", "-o", str(target)]) == 0
    assert target.read_bytes() == turtle
    assert sorted(p.name for p in target.parent.iterdir()) == ["dataset.ttl"]  # no temporary left behind


def test_a_broken_or_missing_catalogue_template_is_one_line_naming_the_file(cache_dir, tmp_path, monkeypatch,
                                                                           capsys):
    """The template is edited by hand; a slip gave a traceback naming no file."""
    broken = tmp_path / "catalogue.ttl"
    lines = resources.dcat_template().read_text(encoding="utf-8").splitlines(keepends=True)
    lines[46] = " garbage!! " + lines[46]
    broken.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(resources, "dcat_template", lambda: broken)
    target = tmp_path / "dataset.ttl"
    assert main(["--cache-dir", str(cache_dir), "dcat", "-o", str(target)]) == 2
    assert capsys.readouterr().err.startswith(f"welfare-kg: {broken}:47:")
    monkeypatch.undo()
    monkeypatch.setattr(resources, "data_root", lambda: tmp_path / "elsewhere")
    assert main(["--cache-dir", str(cache_dir), "dcat", "-o", str(target)]) == 2
    assert capsys.readouterr().err == (f"welfare-kg: {tmp_path / 'elsewhere/metadata/catalogue.ttl'}: not found "
                                       "(the hand-written part of the DCAT-AP description)\n")
    assert not target.exists()


def test_the_description_is_kept_beside_the_store_until_the_code_changes(tmp_path, turtle, monkeypatch):
    def dcat_file() -> bytes:
        target = tmp_path / "dataset.ttl"
        assert main(["--cache-dir", str(tmp_path / "cache"), "dcat", "-o", str(target)]) == 0
        return target.read_bytes()

    assert dcat_file() == turtle
    (store_dir,) = (tmp_path / "cache").glob("store-*")
    assert (store_dir / f"description-{dcat.code_digest()}").read_bytes() == turtle
    computed = dcat.describe
    monkeypatch.setattr(dcat, "describe", lambda dataset: pytest.fail("described again"))
    assert dcat_file() == turtle, "the kept description"
    monkeypatch.setattr(dcat, "describe", computed)
    monkeypatch.setattr(dcat, "code_digest", lambda: "other-code")
    assert dcat_file() == turtle
    assert [p.name for p in store_dir.glob("description-*")] == ["description-other-code"], "the old one removed"


def test_the_code_digest_covers_the_template_and_the_package(monkeypatch, tmp_path):
    template = tmp_path / "catalogue.ttl"
    template.write_bytes(resources.dcat_template().read_bytes())
    monkeypatch.setattr(resources, "dcat_template", lambda: template)
    before = dcat.code_digest()
    template.write_bytes(template.read_bytes() + b"\n# a new line\n")
    assert dcat.code_digest() != before


@pytest.mark.parametrize("work", [dcat.description, stats.compute], ids=["dcat", "stats"])
def test_work_done_in_a_thread_leaves_no_query_result_for_another_thread_to_free(dataset, work):
    """The server describes its dataset in a thread. A query result read only in part stayed
    in a reference cycle, and Oxigraph's results may be freed only by the thread that made
    them: when another thread's garbage collection reached it, the server's log showed a
    traceback ("PyQuerySolutions is unsendable")."""
    import gc
    import threading

    reported = []
    hook = sys.unraisablehook
    sys.unraisablehook = reported.append
    gc.disable()  # whatever the thread leaves in cycles is collected below, by this thread
    try:
        thread = threading.Thread(target=work, args=(dataset,))
        thread.start()
        thread.join()
    finally:
        gc.enable()
        gc.collect()
        sys.unraisablehook = hook
    assert [str(report.exc_value) for report in reported] == []


def test_the_public_triples_leave_out_a_contact_person_whose_mark_was_forgotten():
    data = Graph()
    person, centre = URIRef(BASE + "id/person/someone"), URIRef(BASE + "id/organisation/centre")
    data.add((person, RDF.type, URIRef(BASE + "ontology/ContactPerson")))
    data.add((person, URIRef("https://schema.org/telephone"), Literal("(81) 000-00-00")))
    data.add((centre, URIRef(BASE + "ontology/contactPerson"), person))
    data.add((centre, DCTERMS.title, Literal("MOPS")))
    kept = list(data.query(dcat.PUBLIC_TRIPLES))
    assert [(s, p, o) for s, p, o in kept] == [(centre, DCTERMS.title, Literal("MOPS"))]


def test_the_dataset_names_its_ontology_and_update_frequency(described):
    """Portals' quality checks score both; the data follow the ontology and change on no schedule."""
    assert described.value(DATASET, DCTERMS.conformsTo) == URIRef(BASE + "ontology")
    assert (URIRef(BASE + "ontology"), RDF.type, DCTERMS.Standard) in described
    frequency = URIRef("http://publications.europa.eu/resource/authority/frequency/IRREG")
    assert described.value(DATASET, DCTERMS.accrualPeriodicity) == frequency
    assert (frequency, RDF.type, DCTERMS.Frequency) in described


def test_modified_is_not_older_than_the_last_commit_that_changed_the_data(graph):
    """Harvesters fetch again when dcterms:modified moves; data edited without moving it stayed stale."""
    root = resources.data_root()
    try:
        shallow = subprocess.run(["git", "-C", str(root), "rev-parse", "--is-shallow-repository"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        # the author's date: a rebase or a merge leaves it, and it is the day the change was made
        done = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%as", "--", "graph", "ontology",
                               "metadata"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{root} is not a git checkout")
    if shallow == "true":  # its oldest commit counts as changing every file
        pytest.skip("a shallow clone does not know which commit last changed the data")
    last_change = done.stdout.strip()
    if not last_change:
        pytest.skip("git knows no commit of the data (a shallow or foreign checkout)")
    modified = str(graph.value(URIRef(BASE + "ontology"), DCTERMS.modified))
    assert modified >= last_change, (f"the data last changed on {last_change}: set dcterms:modified in "
                                     f"ontology/welfare.ttl to that day (see graph/CONVENTIONS.md)")


@pytest.mark.parametrize("text, datatype, bounds", [
    ("2021", XSD.gYear, ("2021-01-01", "2021-12-31")), ("2021Z", XSD.gYear, ("2021-01-01", "2021-12-31")),
    ("2020-02", XSD.gYearMonth, ("2020-02-01", "2020-02-29")),
    ("2021-11+01:00", XSD.gYearMonth, ("2021-11-01", "2021-11-30")),
    ("2006-05-04Z", XSD.date, ("2006-05-04", "2006-05-04")),
])
def test_a_period_bound_is_the_first_and_last_day_its_date_can_mean(text, datatype, bounds):
    assert dcat._bounds(Literal(text, datatype=datatype)) == bounds
