"""Does DMCP on MobileNetV2 x0.25 work with lr 0.05 and `min_width` 0.5 (the cpu scale's settings
since the rerun)? The checks against the cpu scale's first settings, lr 0.1 and a 10% minimum (asked
for explicitly: their records keep their keys), read from the store (nothing is run:
`set_cached_only`).

For each search (direct at depth x1, seeds 0 and 1, with both settings; direct at depth x2, seeds 0
and 1, with the fix): its seconds, the widest sub-network's loss per epoch, the architecture loss
per architecture epoch (2.30 = ln 10 is chance: a collapse), `supernet_loss` and the mean
|ln(width / start width)| from its own start; then the Pearson r of the width multipliers between
seeds (the noise floor), between settings, and of the depth-x1 results extrapolated to depth x2
(stack-last) with the depth-x2 searches. Last, every search of the scale's MobileNetV2 grids with the
fix: its first and last architecture loss, and whether it collapsed (the last at chance, as
`dmcp_divergence.py` reads it: above 0.98 ln 10).

    python benchmarks/dmcp_mobilenet_fix.py
"""
import math
from width_transfer.runs import NotRun, search, start_only, set_cached_only, label
from width_transfer.scales import get_scale, network
from width_transfer.study import width_similarity, supernet_loss
from width_transfer.channels import group_widths
from width_transfer.transfer import extrapolate
S = get_scale("cpu"); set_cached_only(True)
d1, d2 = S.targets["mobilenetv2"], S.points("mobilenetv2", "depth")[-1]
u1, u2 = network(S, "mobilenetv2", d1), network(S, "mobilenetv2", d2)
FIX = dict(lr=0.05, min_width=0.5)     # the scale's own now
FIRST = dict(lr=0.1, min_width=0.1)    # the scale's first settings (their records' keys)
CHANCE = math.log(10)                  # the loss of a 10-class guess
def dist(a, b):
    wa, wb = group_widths(a), group_widths(b)
    return sum(abs(math.log(x / y)) for x, y in zip(wa, wb)) / len(wa)
got = {}
for name, pt, seed, ov in [("d1 s0 fix", d1, 0, FIX), ("d1 s1 fix", d1, 1, FIX), ("d1 s0 lr0.1", d1, 0, FIRST),
                           ("d1 s1 lr0.1", d1, 1, FIRST), ("d2 s0 fix", d2, 0, FIX), ("d2 s1 fix", d2, 1, FIX)]:
    try: r = search("cpu", "dmcp", "mobilenetv2", pt, seed, **ov)
    except NotRun: print(name, "not stored"); continue
    tr = [e for e in r.trace if "epoch" in e]
    got[name] = r.arch
    print(f"{name} ({r.record['hash'][:8]}): {r.wall_s:.0f} s, widest loss {[round(e['loss'], 2) for e in tr]}, arch loss "
          f"{[round(e['arch_loss'], 2) for e in tr if e.get('arch_loss')]}, supernet_loss {supernet_loss(r.trace, 'dmcp'):.2f}, "
          f"arch steps {tr[-1].get('arch_steps')}, distance from its start "
          f"{dist(r.arch, start_only('cpu', 'dmcp', 'mobilenetv2', pt, **ov)):.3f}")
def r(a, b, u): return f"{width_similarity(a, b, u):.2f}"
pairs = [("d1 s0 fix", "d1 s1 fix"), ("d1 s0 lr0.1", "d1 s1 lr0.1"), ("d1 s0 fix", "d1 s0 lr0.1"), ("d1 s1 fix", "d1 s1 lr0.1")]
for a, b in pairs:
    if a in got and b in got: print(f"r({a}, {b}) = {r(got[a], got[b], u1)}, distance {dist(got[a], got[b]):.3f}")
if "d2 s0 fix" in got and "d2 s1 fix" in got:
    print(f"r(d2 s0 fix, d2 s1 fix) = {r(got['d2 s0 fix'], got['d2 s1 fix'], u2)}")
for a in ("d1 s0 fix", "d1 s1 fix"):
    if a not in got: continue
    moved = extrapolate(got[a], u1, u2, S.stacking, resolution=28)
    print(a, "extrapolated to depth x2: r with", {b: r(moved, got[b], u2) for b in ("d2 s0 fix", "d2 s1 fix") if b in got})
print("every search of the MobileNetV2 grids with the fix (architecture loss first ... last):")
for pt in dict.fromkeys(p for g in S.grids for p in S.points("mobilenetv2", g)):
    try: r = search("cpu", "dmcp", "mobilenetv2", pt, 0, **FIX)
    except NotRun: print(f"  {label(pt)}: not stored"); continue
    al = [e["arch_loss"] for e in r.trace if e.get("arch_loss")]
    print(f"  {label(pt)} ({r.record['hash'][:8]}, {r.wall_s:.0f} s): {al[0]:.2f} ... {al[-1]:.2f}"
          + ("  COLLAPSED" if al[-1] > 0.98 * CHANCE else ""))
