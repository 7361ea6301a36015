# Quick start on a fresh machine with Python 3.11: `make run`, then `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DIST   := dist
# The full export holds personal data: kept out of dist/, which is what gets published.
PRIVATE := private
KG     := $(BIN)/welfare-kg

WEB    := web/node_modules/.package-lock.json

.PHONY: run test build validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The SPARQL editor (YASGUI) for the query page at /, from the npm registry, served locally.
$(WEB): web/package.json web/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix web --ignore-scripts --no-audit --no-fund; \
	else echo "npm not found: the query page at / falls back to a plain list of the catalogue"; fi

run: $(STAMP) $(WEB)
	$(KG) build
	$(KG) validate
	$(KG) queries --run -o $(DIST)/queries
	rm -f $(DIST)/welfare-kg.ttl  # where the full export went before private/: never beside what is published
	$(KG) export --format turtle -o $(PRIVATE)/welfare-kg.ttl
	$(KG) export --format turtle --public -o $(DIST)/welfare-kg-public.ttl
	$(KG) export --format nt --public -o $(DIST)/welfare-kg-public.nt
	$(KG) export --format jsonld --public -o $(DIST)/welfare-kg-public.jsonld
	$(KG) export --format xml --public -o $(DIST)/welfare-kg-public.rdf
	$(KG) export --format trig --public -o $(DIST)/welfare-kg-public.trig
	$(KG) stats
	$(KG) dcat -o $(DIST)/dataset.ttl
	$(KG) docs -o $(DIST)/docs
	for view in overview partnerships methods funding timeline; do \
	    $(KG) viz $$view -o $(DIST)/$$view.html || exit 1; done
	$(KG) viz overview --format png -o $(DIST)/overview-static.png
	if [ -x /usr/bin/chromium ]; then \
	    $(BIN)/python benchmarks/viz_pages.py --screenshot overview $(DIST)/overview.png --html $(DIST)/overview.html; \
	else echo "no /usr/bin/chromium: skipped the browser screenshot $(DIST)/overview.png"; fi
	$(KG) network overview --format graphml -o $(DIST)/overview.graphml
	@echo
	@echo "Done. Query results: $(DIST)/queries/*.csv"
	@echo "      Full export (with personal data, not for publishing): $(PRIVATE)/welfare-kg.ttl"
	@echo "      Public exports: $(DIST)/welfare-kg-public.{ttl,nt,jsonld,rdf,trig}"
	@echo "      Network pictures (open in a browser, work offline): $(DIST)/{overview,partnerships,methods,funding,timeline}.html"
	@echo "      Overview page: $(DIST)/overview.html; its screenshot: $(DIST)/overview.png; static picture: $(DIST)/overview-static.png"
	@echo "      For Gephi/Cytoscape: $(DIST)/overview.graphml"
	@echo "      DCAT-AP description: $(DIST)/dataset.ttl; ontology docs: $(DIST)/docs/index.html"
	@echo "      Serve it: $(KG) serve   (SPARQL at http://127.0.0.1:8000/sparql)"
	@echo "      Try: $(KG) query cq02-partners-of --param org=organisation:mops-gdynia"

test: $(STAMP) $(WEB)
	$(BIN)/python -m pytest

clean:
	rm -rf $(DIST) $(PRIVATE) build web/node_modules
