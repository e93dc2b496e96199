#!/usr/bin/env bash
# For a machine with a GPU, after `npm install` (works offline): prints the WebGPU adapters Dawn sees, runs the webgpu
# correctness tests, measures NIN training and inference throughput on webgpu (and this machine's other backends, and
# PyTorch on CUDA when it is installed) at batch 64 and 128, and writes everything to one JSON file.
# Usage: bash scripts/gpu-check.sh [--out file.json] [--batch 64 128] [--steps 20] [--python /usr/bin/python3]
# Exit 0 when an adapter was found and every test passed. Send the JSON file back (docs/webgpu.md says what it shows).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx src/cli/gpu-check.ts "$@"
