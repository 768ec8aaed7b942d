"""The independent edited forward the ablation tests compare against (engine and CLI alike).

A forward hook on a plain torchvision VGG16 returns the edited output, the edit written here
from scratch (not inference.probes). torchvision's ReLUs are in place, but a hook on a conv
fires when the conv has returned, before its ReLU runs: at conv3_3 the hook edits the pre-ReLU
values and relu3_3 then rectifies the edited tensor, which is what the engine claims (its
conv3_3 is the conv's output before the ReLU, and the edit is applied there).
"""
import numpy as np
import torch


def module_of(model, layer: str):
    """``features.14`` → model.features[14]; ``avgpool`` → model.avgpool."""
    group, _, i = layer.partition(".")
    module = getattr(model, group)
    return module[int(i)] if i else module


def reference_edit(out, channels, mode, keep):
    """Zero ``channels`` of a [1, C, ...] tensor, or set each to its own mean; keep: every *other* channel."""
    out = out.clone()
    hit = [ch for ch in range(out.shape[1]) if (ch in set(channels)) != keep]
    if mode == "zero":
        out[:, hit] = 0
    else:
        for ch in hit:
            out[:, ch] = out[:, ch].mean()
    return out


def edited_forward(model, x, layer, channels, mode="zero", keep=False, watch=()):
    """Float64 logits of ``model`` on [3, H, W] ``x`` with ``layer``'s output edited by a hook; and
    {name: output without batch dim} of ``layer`` (as edited) and of every layer in ``watch``."""
    kept = {}

    def edit(_module, _args, output):
        kept[layer] = reference_edit(output, channels, mode, keep)
        return kept[layer].clone()  # the in-place ReLU after it must not change what we kept

    def watcher(name):
        def hook(_module, _args, output):
            kept[name] = output.clone()
        return hook

    handles = [module_of(model, layer).register_forward_hook(edit)]
    handles += [module_of(model, name).register_forward_hook(watcher(name)) for name in watch]
    try:
        with torch.no_grad():
            logits = model(x.unsqueeze(0))[0].numpy().astype(np.float64)
    finally:
        for h in handles:
            h.remove()
    return logits, {name: t[0].numpy() for name, t in kept.items()}


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()
