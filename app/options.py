"""The command-line options shared by the GUI, ``inspect``, ``dump`` and ``export``.

Kept free of torch so that parsing the GUI's command line costs nothing at start-up.
"""
import argparse
import os
import sys

from inference.weights_request import WeightsRequest

PREPROCESS_CHOICES = ("imagenet", "legacy", "letterbox")
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def fail(message: str) -> int:
    """The one stderr line every user error ends in; returns the exit code 2."""
    print(f"convscope: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def no_display() -> bool:
    """True on a Linux machine with no X11/Wayland display and no Qt platform chosen."""
    return sys.platform.startswith("linux") and not any(
        os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is exactly one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"convscope: error: {' '.join(message.split())}\n")


def add_weight_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("weights")
    g.add_argument("--arch", metavar="NAME", default=None,
                   help="a torchvision CNN (resnet50, mobilenet_v2, …; `convscope models` lists them); default vgg16, "
                        "or what --weights holds (detected from its keys and shapes)")
    g.add_argument("--weights", metavar="FILE", help="a state_dict checkpoint (.pth) of any torchvision CNN")
    g.add_argument("--classes", metavar="FILE", help="class names, one per line (default: cls_classes.txt beside the checkpoint)")
    g.add_argument("--offline", action="store_true", help="never download (also CONVSCOPE_OFFLINE=1)")
    g.add_argument("--weights-url", metavar="URL", default=None, help="download ImageNet weights from URL instead of torchvision's")
    g.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    g.add_argument("--preprocess", choices=PREPROCESS_CHOICES, default="imagenet",
                   help="imagenet: short side 256, crop 224, ImageNet mean/std; legacy: short side 224, crop, x/127.5-1; "
                        "letterbox: fit onto a grey 224 canvas, x/127.5-1")


def weights_request(args) -> WeightsRequest:
    """The WeightsRequest the parsed options describe."""
    return WeightsRequest(weights=args.weights, classes=args.classes, offline=args.offline,
                          url=args.weights_url, device=args.device, arch=getattr(args, "arch", None))
