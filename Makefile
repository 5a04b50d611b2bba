# Two commands for a newcomer: `make demo` and `make test`. Both create the
# virtual environment and install the project first when needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo lint test bench results clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,fast,int8]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/vidsr demo

# The suite runs as two pytest processes: run as one, the process segfaulted near the end
# (2026-12-02, after the video and backend tests joined; each half passes alone). To find.
# Narrowed on 2026-12-03 (Intel Xeon): `pytest tests/test_backends.py tests/test_training.py`
# alone crashes (SIGSEGV, rc 139) in the first or second in-process `train()` after the
# OpenVINO fp32 tests (`-k "openvino and fp32"` is enough with the num_workers test; about
# one run in two); once under gdb the main thread was in poll() waiting on a loader worker, but
# it also crashes in runs without workers, and not under strace. Loader workers started from a
# fork server moved the crash to the next test, not removed it.
# On 2026-12-04 (Intel Xeon, two trainings on the cores) that command crashed in 1 run of 65;
# the openvino backends now share one Core (openvinotoolkit/openvino#35338: a second Core can
# crash), with 0 crashes in 12 runs since: too few to call it the cause, so the split stays.
SECOND_HALF := tests/test_stability.py tests/test_streaming.py tests/test_temporal_memory_script.py \
	$(wildcard tests/test_training*.py) $(wildcard tests/test_upscale*.py) $(wildcard tests/test_video*.py)

# Lint (pyproject.toml, [tool.ruff]): pyflakes, pycodestyle, bugbear and a few more; a second.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks

test: install lint
	$(PY) -m pytest -q --durations=10 $(addprefix --ignore=,$(SECOND_HALF))
	$(PY) -m pytest -q --durations=10 $(SECOND_HALF)

bench: install
	$(PY) benchmarks/metrics_speed.py
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/video_memory.py
	$(PY) benchmarks/bit_depth.py         # 10-bit kept against 8-bit: speed and levels
	$(PY) benchmarks/prores_width.py      # FFmpeg ProRes encoders at widths not a multiple of 16
	$(PY) benchmarks/x265_width.py        # x265 on frames narrower than 64 pixels
	$(PY) benchmarks/output_size.py       # what --size's resize costs beside the model
	$(PY) benchmarks/inference.py --json results/inference.json   # backends, encoder, end to end
	$(PY) benchmarks/temporal_memory.py   # needs ../shared/data (DAVIS validation clips)

# The README's Results section (Vid4 from ../shared/data; about 5 min on 2 quiet CPU cores).
results: install
	$(PY) benchmarks/results.py --data ../shared/data/vid4/GT --markdown results/vid4_x4.md \
		--json results/vid4_x4.json --cards --plots docs/frames
	$(PY) benchmarks/results.py --data ../shared/data/vid4/GT --scale 2 --markdown results/vid4_x2.md \
		--json results/vid4_x2.json --cards --plots docs/frames

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
