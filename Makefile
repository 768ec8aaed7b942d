# ConvScope developer commands. `make run` and `make test` set up .venv on first use.
PY      := .venv/bin/python
STAMP   := .venv/.installed
SAMPLE  := resources/samples/cat.png
# What Qt's X11 (xcb) plugin needs on Debian/Ubuntu (ldd on PySide6's libqxcb.so; apt pulls in the rest).
QT_X11_DEBS := libegl1 libgl1 libglib2.0-0 libfontconfig1 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 \
               libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1

.PHONY: run test bench soak xvfb-check xvfb-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py $(SAMPLE)

# Two processes, one per core (pytest-xdist; each keeps torch to one thread, see tests/conftest.py):
# one process took 14 min on this kind of machine, two take 9.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not soak"

bench: $(STAMP)
	$(PY) bench/run_all.py

soak: $(STAMP)
	$(PY) -m pytest -q -m soak

# 20 launches of the real window under Xvfb: each time the first prediction must reach the X server's
# screen without any input event (issue 9), then 3 more beside a busy loop on every core (the frozen
# window's cause: a worker that gave way to any other load). Needs Xvfb and xwd.
XVFB_RUNS      ?= 20
XVFB_BUSY_RUNS ?= 3
xvfb-check: $(STAMP)
	$(PY) bench/xvfb_launch.py --runs $(XVFB_RUNS) --busy-runs $(XVFB_BUSY_RUNS) --keep /tmp/convscope-xvfb-check

# Xvfb, xwd and Qt's X11 libraries (Debian/Ubuntu, as root).
xvfb-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-apps $(QT_X11_DEBS)

clean:
	rm -rf .venv build *.egg-info .pytest_cache
