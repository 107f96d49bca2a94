/**
 * The CPU backend's float32 activations on their three paths: the WebAssembly SIMD kernels (the
 * default), the scalar float32 TypeScript functions (the fallback, same bits), and the old
 * double-precision `Math.exp`/`Math.tanh` code (what float32 tensors used before, kept for float64
 * tensors). Paths are picked with the internal switch `setF32ActivationPath`.
 *
 *     deno bench bench/activation_bench.ts
 *
 * Groups: a whole CPU `lstmForward` and `gruForward` at PPO-LSTM's shape (T=32, B=8, I=2, H=64),
 * where the activations are about a third of the time on the old path, and sigmoid/tanh over
 * 65536 floats alone.
 *
 * @module
 */

import { createCpuBackend } from "../lib/backend/cpu.ts";
import { type F32ActivationPath, setF32ActivationPath } from "../lib/backend/cpu_activations.ts";
import { Rng } from "../lib/io/rng.ts";

const PATHS: [string, F32ActivationPath][] = [
  ["libm (old path)", "libm"],
  ["f32 typescript", "ts"],
  ["f32 wasm simd", "wasm"],
];

const cpu = createCpuBackend();
const rng = new Rng(0);
const random = (shape: number[]) => {
  const size = shape.reduce((a, b) => a * b, 1);
  return cpu.tensor(Float32Array.from({ length: size }, () => rng.uniformIn(-1, 1)), shape);
};

/** Registers one bench per path, running `fn` with the switch set and restoring it after. */
function perPath(group: string, fn: () => void) {
  for (const [name, path] of PATHS) {
    Deno.bench({
      name,
      group,
      baseline: path === "libm",
      fn: () => {
        const before = setF32ActivationPath(path);
        try {
          fn();
        } finally {
          setF32ActivationPath(before);
        }
      },
    });
  }
}

const T = 32, B = 8, I = 2, H = 64;
{
  const x = random([T, B, I]), h0 = random([B, H]), c0 = random([B, H]);
  const weights = { w: random([I, 4 * H]), u: random([H, 4 * H]), b: random([4 * H]) };
  perPath(`cpu_lstm_forward T=${T} B=${B} I=${I} H=${H}`, () => {
    const out = cpu.lstmForward(x, h0, c0, weights);
    cpu.disposeLstmCache(out.cache!);
  });
}
{
  const x = random([T, B, I]), h0 = random([B, H]);
  const weights = {
    w: random([I, 3 * H]),
    u: random([H, 3 * H]),
    bw: random([3 * H]),
    bu: random([3 * H]),
  };
  perPath(`cpu_gru_forward T=${T} B=${B} I=${I} H=${H}`, () => {
    cpu.gruForward(x, h0, weights);
  });
}
{
  const N = 65536;
  const x = random([N]);
  for (const activation of ["sigmoid", "tanh"] as const) {
    perPath(`cpu_${activation} ${N}`, () => {
      cpu.dispose(cpu.activate(x, activation));
    });
  }
}
