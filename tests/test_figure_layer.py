"""The figure's default layer is the model's last convolution, found from the run (app/figure_data.py)."""
import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18

from app.figure_data import last_conv
from inference.analysis import AnalysisOptions, analyze
from inference.model import ModelBundle, prepare


def _last_conv_to_run(model, x) -> str:
    """Independently: the last Conv2d whose hook fires in a plain forward (its map more than 1×1)."""
    order = []
    handles = [m.register_forward_hook(lambda m, a, o, n=n: order.append((n, o.shape)))
               for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return [n for n, shape in order if min(shape[2:]) > 1][-1]


def test_last_conv_of_other_models(cat_path, file_bundle):
    assert last_conv(analyze(cat_path, file_bundle, AnalysisOptions(stats=False))) == "features.28"  # conv5_3
    for build in (resnet18, mobilenet_v3_small):
        torch.manual_seed(0)
        model = prepare(build(num_classes=3), torch.device("cpu"))
        bundle = ModelBundle(model, build.__name__, "untrained", None, False, ["a", "b", "c"], torch.device("cpu"))
        run = analyze(cat_path, bundle, AnalysisOptions(stats=False))
        assert last_conv(run) == _last_conv_to_run(model, run.input_batch())
