# ConvScope developer commands. `make run` and `make test` set up .venv on first use.
PY      := .venv/bin/python
STAMP   := .venv/.installed
SAMPLE  := resources/samples/cat.png

.PHONY: run test bench soak clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py $(SAMPLE)

test: $(STAMP)
	$(PY) -m pytest -q -m "not soak"

bench: $(STAMP)
	$(PY) bench/run_all.py

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

clean:
	rm -rf .venv build *.egg-info .pytest_cache
