"""Which weights the user asked for, as an immutable request (no torch import: the GUI builds it)."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class WeightsRequest:
    weights: str | None = None          # an explicit checkpoint file
    classes: str | None = None          # class names for it (else cls_classes.txt beside it)
    offline: bool = False               # forbid any download
    url: str | None = None              # ImageNet weights URL; None = torchvision's (tests point it at 127.0.0.1)
    device: str = "auto"
    untrained: bool = False             # the user chose "Use untrained" explicitly
    fallback: bool = True               # on a failed download use the untrained model (else raise, keep the current one)
    notice: str | None = None           # with untrained: why it is the untrained model (shown to the user)
    arch: str | None = None             # a torchvision CNN's registry name; None: VGG16, or what a file holds

    @property
    def download_allowed(self) -> bool:
        return not self.offline and os.environ.get("CONVSCOPE_OFFLINE", "").lower() not in ("1", "true", "yes")
