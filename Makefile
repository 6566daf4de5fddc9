# Every entry point of scratchgan.  Each target bootstraps what it needs: a .venv with the
# package installed (editable) and its test extras, the first time, or when pyproject changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.installed

.PHONY: test test-faults bench venv clean

$(READY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "scratchgan needs Python 3.10 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@# a pip new enough for editable installs from pyproject (PEP 660) is kept as it is
	$(PY) -c 'import pip, sys; sys.exit(int(pip.__version__.split(".")[0]) < 22)' || \
	  $(PY) -m pip install --quiet --upgrade pip
	@# --no-compile: byte-compiling all of numpy and matplotlib up front is slow; Python
	@# compiles the modules it imports, once, as it imports them
	$(PY) -m pip install --quiet --no-compile -e '.[dev]'
	@touch $@

venv: $(READY)

## make test: the whole test suite, on NumPy and on the strict device stand-in (CuPy too
## where a GPU is present); its last line names the backends that ran
test: $(READY)
	$(PY) -m pytest -q

## make test-faults: kill -9 a short training run at random moments, resume it each time,
## and check it ends bit for bit where an uninterrupted run ends (about two minutes)
test-faults: $(READY)
	$(PY) tests/faults/kill_loop.py

## make bench: timings (scratchgan vs plain NumPy, and PyTorch CPU where torch is installed:
## it is never a dependency); never part of the tests.  benchmarks/ is no package of ours:
## python -m finds it from the repository root
bench: $(READY)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## make train-mnist: the main job: real MNIST, the default GAN, grids, curves, scores
## make train-dcgan: the same for DCGAN (convolutions), in the same time budget
## make train-wgan / train-wgan-gp: WGAN (weight clipping) and WGAN-GP (gradient penalty),
## DCGAN's G against a critic, in about the same budget (docs/family.md)
## make train-cyclegan: CycleGAN between MNIST and mfeat-pix digits, scored by label
## preservation (docs/cyclegan.md)
## make train-cgan: the conditional GAN (a row per digit), scored also by the requested digit
## (knobs: EPOCHS=… BATCH=… LR=… SEED=… PRESET=… OUT=… BACKEND=…,
##  SET="reuse_fakes=false pack=1": any field of the model's config;
##  RESUME=1 continues the run in OUT, OVERWRITE=1 replaces it: a run is never replaced
##  unless asked)
TRAIN_ARGS = $(if $(OUT),--out $(OUT)) $(if $(PRESET),--preset $(PRESET)) \
	$(if $(SEED),--seed $(SEED)) $(if $(EPOCHS),--epochs $(EPOCHS)) \
	$(if $(BATCH),--batch-size $(BATCH)) $(if $(LR),--lr $(LR)) \
	$(if $(BACKEND),--backend $(BACKEND)) $(foreach kv,$(SET),--set $(kv)) \
	$(if $(RESUME),--resume) $(if $(OVERWRITE),--overwrite)

.PHONY: train-mnist train-dcgan train-wgan train-wgan-gp train-cyclegan train-cgan eval-mnist \
	data lessons check
train-mnist: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train mnist-gan $(TRAIN_ARGS)

train-dcgan: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train mnist-dcgan $(TRAIN_ARGS)

train-wgan: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train mnist-wgan $(TRAIN_ARGS)

train-wgan-gp: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train mnist-wgan-gp $(TRAIN_ARGS)

train-cyclegan: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train cyclegan $(TRAIN_ARGS)

train-cgan: $(READY)
	$(PY) -m scratchgan data
	SCRATCHGAN_MAKE_TARGET=$@ $(PY) -m scratchgan train mnist-cgan $(TRAIN_ARGS)

## make eval-mnist: score the run in OUT (default runs/mnist-gan) again
eval-mnist: $(READY)
	$(PY) -m scratchgan eval $(or $(OUT),runs/mnist-gan)

data: $(READY)
	$(PY) -m scratchgan data

## make lessons: every lesson as an executed notebook in lessons/output/notebooks/
## (installs the optional extra: jupytext, nbclient, ipykernel; LESSONS="03 05" for some),
## and the teacher's page's sample reports regenerated from the checker
lessons: $(READY)
	$(PY) -m pip install --quiet -e '.[lessons]'
	$(PY) lessons/_notebooks.py $(LESSONS)
	$(PY) -m scratchgan.exercises

## make check EX=sigmoid: gradcheck your answer to an exercise (make check: list them)
check: $(READY)
	$(PY) -m scratchgan check $(EX)

## make bench-modes: mode collapse on PacGAN's ring and grid, six GANs × 10 seeds × 1,500
## G steps, printed beside PacGAN's Table 1; JSON and a scatter figure per model in OUT
## (hours of CPU on two cores: docs/modes.md says how many, and what smaller runs cost)
## (knobs: SEEDS=… ITERATIONS=… MODELS=gan,pacgan4 DATASETS=ring SETUP=small OUT=…
## SCORE_EVERY=N to score every N G steps too, OVERWRITE=1 to replace a benchmark in OUT)
.PHONY: bench-modes
bench-modes: $(READY)
	$(PY) -m scratchgan bench-modes $(if $(SEEDS),--seeds $(SEEDS)) \
	  $(if $(ITERATIONS),--iterations $(ITERATIONS)) $(if $(MODELS),--models $(MODELS)) \
	  $(if $(DATASETS),--datasets $(DATASETS)) $(if $(SETUP),--setup $(SETUP)) \
	  $(if $(OUT),--out $(OUT)) $(if $(SCORE_EVERY),--score-every $(SCORE_EVERY)) \
	  $(if $(OVERWRITE),--overwrite)
