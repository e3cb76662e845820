# The two commands of the README:
#   make demo   set up .venv and run the main job (transcribe the bundled samples, run every lesson)
#   make test   set up .venv and run every test, the notebooks included (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2

.PHONY: setup lock system-deps demo test lab notebooks benchmarks clean

LOCK   := requirements/lock.txt

setup: $(VENV)/.installed

# Installs exactly the lock (every package, transitive ones too, by version and hash) into a new venv,
# then echo_edu itself without dependencies. pip installs only the locked uv (its entry cut out of the
# lock, hashes included); uv installs the rest (1 min 2 s from a cold cache where pip took 2 min 31 s).
# Then the bytecode is compiled, as pip would (echo_edu's editable finder included): where
# PYTHONDONTWRITEBYTECODE is set, as here, nothing else writes it and every process would compile
# torch again. Left out is code no process imports: the packages' own test suites and transformers'
# model zoo but for the tokenizer's `auto` and what the benchmarks' Whisper imports (12 000 of 17 500
# files; 30 % less time than compiling all). tests/test_check_env.py checks that nothing imported
# lacks its bytecode. The stamp depends on the lock: a new lock rebuilds .venv from scratch, so
# nothing the old lock installed stays behind.
NOT_COMPILED := /tests/|/transformers/models/(?!auto/|whisper/|encoder_decoder/)[^/]+/
$(VENV)/.installed: pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	sed -n '/^uv==/,/[^\\]$$/p' $(LOCK) > $(VENV)/uv-lock.txt
	$(BIN)/python -m pip install --progress-bar off --require-hashes --no-deps -r $(VENV)/uv-lock.txt
	$(BIN)/uv pip install --python $(BIN)/python --require-hashes --no-deps -r $(LOCK)
	$(BIN)/uv pip install --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q -j 0 -x '$(NOT_COMPILED)' \
		"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
	$(BIN)/python tools/check_env.py
	touch $@

# Regenerates the lock from pyproject.toml (needs the registry); commit the result.
lock: setup
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --universal \
		--python-version 3.10 --generate-hashes --quiet -o $(LOCK)

system-deps:
	bash tools/system_deps.sh

demo: setup system-deps
	$(BIN)/echo-edu demo
	ECHO_EDU_QUICK=1 $(BIN)/python tools/run_notebooks.py --html build/notebooks
	@echo "Lessons rendered to build/notebooks/. Explore them live with: make lab"

test: setup system-deps
	$(BIN)/python tools/check_env.py
	ECHO_EDU_QUICK=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 TORCHINDUCTOR_COMPILE_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=25

lab: setup
	$(BIN)/jupyter lab notebooks/

notebooks: setup
	$(BIN)/python tools/sync_notebooks.py

benchmarks: setup
	for b in benchmarks/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build test-artifacts .pytest_cache
