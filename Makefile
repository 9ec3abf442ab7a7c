# garmle: `make demo` runs the demo, `make test` runs the whole test suite.
# Both create .venv and install everything they need on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
GARMLE := $(VENV)/bin/garmle
MIRROR ?= $(abspath $(if $(GARMLE_GUIDELINE_MIRROR),$(GARMLE_GUIDELINE_MIRROR),../shared/data))
DEMO_INDEX ?= index/demo
DEMO_PATIENT ?= garmle/data/samples/hypertension-diabetes-ckd.json
DEMO_CODES ?= E03,E08-E13,E66,E78,I10-I16,I20-I25,I48,I50,J44-J45,N18,F32-F33,R73
FULL_INDEX ?= index/full

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test lint typecheck unit bench eval eval-full clean browser-deps

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch first: without it, a bare `torch` requirement pulls a multi-GB CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(GARMLE) --index $(DEMO_INDEX) --mirror $(MIRROR) index add demo icd10cm:$(DEMO_CODES)
	$(GARMLE) --index $(DEMO_INDEX) recommend $(DEMO_PATIENT) --format text

lint: install
	$(VENV)/bin/ruff check garmle ui tests
	$(VENV)/bin/ruff format --check garmle ui tests

typecheck: install
	$(VENV)/bin/mypy

# Debian's Chromium and ChromeDriver for the dashboard's end-to-end browser test.
browser-deps:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

unit: install browser-deps
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules garmle
	GARMLE_GUIDELINE_MIRROR=$(MIRROR) $(PY) -m pytest

test: lint typecheck unit

# Reproduces the README's results tables: the demo index, then garmle against every baseline on the
# development cases and on the held-out cases.
eval: demo
	$(GARMLE) --index $(DEMO_INDEX) --mirror $(MIRROR) eval eval/cases/dev.jsonl --report out/eval --table
	$(GARMLE) --index $(DEMO_INDEX) --mirror $(MIRROR) eval eval/cases/test.jsonl --report out/eval-test --table

# The second to thirteenth held-out sets need guidelines beyond the demo subset: every NGC summary (about 56k
# chunks: at ~30 chunks/s on 2 CPU cores the first build takes about half an hour). The catalogue is left
# out: its entries are never ranked, and the whole of it would more than double the build.
eval-full: install
	test -f $(FULL_INDEX)/chroma.sqlite3 || $(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) index add ngc
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test2.jsonl --report out/eval-test2 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test3.jsonl --report out/eval-test3 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test4.jsonl --report out/eval-test4 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test5.jsonl --report out/eval-test5 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test6.jsonl --report out/eval-test6 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test7.jsonl --report out/eval-test7 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test8.jsonl --report out/eval-test8 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test9.jsonl --report out/eval-test9 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test10.jsonl --report out/eval-test10 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test11.jsonl --report out/eval-test11 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test12.jsonl --report out/eval-test12 --table
	$(GARMLE) --index $(FULL_INDEX) --mirror $(MIRROR) eval eval/cases/test13.jsonl --report out/eval-test13 --table

bench: install
	GARMLE_GUIDELINE_MIRROR=$(MIRROR) $(GARMLE) bench --out docs/benchmarks.md

clean:
	rm -rf $(VENV) index/demo out test-output
