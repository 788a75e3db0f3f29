# Two commands do everything on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_PIN ?= torch==2.13.0
DEMO_OUT ?= neurodyn_demo

.PHONY: demo test venv install install-dev bench bench-gpu calibrate lint clean docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned to the local CPU build, so no dependency resolves a CUDA wheel.
venv: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet "$(TORCH_PIN)"

install: venv
	$(PIP) install --quiet -e .

install-dev: venv
	$(PIP) install --quiet -e ".[dev]"

demo: install
	$(VENV)/bin/neurodyn demo --out $(DEMO_OUT)

test: install-dev
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg $(PY) -m pytest -q -n 2 tests

bench: venv
	$(PIP) install --quiet -e ".[bench,dev]"
	@for f in benchmarks/*.py; do case $$f in *glm_calibration.py|*gpu_timings.py|*/_*.py) continue;; esac; echo "== $$f"; $(PY) $$f || exit 1; done

# on a machine with a CUDA GPU: parity tests, CPU-vs-CUDA timings, GPU runs of the benchmarks
bench-gpu:
	bash benchmarks/gpu_check.sh

# the GLM acceptance figures of the spec (long: tens of minutes)
calibrate: install-dev
	$(PY) benchmarks/glm_calibration.py

# HTML site (sphinx-gallery from tutorials/ + numpydoc API reference) in docs/_build/html, offline;
# tutorials are not executed (plot_gallery False); SPHINXOPTS="-D plot_gallery=1" runs them.
SPHINXOPTS ?=
docs: install
	@$(PY) -c "import sphinx, sphinx_gallery, numpydoc" 2>/dev/null || $(PIP) install --quiet -e ".[docs]"
	rm -rf docs/generated  # autosummary pages of callables that no longer exist would linger
	MPLBACKEND=Agg $(PY) -m sphinx -b html -q -W --keep-going $(SPHINXOPTS) docs docs/_build/html
	@echo "docs written to docs/_build/html/index.html"

lint: install-dev
	$(VENV)/bin/ruff check neurodyn tests benchmarks tutorials

clean:
	rm -rf $(VENV) build *.egg-info $(DEMO_OUT) .pytest_cache docs/_build docs/generated docs/auto_tutorials
