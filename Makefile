# width_transfer: `make reproduce` (the paper's figures; until they exist, the pipeline demo) and `make test`.
# Both create the virtual environment, install the pinned packages and make Fashion-MNIST available.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= cpu
FMNIST := /usr/share/datasets/fashion-mnist
export OMP_NUM_THREADS ?= 2
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: all install data test check-export nbtest pytest reproduce demo optimizers clean-nbs export

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt settings.ini setup.py | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Fashion-MNIST from Debian's package (files in $(FMNIST)); installed with apt-get when we are root.
data:
	@if [ -f $(FMNIST)/train-images-idx3-ubyte.gz ] || [ -n "$$WT_FASHION_MNIST" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q dataset-fashion-mnist || { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; }; \
	else \
	  echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', or set WT_FASHION_MNIST" \
	       "to a folder with the four *-idx*-ubyte.gz files (torchvision can download them)."; exit 1; \
	fi

# The notebooks are the only source of width_transfer/: exporting them must change nothing
# (compared with the tree as it was before the export, so it also works with uncommitted edits).
check-export: install
	@state() { git status --porcelain -- width_transfer; git diff -- width_transfer | md5sum; }; \
	before=$$(state); $(BIN)/nbdev_export; after=$$(state); \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev_export changed width_transfer/: edit the notebooks in nbs/, export, commit both."; \
	  git status --porcelain -- width_transfer; exit 1; fi

nbtest: install data
	$(BIN)/nbdev_test --n_workers 1

pytest: install data
	$(BIN)/python -m pytest -q tests

test: check-export nbtest pytest

demo: install data
	@mkdir -p work/executed figures
	$(BIN)/papermill -k python3 nbs/index.ipynb work/executed/index.ipynb -p save_to figures/pipeline_demo.png

reproduce: demo

# The four width optimizers on ResNet18 x0.25 for Fashion-MNIST (issue 4's figure); cached in results/cpu.
optimizers: install data
	@mkdir -p work/executed figures
	$(BIN)/papermill -k python3 nbs/15_compare.ipynb work/executed/15_compare.ipynb -p scale cpu \
	  -p save_to figures/optimizers_resnet18

# Developer helpers
export: install
	$(BIN)/nbdev_export

clean-nbs: install
	$(BIN)/nbdev_clean
