# The two commands of the README:
#   make demo   set up .venv and run the main job (transcribe the bundled samples, run every lesson)
#   make test   set up .venv and run every test, the notebooks included (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2

.PHONY: setup system-deps demo test lab notebooks benchmarks clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e ".[dev]"
	touch $@

system-deps:
	bash tools/system_deps.sh

demo: setup system-deps
	$(BIN)/echo-edu demo
	ECHO_EDU_QUICK=1 $(BIN)/python tools/run_notebooks.py --html build/notebooks
	@echo "Lessons rendered to build/notebooks/. Explore them live with: make lab"

test: setup system-deps
	ECHO_EDU_QUICK=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile

lab: setup
	$(BIN)/jupyter lab notebooks/

notebooks: setup
	$(BIN)/python tools/sync_notebooks.py

benchmarks: setup
	for b in benchmarks/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build test-artifacts .pytest_cache
