# make test: build .venv if needed and run the tests; make demo: the whole pipeline on a sample corpus
# (or on DATA=folder of train|valid|test.src|tgt files).
VENV ?= .venv
READY := $(VENV)/.pgkpr-ready

.PHONY: venv test demo
venv: $(READY)

# Rebuilt when the install recipe or the requirements change; the script itself is idempotent.
$(READY): setup.py scripts/setup_venv.sh scripts/patch_fairseq.py
	VENV=$(VENV) scripts/setup_venv.sh
	touch $@

test: $(READY)
	$(VENV)/bin/pytest -q

demo: $(READY)
	PATH=$(abspath $(VENV))/bin:$$PATH DATA=$(DATA) scripts/demo.sh
