"""Start the desktop app: parse the GUI's command line, show the window, then load torch in the worker.

``convscope [IMAGE] [--screenshot FILE [--layer NAME] [--channel N]]`` — the
screenshot mode waits for the results, selects the layer and channel, saves a
PNG of the window and exits, for the README's pictures and automated checks.
"""
import os
import sys

from .options import OneLineParser, add_weight_options, fail, no_display, weights_request


def build_parser() -> OneLineParser:
    p = OneLineParser(prog="convscope", description="ConvScope: see what every layer of a convolutional network extracts. "
                      "Also: convscope inspect|dump|export|cam IMAGE, convscope rf (see convscope inspect --help).")
    p.add_argument("image", nargs="?", help="an image to open (default: the bundled cat)")
    p.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window once the results are shown, then exit")
    p.add_argument("--layer", metavar="NAME", help="with --screenshot: the layer to select (name or alias)")
    p.add_argument("--channel", type=int, metavar="N", help="with --screenshot: the channel to select")
    p.add_argument("--explain", nargs="?", const="", metavar="CLASS",
                   help="with --screenshot: show the explain view, for CLASS (index, name, cat, dog; default top-1)")
    p.add_argument("--probe", metavar="Y,X", default=None,
                   help="with --screenshot: probe the selected channel at map position Y,X (its receptive field)")
    p.add_argument("--ablate", metavar="CH[,CH…]", default=None,
                   help="with --screenshot: ablate these channels of the selected layer (set to 0)")
    p.add_argument("--scan", metavar="FOLDER", default=None,
                   help="with --screenshot: scan FOLDER at the selected layer and show the channel's top patches")
    p.add_argument("--compare", metavar="IMAGE", default=None,
                   help="with --screenshot: pin the result as A, open IMAGE as B, show the A/B comparison")
    p.add_argument("--size", metavar="WxH", default=None, help="with --screenshot: window size, e.g. 1480x940")
    p.add_argument("--install-desktop", action="store_true", help="install a launcher entry and icon (Linux) and exit")
    add_weight_options(p)
    return p


