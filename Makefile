# width_transfer: `make reproduce` (the paper's figures and table, SCALE=cpu|gpu|paper) and `make test`.
# Both create the virtual environment, install the pinned packages and make Fashion-MNIST available.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= cpu
FMNIST := /usr/share/datasets/fashion-mnist
export OMP_NUM_THREADS ?= 2
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: all install data test check-export nbtest pytest reproduce demo walkthrough optimizers clean-nbs export migrate readme plan

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
	$(BIN)/nbdev_test --n_workers 1 --timing

pytest: install data
	$(BIN)/python -m pytest -q --durations=12 tests

test: check-export nbtest pytest

# What a scale's figures will run and cost, without running anything: each paper notebook is executed with
# $$WT_PLAN set (runs.planning: a missing search stands in with its start widths, a missing training with top1 NaN),
# then wt-plan prints every run's status and the bill per figure (RUNS=1 lists every run). At the paper scale
# without DATA_ROOT the searches' keys cannot be computed (no ImageNet here): they are all listed as missing.
PLAN_DIR := work/plan/$(SCALE)
PLAN_JOBS ?= 4
PLAN_DATA := $(if $(DATA_ROOT),-p data_root $(DATA_ROOT),$(if $(filter paper,$(SCALE)),-p data_root /data-root-not-given))
plan: install data
	@rm -rf $(PLAN_DIR) && mkdir -p $(PLAN_DIR)
	@printf '%s\n' $(PAPER_NBS) | xargs -P $(PLAN_JOBS) -I{} sh -c 'WT_PLAN=$(PLAN_DIR)/{}.jsonl \
	  $(BIN)/papermill -k python3 nbs/paper/{}.ipynb $(PLAN_DIR)/{}.ipynb -p scale $(SCALE) $(PLAN_DATA) \
	  $(if $(NPROC),-p nproc $(NPROC)) > $(PLAN_DIR)/{}.log 2>&1 || echo "plan: {} stopped with an error after \
	  listing its runs so far ($(PLAN_DIR)/{}.log; figure code cannot always draw stand-ins)"'
	@$(BIN)/wt-plan $(PLAN_DIR) $(if $(RUNS),--runs)

# README.md is nbs/index.ipynb executed and rendered (tests/test_docs.py checks that the two agree and runs
# every python block of README.md and docs/*.md).
readme: install data
	cd nbs && WT_WORK=$$(mktemp -d) ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace index.ipynb
	$(BIN)/nbdev_clean --fname nbs/index.ipynb
	$(BIN)/python -m nbconvert --to markdown --stdout nbs/index.ipynb > README.md

demo: install data
	@mkdir -p work/executed figures
	$(BIN)/papermill -k python3 nbs/pipeline_demo.ipynb work/executed/pipeline_demo.ipynb -p save_to figures/pipeline_demo.png

# Width transfer on torchvision's ResNet34 and a CNN of one's own (nbs/25_walkthrough): figures/walkthrough.{png,csv}.
walkthrough: install data
	@mkdir -p work/executed figures
	$(BIN)/papermill -k python3 nbs/25_walkthrough.ipynb work/executed/25_walkthrough.ipynb -p save_to figures/walkthrough

# The paper's figures and table (nbs/paper), in an order that reuses the runs before it. Each notebook is executed
# with papermill at $(SCALE) (cpu by default; gpu, paper) and writes figures/<id>.png and .csv (figures/<scale>/<id>
# at the other scales). Runs are cached in results/<scale>: a second `make reproduce` only redraws, and a killed
# batch resumes where it stopped. NPROC (processes per training) and DATA_ROOT (ImageNet) are passed on when set.
# NETWORKS="resnet18 mobilenetv2" (or comma-separated) draws only those networks (not passed to table1, whose networks
# are the scale's table1 ones); ONLY_CACHED=1 starts no run and draws what the store holds: a panel of fig4/5/7/8 not
# run yet stays empty, a search fig10 lacks is named 'not run', another figure that lacks a run is skipped (NotRun;
# any other error still stops the batch).
PAPER_NBS ?= validation dmcp_starts fig4 fig5 fig10 fig7 fig8 fig6 fig9 table1
FIGDIR := $(if $(filter cpu,$(SCALE)),figures,figures/$(SCALE))
comma := ,
empty :=
space := $(empty) $(empty)
NETS := $(subst $(space),$(comma),$(strip $(NETWORKS)))
CACHED := $(filter 1 true yes,$(ONLY_CACHED))
PAPER_ARGS := -p scale $(SCALE) $(if $(NPROC),-p nproc $(NPROC)) $(if $(DATA_ROOT),-p data_root $(DATA_ROOT)) \
  $(if $(CACHED),-p only_cached True)

reproduce: install data
	@mkdir -p work/executed/$(SCALE) $(FIGDIR)
	@for nb in $(PAPER_NBS); do \
	  echo "== $$nb ($(SCALE) scale)"; \
	  nets=$$([ -z "$(NETS)" ] || [ $$nb = table1 ] || echo "-p networks $(NETS)"); \
	  $(BIN)/papermill -k python3 --log-output nbs/paper/$$nb.ipynb work/executed/$(SCALE)/$$nb.ipynb $(PAPER_ARGS) $$nets \
	    -p save_to $(FIGDIR)/$$nb || { [ -n "$(CACHED)" ] && grep -q '"ename": "NotRun"' work/executed/$(SCALE)/$$nb.ipynb || exit 1; \
	    echo "== $$nb not drawn: a run it needs is not in results/$(SCALE) yet (NotRun in work/executed/$(SCALE)/$$nb.ipynb)"; }; \
	done

# The four width optimizers on ResNet18 x0.25 for Fashion-MNIST (issue 4's figure); cached in results/cpu.
optimizers: install data
	@mkdir -p work/executed figures
	$(BIN)/papermill -k python3 nbs/16_compare.ipynb work/executed/16_compare.ipynb -p scale cpu \
	  -p save_to figures/optimizers_resnet18

# Write the records of the first store schema in results/$(SCALE) again under today's keys (old files are kept).
migrate: install data
	$(BIN)/python -m width_transfer.migrate results/$(SCALE)

# Developer helpers
export: install
	$(BIN)/nbdev_export

clean-nbs: install
	$(BIN)/nbdev_clean
