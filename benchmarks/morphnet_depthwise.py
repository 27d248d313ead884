"""Why MorphNet v4 missed its sparsity on MobileNetV2, and v5 does not: one structure-learning run
at the cpu scale's settings, printing every `--every` steps the regularizer, the largest BN scale,
the largest gradient and how many BNs normalize a near-constant input (running variance < 1e-4).

    python benchmarks/morphnet_depthwise.py --point depth:2 --strength 38.055 --lr 0.05 --sources v4
    python benchmarks/morphnet_depthwise.py --point depth:2 --strength 38.055 --lr 0.05 --sources v5

`--sources v4` makes every BN of a group a regularization source, the BN after each depthwise conv
too (MorphNet v2-v4); `v5` leaves that one out (`FlopsRegularizer.sources`, morph-net issue 32).
The penalty is the search's (`learn_structure`: Nesterov SGD, then `prox_shrink`); the batches are
a plain shuffled DataLoader (seed 0), not the search's session loader.
"""
import argparse, math, time, warnings
warnings.filterwarnings("ignore", message="Converting a tensor")
import torch
from torch import nn
from width_transfer.arch import Arch
from width_transfer.models import build_model
from width_transfer.optimizers.morphnet import FlopsRegularizer, prox_shrink
from width_transfer.runs import _search_setup
from width_transfer.scales import get_scale
from width_transfer.train import param_groups

from searches import point   # grid 'direct' or a grid's point, as benchmarks/searches.py names it

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--point", default="depth:2", help="grid:index of scales.points, or 'direct'")
p.add_argument("--net", default="mobilenetv2", help="the network (a NETWORKS name)")
p.add_argument("--strength", type=float, default=38.055, help="x 1 / the initial regularizer")
p.add_argument("--lr", type=float, default=None, help="fixed lr (default: the scale's)")
p.add_argument("--sources", choices=("v4", "v5"), default="v4", help="which BNs are sources")
p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: the epochs)")
p.add_argument("--every", type=int, default=25, help="print every this many steps")
a = p.parse_args()
S = get_scale("cpu")
grid, _, index = a.point.partition(":")
if not (index.isdigit() or a.point == "direct"):
    raise SystemExit(f"--point takes grid:index or 'direct', got {a.point!r}")
pt = point(S, a.net, grid, int(index or 0))
over = {} if a.lr is None else dict(lr=a.lr)
st = _search_setup(S, "morphnet", a.net, pt, 0, None, "cpu", 1, over)
c = st.config; arch = Arch(**c["arch"]); s = c["settings"]
torch.manual_seed(0)
model = build_model(arch)
reg = FlopsRegularizer(model, arch, c["resolution"], s["threshold"])
if a.sources == "v4":   # every BN of the group, the depthwise conv's too
    reg.sources = [[bn for i in g for bn in reg.layers[i].bns] for g in reg.groups]
    reg.free = [not src for src in reg.sources]
lam = a.strength / float(reg().detach())
opt = torch.optim.SGD(param_groups(model, s["wd"]), lr=s["lr"], momentum=0.9, nesterov=True)
gammas = [bn.weight for src in reg.sources for bn in src]
bns = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
loader = torch.utils.data.DataLoader(st.data, batch_size=s["batch_size"], shuffle=True,
                                     drop_last=True, generator=torch.Generator().manual_seed(0))
crit, step, t0 = nn.CrossEntropyLoss(), 0, time.time()
print(f"{a.net} {a.point}: {s['epochs']} epochs of {len(loader)} steps, lr {s['lr']}, "
      f"strength {a.strength}, sources {a.sources}", flush=True)
for epoch in range(s["epochs"]):
    for x, y in loader:
        task = crit(model(x), y)
        pen = reg()
        pull = torch.autograd.grad(lam * pen, gammas, allow_unused=True)
        opt.zero_grad()
        task.backward()
        top = max((float(q.grad.norm()), n) for n, q in model.named_parameters() if q.grad is not None)
        opt.step()
        prox_shrink(gammas, pull, s["lr"] / (1 - 0.9))
        if step % a.every == 0 or top[0] > 1e3 or not math.isfinite(task.item()):
            with torch.no_grad():
                big = max((float(m.weight.abs().max()), n) for n, m in bns)
                flat = sum(float(m.running_var.min()) < 1e-4 for _, m in bns)
            print(f"step {step:4d} task {task.item():.3f} regularizer {float(pen):.3g} "
                  f"max|gamma| {big[0]:.3g} ({big[1]}) max grad {top[0]:.3g} ({top[1]}) "
                  f"flat BNs {flat}", flush=True)
        if not math.isfinite(task.item()): raise SystemExit(f"diverged at step {step}")
        step += 1
        if step == a.steps: break
    if step == a.steps: break
frac = reg.alive_flops(c["resolution"]) / c["target_flops"]
print(f"after {step} steps ({time.time() - t0:.0f} s): alive fraction {frac:.3f}")
