# twotrack: everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_WS := workspace/demo

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# silero-vad ships the ONNX weights we run; its torch dependency is not needed at run time.
	$(PY) -m pip install -q --no-deps silero-vad==6.2.3
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/twotrack info data/sample

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) workspace demo-out test-artifacts
