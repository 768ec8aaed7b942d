"""Opt-in memory probe for the suite: ``CONVSCOPE_RSS_PROBE=1 make test``.

Reads the process's peak (VmHWM) and current (VmRSS) resident set after each
test, and at the end prints the suite's peak and the tests that raised it most,
so that a rise in ``make test``'s memory can be traced to the test that caused
it (bench/README, "The test suite's memory"). Linux only; registered by
tests/conftest.py when the variable is set.
"""
from pathlib import Path

STATUS = Path("/proc/self/status")
SHOWN = 12


def _mib(field: str) -> int:
    """One VmXXX field of /proc/self/status, in MiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(field)


class RssProbe:
    """Pytest plugin object: one (test id, peak, current) row per test."""

    def __init__(self):
        self.rows: list[tuple[str, int, int]] = []

    def pytest_runtest_logfinish(self, nodeid, location):
        self.rows.append((nodeid, _mib("VmHWM"), _mib("VmRSS")))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        rise, last = [], 0
        for nodeid, hwm, rss in self.rows:
            rise.append((hwm - last, nodeid, hwm, rss))
            last = hwm
        tr = terminalreporter
        tr.section("peak RSS (VmHWM, MiB, after each test)")
        for up, nodeid, hwm, rss in sorted(rise, reverse=True)[:SHOWN]:
            if up > 0:
                tr.write_line(f"+{up:5d}  peak {hwm:5d}  now {rss:5d}  {nodeid}")
        tr.write_line(f"suite peak: {self.rows[-1][1]} MiB over {len(self.rows)} tests")
