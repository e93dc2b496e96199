#!/usr/bin/env python3
"""gaplab's PyTorch peer: the training step `npm run train` runs for NIN, in PyTorch, timed on the CPU.

Mirrors src/models/bodies/nin.ts + src/models/heads.ts + src/train/step.ts + src/train/optimizer.ts for the
configs/nin-<head>.yaml models (width 1, three mlpconv blocks, max pooling 3x3/2 'same', dropout 0.5 after pools):
SGD with momentum and weight decay on conv/dense kernels only (biases undecayed), mean softmax cross-entropy, and
one read-back per step of the loss and the number of correct predictions, as our loop does. Random CIFAR-shaped data.

    /usr/bin/python3 bench/pytorch/nin.py --head gap --batch 64 --steps 20 --threads 2 [--bf16] [--channels-last]
    [--device cuda]   (on an NVIDIA GPU: the peer of the webgpu backend, which scripts/gpu-check.sh measures)

Prints one JSON line (the last line of stdout): images/s of training steps and of inference passes (median over the
timed steps, after warm-up), peak RSS, the oneDNN ISA PyTorch dispatched to, and the allocator it ran with.
Needs Debian's python3-torch; `npm run bench -- --vs-pytorch` runs it with and without a preloaded tcmalloc/jemalloc.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import torch
import torch.nn as nn


def mlpconv(cin, filters, k):
    """k x k conv then 1x1 convs, each followed by ReLU; 'same' padding (k // 2)."""
    layers, c = [], cin
    for i, f in enumerate(filters):
        ks = k if i == 0 else 1
        layers += [nn.Conv2d(c, f, ks, padding=ks // 2), nn.ReLU(inplace=True)]
        c = f
    return layers


def nin(head, classes=10, dropout=0.5):
    # Blocks as NIN_CIFAR in src/models/bodies/nin.ts; block 3 ends at 192 'features' maps [n,192,8,8].
    body = (mlpconv(3, [192, 160, 96], 5) + [nn.MaxPool2d(3, 2, padding=1), nn.Dropout(dropout)]
            + mlpconv(96, [192, 192, 192], 5) + [nn.MaxPool2d(3, 2, padding=1), nn.Dropout(dropout)]
            + mlpconv(192, [192, 192], 3))
    if head == "gap":
        # 'class_maps' 1x1 conv + ReLU [n,C,8,8] -> global average pooling [n,C] ('logits').
        tail = [nn.Conv2d(192, classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    elif head in ("fc", "fc-dropout"):
        # flatten [n,12288] -> (dropout) -> dense C ('logits').
        tail = [nn.Flatten()] + ([nn.Dropout(dropout)] if head == "fc-dropout" else []) + [nn.Linear(192 * 8 * 8, classes)]
    else:
        raise SystemExit(f"unknown head {head}")
    return nn.Sequential(*body, *tail)


def onednn_isa(model, x):
    """The 'isa:' line oneDNN prints in verbose mode, captured from fd 1 during one forward pass ('' if none)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as f:
        os.dup2(f.fileno(), 1)
        try:
            with torch.no_grad(), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                model(x)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        f.seek(0)
        text = f.read().decode("utf-8", "replace")
    for line in text.splitlines():
        if ",isa:" in line:
            return line.split(",isa:", 1)[1].strip()
    return ""


def timed(fn, warmup, steps):
    """Seconds of each of `steps` calls of fn, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def spread_ms(seconds):
    """Median, min and max of the timed calls in milliseconds (the bench reports ours the same way)."""
    ms = [t * 1e3 for t in seconds]
    return {"median": round(statistics.median(ms), 2), "min": round(min(ms), 2), "max": round(max(ms), 2)}


def allocator():
    pre = os.environ.get("LD_PRELOAD", "")
    for name in ("tcmalloc", "jemalloc"):
        if name in pre:
            return name
    return "glibc malloc"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--head", default="gap", choices=["gap", "fc", "fc-dropout"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--bf16", action="store_true", help="torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (PyTorch's CPU tuning guide)")
    p.add_argument("--params-only", action="store_true", help="print the parameter count and exit (tests compare it with ours)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda (bf16 autocast then runs on it too)")
    a = p.parse_args()
    if a.params_only:
        print(json.dumps({"head": a.head, "params": sum(t.numel() for t in nin(a.head).parameters())}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = nin(a.head).to(device=a.device, memory_format=fmt)
    params = sum(t.numel() for t in model.parameters())
    # Weight decay on conv/dense kernels only, as src/models/weights.ts decides for our models.
    kernels = [t for n, t in model.named_parameters() if n.endswith("weight")]
    biases = [t for n, t in model.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": a.weight_decay}, {"params": biases, "weight_decay": 0.0}],
                          lr=a.lr, momentum=a.momentum)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, 32, 32).to(device=a.device, memory_format=fmt)
    y = torch.randint(0, 10, (a.batch,)).to(a.device)
    # oneDNN serves the CPU only; the per-step read-backs below also wait for a GPU, so the timings are complete.
    isa = onednn_isa(model.eval(), x) if a.device == "cpu" else ""
    autocast = torch.device(a.device).type

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(autocast, dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(x)
            loss = loss_fn(logits.float(), y)
        loss.backward()
        opt.step()
        correct = (logits.argmax(1) == y).sum()
        # One read-back of loss and correct count per step, as src/train/step.ts does.
        torch.stack([loss.detach(), correct.float()]).tolist()

    def infer():
        with torch.no_grad(), torch.autocast(autocast, dtype=torch.bfloat16, enabled=a.bf16):
            model(x).float().sum().item()

    model.train()
    times = timed(step, a.warmup, a.steps)
    model.eval()
    infer_times = timed(infer, a.warmup, a.steps)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}", "device": a.device, "head": a.head, "batch": a.batch, "threads": a.threads,
        "params": params, "precision": "bf16" if a.bf16 else "fp32", "channels_last": a.channels_last,
        "allocator": allocator(), "isa": isa,
        "train_images_per_s": round(a.batch / statistics.median(times), 1),
        "infer_images_per_s": round(a.batch / statistics.median(infer_times), 1),
        "train_step_ms": spread_ms(times),
        "infer_ms": spread_ms(infer_times),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
