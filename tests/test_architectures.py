"""The architecture registry: CNNs from torchvision's registry, refusals, registry facts, builds, heads.

Heads are checked against an independent finding: the layer whose output, hooked
in a real CPU forward of a small input, equals the logits. Preprocessing is
checked against each weights enum's own ``transforms()`` and torchvision's
functional resize/crop.
"""
import os

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision.transforms import functional as TF

from inference import architectures as archs
from inference.errors import WeightsError
from inference.preprocess import preprocess

HEAD_MODELS = ["vgg16", "resnet18", "squeezenet1_1", "googlenet", "efficientnet_b0", "convnext_tiny",
               "mobilenet_v3_small"]


@pytest.fixture(scope="session")
def built_models():
    """Untrained models built once per session (small ones only)."""
    cache: dict = {}

    def get(name, num_classes=1000):
        key = (name, num_classes)
        if key not in cache:
            cache[key] = archs.build(name, num_classes=num_classes).eval()
        return cache[key]

    return get


def test_cnns_exclude_every_transformer_and_nothing_else():
    everything = set(torchvision.models.list_models(module=torchvision.models))
    cnns = set(archs.cnn_names())
    refused = everything - cnns
    assert refused == set(archs.transformer_names())
    assert all(n.startswith(("vit_", "swin_", "maxvit")) for n in refused) and refused
    for n in ("alexnet", "vgg16", "vgg19_bn", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "squeezenet1_0",
              "densenet201", "googlenet", "inception_v3", "mobilenet_v3_large", "mnasnet1_0",
              "shufflenet_v2_x2_0", "efficientnet_b7", "efficientnet_v2_s", "regnet_y_400mf", "convnext_large"):
        assert n in cnns, n


def test_refusals_are_one_line():
    assert archs.refusal("vit_b_16") == "vit_b_16 is a vision transformer: ConvScope shows CNNs for now"
    assert "vision transformer" in archs.refusal("swin_t") and "vision transformer" in archs.refusal("maxvit_t")
    typo = archs.refusal("resnet5")
    assert "unknown model 'resnet5'" in typo and "resnet50" in typo and "\n" not in typo
    assert "convscope models" in archs.refusal("xyzzy")
    assert archs.refusal("resnet50") is None
    with pytest.raises(WeightsError, match="vision transformer"):
        archs.build("vit_b_16")


def test_arch_info_from_the_weights_enum():
    info = archs.arch_info("inception_v3")
    weights = torchvision.models.Inception_V3_Weights.DEFAULT
    assert info.input_size == 299 and info.resize_size == 342
    assert info.num_params == weights.meta["num_params"]
    assert info.categories == tuple(weights.meta["categories"]) and len(info.categories) == 1000
    assert info.file_name == os.path.basename(weights.url) == "inception_v3_google-0cc3c7bd.pth"
    assert info.cache_path == os.path.join(torch.hub.get_dir(), "checkpoints", info.file_name)
    assert archs.arch_info("resnet18").input_size == 224


def test_cached_is_looked_up_now():
    info = archs.arch_info("squeezenet1_1")
    assert not info.cached  # the suite's TORCH_HOME is a fresh temp folder
    os.makedirs(os.path.dirname(info.cache_path), exist_ok=True)
    open(info.cache_path, "wb").close()
    try:
        assert archs.arch_info("squeezenet1_1").cached
    finally:
        os.remove(info.cache_path)


def test_build_is_seeded_and_does_not_touch_the_global_rng():
    before = torch.random.get_rng_state()
    a, b = archs.build("squeezenet1_1", seed=3), archs.build("squeezenet1_1", seed=3)
    c = archs.build("squeezenet1_1", seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    for (k, x), y, z in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(x, y), k
    assert not torch.equal(a.features[0].weight, c.features[0].weight)


def test_googlenet_and_inception_are_built_without_aux_heads(built_models):
    g = built_models("googlenet")
    assert g.aux1 is None and g.aux2 is None and not g.aux_logits
    with torch.device("meta"):
        reference = torchvision.models.inception_v3(aux_logits=False, init_weights=True)
    built = archs.build_meta("inception_v3")
    assert built.AuxLogits is None
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_meta_build_of_a_regnet_has_the_cpu_shapes():
    """RegNet's builder reads tensors back (.tolist()); the meta build must still give its real shapes."""
    meta = archs.build_meta("regnet_y_400mf")
    cpu = torchvision.models.regnet_y_400mf()
    assert all(t.is_meta for t in meta.state_dict().values())
    assert {k: v.shape for k, v in meta.state_dict().items()} == {k: v.shape for k, v in cpu.state_dict().items()}


def _logit_layer(model: nn.Module) -> str:
    """Independently, in a real CPU forward: the last parametrised leaf to run, which must make
    the logits' channels (SqueezeNet's conv is followed by ReLU and pooling, so not always equal)."""
    outs = []
    hooks = [m.register_forward_hook(lambda mod, i, o, n=n: outs.append((n, o)))
             for n, m in model.named_modules() if not list(m.children()) and list(m.parameters(recurse=False))]
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    for h in hooks:
        h.remove()
    name, out = outs[-1]
    assert out.shape[1] == logits.shape[1]
    if out.dim() == 2:
        assert torch.equal(out, logits)
    else:  # a conv head: the logits are its pooled (ReLU'd) maps
        torch.testing.assert_close(torch.relu(out).mean((2, 3)), logits)
    return name


@pytest.mark.parametrize("name", HEAD_MODELS)
def test_head_of(name, built_models):
    model = built_models(name, 7)
    assert archs.head_of(model) == (_logit_layer(model), 7)
    assert archs.head_of(archs.build_meta(name)) == (_logit_layer(model), 1000)


def test_head_of_leaves_the_model_alone(built_models):
    model = built_models("resnet18")
    fired = []
    handle = model.fc.register_forward_hook(lambda *a: fired.append(1))
    model.train()
    try:
        assert archs.head_of(model) == ("fc", 1000)
        assert not fired and model.training and not model.fc.weight.is_meta
    finally:
        handle.remove()
        model.eval()


@pytest.mark.parametrize("name", ["resnet50", "inception_v3"])
def test_preprocessing_is_the_weights_transforms(name, cat_path):
    weights = torchvision.models.get_model_weights(name).DEFAULT
    info = archs.arch_info(name)
    img = Image.open(cat_path).convert("RGB")
    prepared = preprocess(img, "imagenet", transform=info.transforms)
    want = weights.transforms()(img)
    assert prepared.tensor.shape == (3, info.input_size, info.input_size)
    torch.testing.assert_close(prepared.tensor, want, rtol=0, atol=1e-6)
    crop = TF.center_crop(TF.resize(img, info.resize_size, antialias=True), info.input_size)
    seen = torch.from_numpy(prepared.view_rgb).permute(2, 0, 1).int()
    assert (seen - TF.pil_to_tensor(crop).int()).abs().max() <= 1  # uint8 round trip of the normalised tensor
