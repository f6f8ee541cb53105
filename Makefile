# robin_workcell: the commands the README promises. Each target creates/refreshes .venv itself.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export MUJOCO_GL ?= egl
export OMP_WAIT_POLICY ?= PASSIVE
# pytest workers: the machine has 2 cores; ROS tests spawn node processes, so 2 workers is the sweet spot
TEST_WORKERS ?= 2

.PHONY: demo test eval bench lint venv clean

# make bench BENCHES="grasp_planning motion_planning" runs a subset; BENCH_ARGS="--long" the long version
BENCHES ?= segmentation_latency grasp_planning motion_planning sim_rtf pick_store_query closed_loop
BENCH_ARGS ?=

$(STAMP): requirements.txt requirements-dev.txt setup.py scripts/bootstrap.sh
	VENV=$(VENV) ./scripts/bootstrap.sh

venv: $(STAMP)

# the simulated cell with recording, until 20 pick attempts or 10 minutes of wall time
DEMO_ARGS ?= --picks 20 --duration 600

demo: $(STAMP)  ## run the simulated cell end to end; writes runs/latest/report.json
	$(PY) -m robin_bringup.cli demo --profile sim --profile record $(DEMO_ARGS)

test: $(STAMP)  ## all tests (unit, node, end-to-end) plus lint
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

eval: $(STAMP)  ## segmentation metrics on held-out frames (generated from test seeds if missing)
	$(PY) -m robin_perception.evaluate --model models/universal/package_seg.onnx --data eval/data/universal \
		--split test --generate 200 --out eval/results/latest.json

bench: $(STAMP)  ## every benchmark, each next to its baseline; one table; writes bench/results/latest.json
	$(PY) bench/run_all.py --only $(BENCHES) $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf build install log runs *.egg-info
