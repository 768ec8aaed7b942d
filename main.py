"""ConvScope's entry point: ``convscope`` (GUI) and ``convscope inspect|dump|export|cam|rf`` (CLI)."""
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import COMMANDS, gui_image_error, run
    if argv and argv[0] in COMMANDS:
        return run(argv)
    problem = gui_image_error(argv)  # a typo must not open a window (headless, it would never close)
    if problem:
        from app.options import fail
        return fail(problem)
    from app.gui import run_gui
    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
