"""How much does a change of engine move one search? Pearson r between the ResNet18 fig 10 searches
made in bf16 channels_last (the engine's choice on an AVX512-BF16 CPU, before the cpu scale fixed
ResNet18's searches to fp32 NCHW) and the fp32 NCHW searches of the same point and seed, for
every point where the store holds both (nothing runs; `runs.cached_only`). Run it on an AVX512-BF16 CPU:
elsewhere the engine's choice is not bf16 channels_last and nothing is found.

    python benchmarks/search_engines.py [dmcp]
"""
import dataclasses
import sys

from width_transfer.runs import cached_only, transfer
from width_transfer.scales import get_scale, network
from width_transfer.study import resolution_of, source_name, width_similarity

algorithm = sys.argv[1] if len(sys.argv) > 1 else "dmcp"
S = get_scale("cpu")
B = dataclasses.replace(S, search_precision={}, search_layout={"mobilenetv2": False})   # the engine's choice
n = "resnet18"
target, base = S.targets[n], network(S, n, S.targets[n])
points = [(f"direct s{sd}", target, sd) for sd in S.search_seeds]
for g in ("width", "resolution", "data", "compound"):
    for rel, p in zip(S.grids[g][:-1], S.points(n, g)[:-1]):
        points.append((source_name(g, rel, resolution_of(S, p)), p, 0))
with cached_only():
    for name, p, sd in points:
        try:
            fp32 = transfer(S, algorithm, n, p, target, sd, S.stacking)[0]
            bf16 = transfer(B, algorithm, n, p, target, sd, S.stacking)[0]
        except LookupError:   # NotRun: one of the two is not in the store
            continue
        print(f"{name:>24}: r(bf16 channels_last, fp32 NCHW) {width_similarity(bf16, fp32, base):.2f}")
