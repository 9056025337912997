# kefu: `make run` serves, `make test` tests, `make fuzz` fuzzes the API, `make bench` measures. Everything installs itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench bench-field fuzz install clean

$(STAMP): pyproject.toml
	@echo "kefu: installing into $(VENV) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools warns on every editable install of a flat layout (the packages are the folders
	@# here, as they should be); nothing for whoever runs make to act on
	@PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(BIN)/kefu serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Test processes: two a core (most tests wait on sockets, subprocesses and the database);
# TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$((n * 2)))

test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

# schemathesis over the API description at length (docs/testing.md); `make test` runs it short.
# FUZZ_EXAMPLES per operation, every phase, a new seed each run (FUZZ_SEED=... repeats one).
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	KEFU_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KEFU_FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_api_fuzz.py -k description

# CASE_LIST_ARGS: e.g. "--web-workers 2", "--database-url postgresql+asyncpg://…" (bench/README.md)
bench: $(STAMP)
	$(BIN)/python -m bench.ingest $(BENCH_ARGS)
	$(BIN)/python -m bench.case_list $(CASE_LIST_ARGS)
	$(BIN)/python -m bench.field_scan $(BENCH_FIELD_ARGS)

# The early-warning scan, the report's sections and the records' export over 1,000,000
# generated field records (bench/README.md); `make bench` runs it last

bench-field: $(STAMP)
	$(BIN)/python -m bench.field_scan $(BENCH_FIELD_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
