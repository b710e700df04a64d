# The course's two commands (see README.md):  make book   and   make test
# Both create the virtual environment .venv from requirements.txt when it is missing or stale.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
TIER ?= ci

.PHONY: book book-full test parity clean-notebooks venv compat

$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "== creating $(VENV) with $(PYTHON) and installing requirements.txt =="
	@start=$$(date +%s); \
	  $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip && $(BIN)/pip install -q -r requirements.txt \
	  && echo "== install took $$(( $$(date +%s) - start )) s =="
	@touch $@

venv: $(VENV)/.installed

book: $(VENV)/.installed
	@start=$$(date +%s); \
	  COURSE_TIER=$(TIER) $(BIN)/jupyter-book build . --warningiserror --keep-going \
	  && echo "== book built in $$(( $$(date +%s) - start )) s: open _build/html/index.html =="

book-full: $(VENV)/.installed
	rm -rf _build/.jupyter_cache
	$(MAKE) book TIER=full

test: $(VENV)/.installed
	@start=$$(date +%s); \
	  COURSE_TIER=ci $(BIN)/python -m pytest; status=$$?; \
	  echo "== tests (CI tier) took $$(( $$(date +%s) - start )) s =="; exit $$status

parity: $(VENV)/.installed
	$(BIN)/python -m course_utils.instructor.parity check

clean-notebooks: $(VENV)/.installed
	$(BIN)/python -m course_utils.instructor.parity clean

compat:
	bash .ci/compat
