# Two commands do all of the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bench lint sysdeps-run sysdeps-test sysdeps-bench screenshot clean
.PHONY: package wheel man bundle deb smoke screenshots icons sysdeps-package

run: sysdeps-run $(STAMP)
	$(VENV)/bin/fieldrec

test: sysdeps-test $(STAMP)
	$(VENV)/bin/lint-imports --config pyproject.toml
	$(VENV)/bin/ruff check fieldrec tests benchmarks
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: sysdeps-bench $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/run_all.py

screenshot: screenshots

# ---- packaging (docs/packaging.md): not part of `make test`; `make package` does it all and smoke-tests it
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' fieldrec/__init__.py)
ARCH    = $(shell dpkg --print-architecture 2>/dev/null || uname -m)
PKGSTAMP := $(VENV)/.package-extras

package: wheel man bundle deb smoke

$(PKGSTAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,package]'
	@touch $@

wheel: $(STAMP)
	rm -rf dist/fieldrec-*.whl dist/fieldrec-*.tar.gz
	@mkdir -p build
	packaging/timed.sh wheel+sdist sh -c '$(PY) -m build --outdir dist . >build/wheel.log 2>&1 || { tail -20 build/wheel.log; exit 1; }'
	@ls -l dist/fieldrec-$(VERSION)*

man: $(STAMP)
	$(PY) packaging/make_man.py docs/man/fieldrec.1 build/man/fieldrec.1

bundle: sysdeps-package $(PKGSTAMP)
	packaging/timed.sh bundle $(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist \
	    --workpath build/pyinstaller packaging/fieldrec.spec
	@du -sh dist/fieldrec

deb: man
	@test -x dist/fieldrec/fieldrec || $(MAKE) bundle
	packaging/timed.sh deb $(PY) packaging/build_deb.py --bundle dist/fieldrec --man build/man/fieldrec.1 --out dist

# the bundle copied out of the checkout, then the .deb installed into a chroot (host if none can be made)
smoke: sysdeps-package $(PKGSTAMP)
	packaging/timed.sh smoke $(PY) packaging/smoke_all.py --wheel dist/fieldrec-$(VERSION)-py3-none-any.whl --bundle dist/fieldrec --deb dist/fieldrec_$(VERSION)_$(ARCH).deb --report build/smoke

screenshots: sysdeps-test $(STAMP)
	$(PY) tools/screenshot.py --all docs/images

icons:  # the PNGs are committed; this re-renders them from the SVG (needs rsvg-convert: librsvg2-bin)
	for s in 16 32 48 64 128 256; do rsvg-convert -w $$s -h $$s fieldrec/resources/icons/hicolor/scalable/apps/fieldrec.svg \
	    -o fieldrec/resources/icons/hicolor/$${s}x$${s}/apps/fieldrec.png; done

sysdeps-package:
	@tools/setup-system.sh package

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

clean:  # refuses while a stopped smoke test left a mount in build/chroot (rm would follow it into /dev)
	@! grep -q " $(CURDIR)/build/" /proc/mounts 2>/dev/null || { echo "clean: unmount what is mounted under build/ first:"; grep " $(CURDIR)/build/" /proc/mounts; exit 1; }
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
