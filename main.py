"""ConvScope's entry point: ``convscope`` (GUI) and ``convscope inspect|dump|export`` (CLI)."""
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("inspect", "dump", "export"):
        from app.cli import run
        return run(argv)
    from app.gui import run_gui
    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
