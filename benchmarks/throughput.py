"""Training throughput: a plain PyTorch/torchvision loop against width_transfer's engine, same model, same process.

The plain loop is what most training scripts do: a Dataset that decodes each image to PIL and applies
torchvision transforms (RandomCrop with padding, RandomHorizontalFlip, ToTensor, Normalize), a DataLoader
with worker processes, an fp32 NCHW model and a host-to-device copy per batch. The engine keeps the
dataset on the device as one uint8 tensor, augments batches there (the same crop and flip), and uses the
precision and memory layout `auto_precision` picks for the network and device (bf16 autocast on GPUs and
for ResNets on CPUs with native bf16; channels_last except where oneDNN's AVX2 kernels get its gradients
wrong: see `width_transfer.train.channels_last_ok`).

    python benchmarks/throughput.py                       # ResNet18 x0.25 on Fashion-MNIST, 28 px
    python benchmarks/throughput.py --arch mobilenetv2 --width 0.5 --steps 20
"""
import argparse
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from width_transfer.arch import base_arch, scale_width
from width_transfer.data import load_dataset
from width_transfer.models import build_model
from width_transfer.loaders import TensorLoader
from width_transfer.device import autocast_for, auto_precision, pick_device
from width_transfer.train import param_groups


class PILDataset(Dataset):
    """Images decoded to PIL and transformed per sample, as torchvision's FashionMNIST dataset does."""

    def __init__(self, ds, pad):
        self.x, self.y = ds.images[:, 0].numpy(), ds.labels.numpy()
        self.tf = T.Compose([T.RandomCrop(ds.images.shape[-1], padding=pad), T.RandomHorizontalFlip(), T.ToTensor(),
                             T.Normalize(ds.info.mean, ds.info.std)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.tf(Image.fromarray(self.x[i], mode="L")), int(self.y[i])


def timed(model, batches, opt, crit, device, precision, warmup, steps):
    model.train()
    it, n, t0 = iter(batches), 0, None
    for k in range(warmup + steps):
        if k == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        x, y = next(it)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast_for(device, precision):
            loss = crit(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += len(y) if k >= warmup else 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def forever(loader):
    e = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(e)
        yield from loader
        e += 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 30 on CPU, 300 on GPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 5 on CPU, 30 on GPU)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers of the plain loop")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--compile", action="store_true", help="also time the engine with torch.compile")
    a = p.parse_args()
    device = pick_device(a.device)
    steps = a.steps or (300 if device.type == "cuda" else 30)
    warmup = a.warmup if a.warmup is not None else (30 if device.type == "cuda" else 5)
    ds = load_dataset(a.dataset, "train")
    info = ds.info
    arch = scale_width(base_arch(a.arch, info.num_classes, info.in_channels, small_input=True), a.width)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{a.arch} x{a.width} on {a.dataset} at {ds.resolution} px, batch {a.batch_size}, {steps} timed steps, {name}")

    def fresh(channels_last=False):
        torch.manual_seed(0)
        m = build_model(arch).to(device)
        if channels_last:
            m = m.to(memory_format=torch.channels_last)
        return m, torch.optim.SGD(param_groups(m, 5e-4), lr=0.05, momentum=0.9, nesterov=True)

    rows = []
    m, opt = fresh()
    plain = DataLoader(PILDataset(ds, pad=max(1, round(ds.resolution / 8))), a.batch_size, shuffle=True,
                       num_workers=a.workers, drop_last=True, pin_memory=device.type == "cuda",
                       persistent_workers=a.workers > 0)
    rows.append(("plain DataLoader, fp32 NCHW", timed(m, forever(plain), opt, crit, device, "fp32", warmup, steps)))
    prec, cl = auto_precision(arch, device)
    m, opt = fresh(cl)
    eng = TensorLoader(ds, a.batch_size, device, True, seed=0, channels_last=cl)
    rows.append((f"engine, {prec}{' + channels_last' if cl else ''}",
                 timed(m, forever(eng), opt, crit, device, prec, warmup, steps)))
    if a.compile:
        m, opt = fresh(cl)
        mc = torch.compile(m)
        rows.append((f"engine, {prec}, torch.compile", timed(mc, forever(eng), opt, crit, device, prec, warmup, steps)))
    base = rows[0][1]
    for label, ips in rows:
        print(f"{label:40s} {ips:10,.0f} img/s   {ips / base:5.2f}x")


if __name__ == "__main__":
    main()
