# make run    – install, train if needed, start everything (Ctrl-C stops all)
# make run-cluster – the same as several Rasa and action servers behind nginx (:8080)
# make test   – the whole test suite (CI=true adds the slow end-to-end tests)
# make train  – train the model when training data or config changed
# make eval   – NLU quality on the held-out set
# make review – the largest groups of messages the bot recently did not understand
# make retrain – a candidate model from today's data (reviewed examples included), compared
#                with the model in service; make publish / make rollback ship it or take it back
# make bench  – capacity, latency, growth and memory against the running assistant
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)
MODEL := models/govbot.tar.gz
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# No telemetry or error reports leave the machine (citizens' messages must not).
export RASA_TELEMETRY_ENABLED := false

TRAINING_INPUTS := config.yml domain.yml rasa_ext/train.py $(shell find data/nlu data/rules data/stories data/catalog data/reference data/gate rasa_ext/nlu bot/text.py bot/catalog/loader.py bot/catalog/schema.py bot/catalog/catalog.schema.yml bot/validation.py bot/fields.schema.yml -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.jsonl' -o -name '*.py' -o -name '*.txt' \) -not -name evaluate.py -not -name alignment.py -not -name gate_data.py 2>/dev/null)

.PHONY: install browser run run-cluster train test test-fast eval review retrain publish rollback bench lock clean
CHROMIUM ?= /usr/bin/chromium

install: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || { py=$$(scripts/find-python) && $$py -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $@

# Browser tests drive Debian's chromium through Playwright (this machine cannot download
# Playwright's own browsers); the font makes Chinese readable in their screenshots. The
# edge tests (tests/security/test_edge.py) start Debian's nginx in front of the stack.
APT_NEEDED := $(if $(wildcard $(CHROMIUM)),,chromium) \
  $(if $(wildcard /usr/share/fonts/truetype/wqy/wqy-microhei.ttc),,fonts-wqy-microhei) \
  $(if $(shell command -v nginx),,nginx)
AXE := tests/browser_tools/node_modules/axe-core/axe.min.js
browser: $(AXE)
	@test -z "$(strip $(APT_NEEDED))" || { \
	  echo "installing Debian's $(strip $(APT_NEEDED)) for the browser and edge tests"; \
	  apt-get install -y -q $(APT_NEEDED) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q $(APT_NEEDED) >/dev/null; } || \
	  { echo "missing: apt-get install $(APT_NEEDED)" >&2; exit 1; }; }

# axe-core (npm, pinned by the lock file) is injected into pages by the browser tests'
# accessibility checks (tests/accessibility.py).
$(AXE): tests/browser_tools/package-lock.json
	npm ci --prefix tests/browser_tools --no-audit --no-fund --loglevel=error
	touch $@

build/jieba/userdict.txt: $(STAMP) $(shell find data/catalog data/reference -type f 2>/dev/null)
	$(PY) -m rasa_ext.nlu.vocabulary build/jieba

# Retrains only when an input changed since the last model (make compares times); the
# model appears in models/ in one rename, so a starting server never reads half a file.
$(MODEL): $(STAMP) build/jieba/userdict.txt $(TRAINING_INPUTS)
	rm -rf models/.training
	mkdir -p build
	$(PY) -m rasa_ext.train --fixed-model-name govbot --out models/.training \
	  --data data/nlu data/rules data/stories --config config.yml --domain domain.yml \
	  2>&1 | tee build/train.log; test $${PIPESTATUS[0]} -eq 0
	mv models/.training/govbot.tar.gz $@
	rm -rf models/.training

train: $(MODEL)

run: $(MODEL)
	scripts/run.sh

# The production topology on this machine: nginx on :8080 (EDGE_PORT) in front of
# RASA_INSTANCES (2) Rasa and ACTION_INSTANCES (2) action servers, PostgreSQL, Redis and
# RabbitMQ (started or installed when missing), the stats consumer (docs/cluster.md).
run-cluster: $(MODEL)
	scripts/run-cluster.sh

test: $(MODEL) browser k8s-tools
	$(PY) -m pytest

test-fast: $(STAMP) k8s-tools
	$(PY) -m pytest -m "not slow and not model"

# kubernetes-validate for tests/deploy/test_k8s.py, in a venv of its own: it needs a
# jsonschema newer than Rasa 3.6 allows (deploy/k8s/requirements-validate.txt, docs/deploy.md).
K8S_TOOLS := build/tools/k8s
K8S_TOOLS_STAMP := $(K8S_TOOLS)/.installed-$(shell cat deploy/k8s/requirements-validate.txt | cksum | cut -d' ' -f1)
.PHONY: k8s-tools
k8s-tools: $(K8S_TOOLS_STAMP)

$(K8S_TOOLS_STAMP): deploy/k8s/requirements-validate.txt
	rm -rf $(K8S_TOOLS)
	py=$$(scripts/find-python) && $$py -m venv $(K8S_TOOLS)
	$(K8S_TOOLS)/bin/python -m pip install --quiet -r deploy/k8s/requirements-validate.txt
	touch $@

# Held-out set, dev split (fallback sweep) and outside set from one model load; the
# whole report with every error goes to results/nlu/report.json.
eval: $(MODEL)
	$(PY) -m rasa_ext.nlu.evaluate --model $(MODEL) --data tests/nlu/heldout.yml \
	  --dev tests/nlu/dev.yml --outside tests/nlu/outside/messages.jsonl \
	  --noise tests/nlu/noise.txt --out results/nlu

# Catches up with the conversations (the capture the web app runs every few seconds),
# then prints the groups the supervisors' page /desk/review shows. DAYS=7 by default.
review: $(STAMP)
	$(PY) -m bot.review --days $(or $(DAYS),7)

# A candidate in models/candidates/<UTC time>.tar.gz, trained like $(MODEL) (the same
# arguments, through rasa_ext.train) and compared with it on the held-out, outside and
# reviewed sets: the table and models/candidates/<time>.json say 'publishable' or
# 'refused' (any main score below the current model's; TOLERANCE=0.005 allows a little).
# Exits 1 when refused. The model in service is not touched.
TOLERANCE ?= 0
retrain: $(STAMP) build/jieba/userdict.txt
	$(PY) -m rasa_ext.retrain --tolerance $(TOLERANCE)

# The newest candidate (CANDIDATE=path for another) becomes $(MODEL), the replaced one goes
# to models/history/, and every Rasa instance of RASA_URLS (default RASA_URL) loads it with
# PUT /model. Refused unless its report says 'publishable'.
publish: $(STAMP)
	$(PY) -m bot.review.models publish $(if $(CANDIDATE),--candidate $(CANDIDATE))

# The previous model back in service (again: undone); TO=models/history/<file> for another.
rollback: $(STAMP)
	$(PY) -m bot.review.models rollback $(if $(TO),--to $(TO))

bench: $(MODEL)
	$(PY) -m bench $(if $(filter-out 0,$(CLUSTER)),--cluster)

lock:
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf build models results var .pytest_cache
