"""Weight resolution: checkpoint, cached ImageNet file, download from a loopback server, untrained."""
import hashlib

import numpy as np
import pytest
import torch

from inference.errors import WeightsError
from inference.model import WeightsRequest, load_model, release_untrained


@pytest.fixture(autouse=True)
def _no_cached_untrained():
    """Each test here loads models of its own: do not keep the engine's cached untrained VGG16 (0.5 GB)
    under the next test's, which is where the suite's peak RSS was (bench/README)."""
    yield
    release_untrained()


@pytest.fixture
def file_bundle(vgg_checkpoint):
    """The engine's model from the seeded checkpoint, for the one test here that uses it: the conftest's
    is kept for the module, under the 0.5 GB models the later tests load."""
    return load_model(WeightsRequest(weights=str(vgg_checkpoint), device="cpu"))


def test_offline_without_cache_is_untrained_and_flagged():
    bundle = load_model(WeightsRequest(offline=True))
    assert bundle.source == "untrained" and bundle.pretrained is False
    assert bundle.report() == {"source": "untrained", "path": None, "pretrained": False}
    assert "offline" in bundle.notice
    assert bundle.num_classes == 1000 and bundle.class_names[281] == "tabby"


def test_untrained_is_reproducible():
    import gc
    import weakref

    from inference.model import release_untrained

    first = load_model(WeightsRequest(untrained=True)).model
    a = first.features[0].weight.clone()
    gone = weakref.ref(first)
    del first
    release_untrained()
    gc.collect()
    assert gone() is None  # so the second load builds the model again from the seed
    b = load_model(WeightsRequest(untrained=True)).model.features[0].weight
    assert torch.equal(a, b)


def test_checkpoint_with_cls_classes(file_bundle, vgg_checkpoint):
    assert file_bundle.source == "file" and file_bundle.pretrained
    assert file_bundle.class_names == ["cat", "dog"] and not file_bundle.imagenet_head
    state = torch.load(vgg_checkpoint, weights_only=True)
    assert torch.equal(file_bundle.model.classifier[6].weight, state["classifier.6.weight"])


def test_classes_option_overrides_and_must_match(vgg_checkpoint, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("one\ntwo\n")
    bundle = load_model(WeightsRequest(weights=str(vgg_checkpoint), classes=str(names)))
    assert bundle.class_names == ["one", "two"]
    names.write_text("a\nb\nc\n")
    with pytest.raises(WeightsError, match="3 names"):
        load_model(WeightsRequest(weights=str(vgg_checkpoint), classes=str(names)))


def test_download_then_cache_then_imagenet_answers(imagenet_like_bytes, file_server, monkeypatch, tmp_path, cat_path):
    """The real path: not cached → download (progress, hash check) → cached → loaded as ImageNet."""
    from inference.analysis import analyze
    from inference.download import cached_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("CONVSCOPE_OFFLINE")
    folder, base = file_server
    digest = hashlib.sha256(imagenet_like_bytes.read_bytes()).hexdigest()
    name = f"vgg16-{digest[:8]}.pth"
    (folder / name).symlink_to(imagenet_like_bytes)
    url = f"{base}/{name}"
    seen = []
    bundle = load_model(WeightsRequest(url=url, device="cpu"), progress=lambda d, t: seen.append((d, t)))
    assert bundle.source == "imagenet" and bundle.pretrained and bundle.imagenet_head
    assert cached_path(url).is_file() and seen[-1][0] == seen[-1][1] == imagenet_like_bytes.stat().st_size
    pred = analyze(cat_path, bundle).predictions
    assert set(pred.cat_vs_dog) == {"cat", "dog"}
    probs = torch.softmax(torch.from_numpy(pred.logits).double(), 0)  # independent of predict.py's softmax
    assert pred.cat_vs_dog["cat"] == pytest.approx(float(probs[281:286].sum()), rel=1e-5)  # classes 281–285
    assert pred.cat_vs_dog["dog"] == pytest.approx(float(probs[151:269].sum()), rel=1e-5)  # classes 151–268
    # Second time: from the cache, no request needed even offline.
    (folder / name).unlink()
    again = load_model(WeightsRequest(url=url, offline=True))
    assert again.source == "imagenet" and again.notice is None


def test_cat_and_dog_sums_end_exactly_at_their_first_and_last_classes():
    """Each class next to a boundary (150|151, 268|269, 280|281, 285|286) has its own big share."""
    from inference.predict import predictions_from_logits

    logits = torch.zeros(1000, dtype=torch.float64)
    for k, i in enumerate((150, 151, 268, 269, 280, 281, 285, 286)):
        logits[i] = 6.0 + 0.3 * k
    probs = torch.softmax(logits, 0)
    pred = predictions_from_logits(logits.float().numpy(), [f"c{i}" for i in range(1000)], imagenet_head=True)
    assert pred.cat_vs_dog["cat"] == pytest.approx(float(probs[281:286].sum()), rel=1e-5)
    assert pred.cat_vs_dog["dog"] == pytest.approx(float(probs[151:269].sum()), rel=1e-5)
    assert predictions_from_logits(logits[:10].float().numpy(), ["x"] * 10, imagenet_head=True).cat_vs_dog is None


def test_failed_download_falls_back_to_untrained(file_server, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("CONVSCOPE_OFFLINE")
    _, base = file_server
    url = f"{base}/vgg16-397923af.pth"  # 404 on the loopback server
    bundle = load_model(WeightsRequest(url=url))
    assert bundle.source == "untrained" and "404" in bundle.notice
    from inference.download import hub_checkpoint_dir
    assert not any(hub_checkpoint_dir().glob("*")) if hub_checkpoint_dir().exists() else True


def test_env_offline_forbids_download(monkeypatch):
    monkeypatch.setenv("CONVSCOPE_OFFLINE", "1")
    assert WeightsRequest().download_allowed is False
    monkeypatch.setenv("CONVSCOPE_OFFLINE", "0")
    assert WeightsRequest().download_allowed is True
    assert WeightsRequest(offline=True).download_allowed is False


def test_a_checkpoint_of_another_cnn_loads_as_that_cnn(tmp_path):
    """Issue 12: the architecture comes from the file's keys and shapes; a 2-class ResNet-18 head is fine."""
    from torchvision.models import resnet18

    torch.manual_seed(3)
    reference = resnet18(num_classes=2).eval()
    path = tmp_path / "catdog_resnet18.pth"
    torch.save(reference.state_dict(), path)
    bundle = load_model(WeightsRequest(weights=str(path), device="cpu"))
    assert (bundle.arch, bundle.source, bundle.num_classes, bundle.display_name) == ("resnet18", "file", 2, "ResNet18")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        np.testing.assert_allclose(bundle.model(x.contiguous(memory_format=torch.channels_last)).numpy(),
                                   reference(x).numpy(), rtol=1e-4, atol=1e-5)
    # --arch names what it must be: a file that is not that architecture is one line.
    with pytest.raises(WeightsError) as err:
        load_model(WeightsRequest(weights=str(path), arch="mobilenet_v2"))
    assert "\n" not in str(err.value) and "not a mobilenet_v2 checkpoint" in str(err.value)


def test_a_file_of_no_cnn_is_one_line(tmp_path):
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(8, 3), "decoder.weight": torch.zeros(3, 8)}, path)
    with pytest.raises(WeightsError) as err:
        load_model(WeightsRequest(weights=str(path)))
    assert "\n" not in str(err.value) and "mystery.pth" in str(err.value) and "none of torchvision's CNNs" in str(err.value)


