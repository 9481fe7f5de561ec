# Two commands do all of the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bench lint sysdeps-run sysdeps-test sysdeps-bench screenshot clean

run: sysdeps-run $(STAMP)
	$(VENV)/bin/fieldrec

test: sysdeps-test $(STAMP)
	$(VENV)/bin/lint-imports --config pyproject.toml
	$(VENV)/bin/ruff check fieldrec tests benchmarks
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: sysdeps-bench $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/run_all.py

screenshot: sysdeps-test $(STAMP)
	$(PY) tools/screenshot.py docs/images/main-window.png

sysdeps-run:
	@tools/setup-system.sh run

sysdeps-test:
	@tools/setup-system.sh test

sysdeps-bench:
	@tools/setup-system.sh bench

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
