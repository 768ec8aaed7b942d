"""An independent forward for the tests: every call of every module, its output cloned the moment it returns."""
import torch


def every_call(model, x):
    """(logits [N], [(name, output [C, …])] in the order the calls returned, the names of the modules that ran).

    A module's later calls are named ``name#2`` …, as the engine names them; a non-tensor output is None."""
    calls, outs = {}, []

    def record(name):
        def hook(module, args, out):
            k = calls[name] = calls.get(name, 0) + 1
            outs.append((name if k == 1 else f"{name}#{k}", out[0].clone() if isinstance(out, torch.Tensor) else None))
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in model.named_modules() if name]
    try:
        with torch.no_grad():
            logits = model(x.unsqueeze(0))
    finally:
        for h in handles:
            h.remove()
    return logits[0], outs, set(calls)
