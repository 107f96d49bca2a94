#!/usr/bin/env bash
# The device benchmark: everything rnnrl measures on a GPU, in one command of at most eight
# minutes, for bench/RESULTS.md. Run it from the project root with deno on PATH:
#
#   bash bench/gpu.sh [OUT]          # OUT defaults to runs/gpu-bench; its files are kept there
#
# It prints the GPU and the WebGPU adapter, then runs, each stage under its own time limit:
#   1. matmul 1024³ and 4096³ (GFLOP/s and share of the FP32 peak),
#   2. the LSTM and GRU training steps, with B=256 T=64 I=128 H=512 on the GPU only, against TF.js
#      webgpu (the CPU rows are left out: they say nothing about the device),
#   3. the device environments' steps per second at N = 1k, 16k, 256k copies,
#   3b. the LSTM's and GRU's per-step kernels against their sequence-long ones (which "auto"
#      picks where), and the resident PPO loop against the ordinary one at N = 16, 256, 2048,
#   4. the resident PPO-LSTM (`--resident`: rollouts, GAE and updates on the GPU) on cartpole-masked
#      with the webgpu backend until a greedy evaluation of 32 episodes on device copies reaches a
#      mean return of 475 (checked every 10 240 steps): wall time, steps per second and where
#      it stopped.
# On a software adapter (llvmpipe) it says so and still runs, but its figures are not GPU speed.
# RNNRL_PEAK_GFLOPS overrides the FP32 peak looked up from the GPU's name.
set -uo pipefail
out=${1:-runs/gpu-bench}
mkdir -p "$out"
export NO_COLOR=1
# Deno's WebGPU on Linux wants a runtime directory.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR"
started=$(date +%s)

gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
echo "gpu: ${gpu_name:-none found by nvidia-smi}"
deno eval 'const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
const { vendor, architecture, device, description, isFallbackAdapter } = a?.info ?? {};
console.log("webgpu adapter:", a ? JSON.stringify({ vendor, architecture, device, description, isFallbackAdapter }) : "none");
if (a?.info.isFallbackAdapter) console.log("a software adapter: these figures are not GPU speed");' |
  tee "$out/adapter.txt"

# Published FP32 (non-tensor) peaks at boost clock, in GFLOP/s.
case "$gpu_name" in
  *H100*PCIe*) peak=51200 ;;
  *H100*NVL*) peak=60000 ;;
  *H100* | *H200*) peak=66900 ;;
  *A100*) peak=19500 ;;
  *L4*) peak=30300 ;;
  *) peak="" ;;
esac
peak=${RNNRL_PEAK_GFLOPS:-$peak}
echo "fp32 peak: ${peak:-unknown} GFLOP/s"

# stage NAME LIMIT_SECONDS COMMAND...: runs COMMAND with a time limit, its JSON into OUT/NAME.json.
stage() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most ${limit}s)"
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.json" 2> "$out/$name.log"
  local rc=$?
  echo "   rc $rc, $(($(date +%s) - t0)) s"
  if [ "$rc" -eq 124 ]; then echo "   stopped at the time limit: deno bench writes its JSON at the end, so no table"; fi
}

bench=(deno bench --no-prompt --allow-read --allow-env --json)
stage matmul 45 "${bench[@]}" --filter "/webgpu/" bench/matmul_bench.ts
stage lstm 100 "${bench[@]}" --filter "/webgpu/" bench/lstm_bench.ts
stage gru 80 "${bench[@]}" --filter "/webgpu/" bench/gru_bench.ts
stage envs 45 "${bench[@]}" --filter "/Device/" bench/envs_bench.ts
stage recurrent 40 "${bench[@]}" bench/recurrent_kernels_bench.ts
stage loop 50 "${bench[@]}" --filter "/webgpu/" bench/ppo_loop_bench.ts

echo "== resident ppo-lstm cartpole-masked, webgpu, until a mean return of 475 (at most 110s)"
rm -rf "$out/ppo-cartpole-masked"
t0=$(date +%s%N)
timeout 110 deno task train --env cartpole-masked --algo ppo --resident --backend webgpu --seed 1 \
  --steps 300000 --eval-every 10240 --eval-every-episodes 32 --stop-on-return 475 \
  --out "$out/ppo-cartpole-masked" > "$out/ppo.log" 2>&1
rc=$?
t1=$(date +%s%N)
echo "   rc $rc, wall $(((t1 - t0) / 1000000)) ms (with deno's start and the final evaluation)"
grep -E "took|stopped|reached|evaluation" "$out/ppo.log" | sed 's/^/   /'
grep '"kind":"eval"' "$out/ppo-cartpole-masked/metrics.jsonl" 2>/dev/null |
  sed -E 's/.*"step":([0-9]+).*"meanReturn":([0-9.]+).*/   eval at step \1: mean return \2/'

echo "== tables"
peak_flag=()
[ -n "$peak" ] && peak_flag=(--peak-gflops "$peak")
for name in matmul lstm gru envs recurrent loop; do
  if [ -s "$out/$name.json" ]; then
    deno run --no-prompt --allow-read bench/to_markdown.ts "${peak_flag[@]}" "$out/$name.json"
  fi
done
echo "total: $(($(date +%s) - started)) s"
