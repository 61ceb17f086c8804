# Two commands for a fresh Debian machine with Python 3.11: `make demo` (what recognizing needs: onnxruntime,
# two fonts for overlays) and `make test` (everything: torch for training, Ray, the web app, Chromium, the fonts).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
KZ     := $(VENV)/bin/kuzushiji
SHARED ?= ../shared/data
DATA   ?=

.PHONY: demo test setup setup-demo system system-demo models bench serve clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed: $(VENV)/.base
	$(PY) -m pip install -q -e '.[train,ray,serve,dev]'
	touch $@

system:
	bash scripts/install_system.sh

system-demo:
	bash scripts/install_system.sh demo

setup: system $(VENV)/.installed

setup-demo: system-demo $(VENV)/.base

demo: setup-demo
	$(KZ) recognize samples/100241706_00004_2.jpg -o demo_out --overlay
	@echo; echo "--- text (columns right to left) ---"; cat demo_out/100241706_00004_2.txt; echo
	@echo "outputs: demo_out/submission.csv demo_out/100241706_00004_2.json demo_out/100241706_00004_2.txt demo_out/100241706_00004_2.overlay.jpg"

test: setup
	$(PY) -m pytest tests

# Rebuild the bundled models from scratch (synthetic data, training, fine-tuning, pseudo-labels).
models: setup
	DATA=$(DATA) bash scripts/make_models.sh

# The web app on http://127.0.0.1:8000/ (uploads and corrections kept in kuzushiji_data/).
serve: setup
	$(KZ) serve --data kuzushiji_data

bench: setup
	$(PY) bench/recognize.py

clean:
	rm -rf $(VENV) demo_out build work
