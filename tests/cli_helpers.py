"""Helpers for the command-line tests: run ``main()`` in-process, check the one-line error."""
from main import main


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of ``convscope *argv`` run in this process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convscope: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