def run_gui(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.install_desktop:
        from .desktop import install_desktop_entry
        try:
            for path in install_desktop_entry():
                print(f"wrote {path}")
        except OSError as err:
            return fail(str(err))
        return 0
    if no_display():
        if not args.screenshot:
            return fail("no display to open the window on (DISPLAY is not set); "
                         "use 'convscope inspect IMAGE' or 'convscope export IMAGE --out fig.png' instead")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    size = None
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
            if len(size) != 2:
                raise ValueError(args.size)
        except ValueError:
            return fail(f"--size wants WxH, e.g. 1480x940, not {args.size!r}")
    from .qt_setup import xcb_problem
    problem = xcb_problem()  # before Qt aborts with a message that names the wrong library
    if problem:
        return fail(problem)

    from PySide6.QtWidgets import QApplication

    from .pyside_imports import drop_feature_import_hook, without_cuda_python
    drop_feature_import_hook()  # before pyqtgraph's import and torch's, both of which it slowed
    with without_cuda_python():
        from .main_window import MainWindow  # imports pyqtgraph
    from .resources import SAMPLE_CAT, app_icon

    embedded = QApplication.instance() is not None  # a caller's QApplication (tests): return normally
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("ConvScope")
    app.setOrganizationName("ConvScope")
    app.setDesktopFileName("convscope")
    app.setWindowIcon(app_icon())
    # A screenshot uses the default layout, so pictures are repeatable whatever the user last did.
    window = MainWindow(weights_request(args), preprocess=args.preprocess, restore_layout=not args.screenshot,
                        controller=None if embedded else exiting_controller())
    from .logging_setup import install_excepthook
    install_excepthook(window.show_error)
    if size:
        window.resize(*size)
    window.show()
    image = args.image or str(SAMPLE_CAT)
    exit_code = [0]
    if args.screenshot:
        _arm_screenshot(app, window, args, exit_code)
    if os.environ.get("CONVSCOPE_TRACE_STARTUP") or os.environ.get("CONVSCOPE_AUTOCLOSE"):
        from .gui_trace import autoclose, trace_startup
        if os.environ.get("CONVSCOPE_TRACE_STARTUP"):
            trace_startup(window, os.environ["CONVSCOPE_TRACE_STARTUP"])
        if os.environ.get("CONVSCOPE_AUTOCLOSE"):
            autoclose(window, os.environ["CONVSCOPE_AUTOCLOSE"])
    # The first image is asked for once the window has painted (with its model: see MainWindow).
    window.when_painted(lambda: window.open_image(image))
    app.exec()
    if not embedded:
        leave(exit_code[0])
    leave_if_threads_stuck(exit_code[0])
    return exit_code[0]


# The process ends once the window has closed, so waiting longer than this for the inference thread
# (stuck in torch's import or in torch.load, neither interruptible) gains nothing; the downloader
# stops at its next chunk well within it, deleting its partial file.
EXIT_WAIT_MS = 600


def exiting_controller():
    """The window's controller when the process ends with the window: a short wait at shutdown."""
    from .controller import Controller

    class ExitingController(Controller):
        def shutdown(self, timeout_ms: int = EXIT_WAIT_MS) -> bool:
            return super().shutdown(min(timeout_ms, EXIT_WAIT_MS))

    return ExitingController()


def leave(code: int) -> None:
    """End the process now that the window has closed (settings synced, threads stopped or given
    up on): flush the log and stdio, and skip the interpreter's teardown of torch, the model and
    Qt, which took 1.2–1.6 s of the close on this machine and saves nothing."""
    import logging
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def leave_if_threads_stuck(code: int) -> None:
    """A worker stuck in an uninterruptible call (the log says which) would make Qt abort the
    process while destroying its running QThread: leave without Qt's teardown instead."""
    from .controller import threads_left_running

    if threads_left_running():
        leave(code)


def _arm_screenshot(app, window, args, exit_code) -> None:
    from PySide6.QtCore import QTimer

    def on_error(message: str) -> None:
        if window.session.image is None or args.explain is not None or args.probe or args.ablate or args.scan \
                or args.compare:  # fail the command
            exit_code[0] = fail(message)
            window.close()

    def shoot(_path: str) -> None:
        window.resultShown.disconnect(shoot)
        try:
            if args.layer:
                from inference.aliases import resolve_layer_name
                info = window.session.model_info
                known = [layer["name"] for layer in info["layers"]]
                aliases = {layer["name"]: layer["alias"] for layer in info["layers"] if layer["alias"]}
                name = resolve_layer_name(args.layer, aliases, known)
                if name is None:
                    raise ValueError(f"no layer named {args.layer!r}")
                window.tree.select_layer(name)
                window.show_layer(name)
            if args.channel is not None:
                window.show_channel(args.channel)
            if args.explain is not None:
                window.explain_class(args.explain or None)
                ready.append(lambda: "CAM" in window.overlay.title())
            if args.ablate:
                window.grid.set_selected_channels([int(c) for c in args.ablate.split(",")])
                window.ablate_selection("zero")
                ready.append(lambda: window.session.ablation is not None and window.session.all_stats)
            if args.probe:
                y, x = (int(v) for v in args.probe.split(","))
                window.probe_bar.set_probing(True)
                channel = window.grid.selected_channel()
                window.probe_unit(window.selected_layer, 0 if channel is None else channel, y, x)
                ready.append(lambda: window.session.probe is not None)
            if args.scan:
                if not window.scan_folder(args.scan):
                    raise ValueError(f"cannot scan {args.scan}")
                ready.append(lambda: window.scan_result is not None and bool(window.gallery.tiles()))
            if args.compare:
                window.pin_result()
                opened: list = []

                def b_shown() -> bool:   # once A is pinned, B is opened; then its comparison must arrive
                    if window.session.pinned is not None and not opened:
                        opened.append(window.open_image(args.compare))
                    return bool(opened) and window.session.comparison is not None
                ready.append(b_shown)
        except (ValueError, IndexError) as err:
            exit_code[0] = fail(str(err))
            window.close()
            return
        QTimer.singleShot(300, save_when_ready)

    waited = [0]
    ready: list = []  # what the worker still has to answer (a CAM, an ablation, a probe)

    def save_when_ready() -> None:
        # A bad class, channel or position has already closed the window through on_error.
        if all(done() for done in ready):
            save()
        elif waited[0] >= 100:
            print("convscope: the screenshot is taken without all it was asked to show (10 s passed)",
                  file=sys.stderr)
            save()
        else:
            waited[0] += 1
            QTimer.singleShot(100, save_when_ready)

    def save() -> None:
        from .export import save_qimage
        try:
            save_qimage(window.grab().toImage(), args.screenshot)
            print(f"wrote {args.screenshot}")
        except (OSError, ValueError) as err:
            exit_code[0] = fail(str(err))
        window.close()

    window.resultShown.connect(shoot)
    window.errorShown.connect(on_error)
