import os
import torch

# at most 2 threads, and no more than the cores this process may run on (taskset, cgroups):
# two OpenMP threads sharing one core spin-wait on each other and run many times slower
torch.set_num_threads(max(1, min(2, len(os.sched_getaffinity(0)))))