def test_untrained_and_cached_imagenet_weights_of_another_cnn(tmp_path):
    """--arch resnet18: untrained from the fixed seed (reproducible), or the enum's file from torch.hub's cache."""
    from torchvision.models import ResNet18_Weights, resnet18

    from inference.download import cached_path
    from inference.model import release_untrained

    release_untrained()
    a = load_model(WeightsRequest(arch="resnet18", untrained=True))
    torch.manual_seed(0)
    expected = resnet18()
    assert a.arch == "resnet18" and a.source == "untrained" and not a.pretrained
    assert torch.equal(a.model.conv1.weight.contiguous(), expected.conv1.weight)
    release_untrained()
    cached = cached_path(ResNet18_Weights.DEFAULT.url)
    assert cached.name == "resnet18-f37072fd.pth"  # the file name from the enum's URL, as torch.hub keeps it
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(9)
    torch.save(resnet18().state_dict(), cached)
    try:
        b = load_model(WeightsRequest(arch="resnet18", offline=True))
        assert (b.source, b.pretrained, b.num_classes, b.path) == ("imagenet", True, 1000, str(cached))
        assert b.class_names[281] == "tabby"
    finally:
        cached.unlink()


def test_a_vision_transformer_is_refused_in_one_line():
    with pytest.raises(Exception) as err:
        load_model(WeightsRequest(arch="vit_b_16", untrained=True))
    assert "\n" not in str(err.value) and "transformer" in str(err.value)


def test_untrained_init_follows_torchvision_scheme():
    """Same init scheme as torchvision's VGG (kaiming fan_out for convs, N(0, 0.01) for linears, zero biases)."""
    from inference.model import untrained_model

    m = untrained_model()
    conv, fc = m.features[0], m.classifier[0]
    expected_conv_std = (2.0 / (conv.out_channels * 9)) ** 0.5
    assert conv.weight.std().item() == pytest.approx(expected_conv_std, rel=0.15)
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert not conv.bias.any() and not fc.bias.any()
    assert not any(p.is_meta for p in m.parameters())


@pytest.mark.parametrize("arch, shown", [("vgg16", "VGG16"), ("vgg16_bn", "VGG16_bn"), ("resnet50", "ResNet50"),
                                         ("densenet121", "DenseNet121"), ("mobilenet_v3_small", "MobileNetV3_small"),
                                         ("efficientnet_b0", "EfficientNet_b0"), ("inception_v3", "inception_v3")])
def test_captions_name_the_model_as_its_class_spells_it(arch, shown):
    import torch
    import torchvision

    from inference.model import display_name

    with torch.device("meta"):
        model = torchvision.models.get_model(arch, weights=None, **({"init_weights": False} if arch == "inception_v3" else {}))
    assert display_name(model, arch) == shown


def test_an_architecture_is_fed_as_its_own_weights_enum_preprocesses(cat_path):
    """ResNet-50's DEFAULT weights resize to 232 (not VGG16's 256) before the 224 crop."""
    from PIL import Image
    from torchvision.models import ResNet50_Weights

    from inference.analysis import AnalysisOptions, analyze
    from inference.model import release_untrained

    release_untrained()
    bundle = load_model(WeightsRequest(arch="resnet50", untrained=True))
    run = analyze(str(cat_path), bundle, AnalysisOptions(layers=frozenset(["fc"])))
    with Image.open(cat_path) as im:
        expected = ResNet50_Weights.DEFAULT.transforms()(im.convert("RGB"))
    np.testing.assert_allclose(run.prepared.tensor.numpy(), expected.numpy(), atol=1e-6)
    release_untrained()
