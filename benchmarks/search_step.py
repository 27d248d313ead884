"""Seconds per sub-network training step: masked (0/1 scales on the whole supernet) against sliced (the sub-network's
own channels only), as the sandwich rule of DMCP and AutoSlim runs them at the cpu scale.

The supernet is the cpu scale's network widened 1.5x (DMCP's and AutoSlim's `widen`), batch 64, 28 px, the precision
and layout the engine picks (`resolve_precision`; the cpu scale fixes its own ResNet18 searches to fp32 NCHW,
`Scale.search_precision`). A step is one forward and backward pass of a sub-network whose
every group keeps `fraction` of the supernet's channels; both modes give the same outputs (nbs/09_channels.ipynb).

    python benchmarks/search_step.py                      # ResNet18 x0.125 and MobileNetV2 x0.25
    python benchmarks/search_step.py --steps 40 --fractions 0.67 0.35
"""
import argparse
import time

import torch

from width_transfer.arch import base_arch, scale_width
from width_transfer.models import build_model
from width_transfer.channels import Gates, group_widths
from width_transfer.search import resolve_precision
from width_transfer.device import autocast_for

NETS = {"resnet18": 0.125, "mobilenetv2": 0.25}   # the cpu scale's targets


def seconds_per_step(model, gates, widths, mode, x, y, steps, prec, device):
    "Median seconds of one forward+backward of the sub-network `widths` in `mode` (masked or sliced)."
    (gates.set_mask if mode == "masked" else gates.set_widths)(widths)
    times = []
    for i in range(steps + 3):                     # 3 warm-up steps
        t0 = time.perf_counter()
        with autocast_for(device, prec):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        if i >= 3: times.append(time.perf_counter() - t0)
    gates.full()
    return sorted(times)[len(times) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement (median reported)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step (the cpu scale's)")
    p.add_argument("--widen", type=float, default=1.5, help="supernet width over the network (DMCP, AutoSlim)")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.67, 0.35], help="sub-network widths / supernet's")
    args = p.parse_args(argv)
    device = torch.device("cpu")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, 28 px, "
          f"supernet x{args.widen}")
    print(f"{'network':>22} {'fraction':>8} {'masked ms':>10} {'sliced ms':>10} {'speed-up':>8}")
    for name, w in NETS.items():
        sup_arch = scale_width(scale_width(base_arch(name, 10, 1, True), w), args.widen)
        prec, cl = resolve_precision("auto", sup_arch, device)
        torch.manual_seed(0)
        model = build_model(sup_arch).train()
        if cl: model = model.to(memory_format=torch.channels_last)
        gates = Gates(model, sup_arch)
        x = torch.randn(args.batch_size, 1, 28, 28)
        if cl: x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (args.batch_size,))
        for f in args.fractions:
            widths = [max(1, round(g * f)) for g in group_widths(sup_arch)]
            m, s = (seconds_per_step(model, gates, widths, mode, x, y, args.steps, prec, device)
                    for mode in ("masked", "sliced"))
            print(f"{name + ' x' + str(w) + ' ' + prec:>22} {f:>8.2f} {1e3 * m:>10.1f} {1e3 * s:>10.1f} {m / s:>7.2f}x",
                  flush=True)
        gates.remove()


if __name__ == "__main__":
    main()
