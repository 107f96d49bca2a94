/**
 * The CPU backend packs its recurrent weights once per sequence (`packRhs`) instead of running a
 * plain `gemm` at every step. These tests run every LSTM and GRU forward and backward both ways
 * (`setRecurrentPacking`) and require the very same bits in every output, on shapes around the
 * wasm kernel's block edges.
 */

import assert from "node:assert/strict";
import type { Tensor } from "../lib/backend/backend.ts";
import {
  type CpuBackend,
  cpuData,
  createCpuBackend,
  setRecurrentPacking,
} from "../lib/backend/cpu.ts";
import { KC, MC, NC, NR, wasmPinnedBytes } from "../lib/backend/wasm/gemm_wasm.ts";
import { Rng } from "../lib/io/rng.ts";

/**
 * [T, B, I, H]: the PPO-LSTM preset's shape, odd sizes, m past MC, n past NC and k past KC. The
 * LSTM's recurrence runs in wasm (`wasm/lstm_wasm.ts`) forward for H a multiple of 4 and even B,
 * backward for even H, and otherwise in TypeScript with packed weights.
 */
const SHAPES: readonly [number, number, number, number][] = [
  [32, 8, 2, 64],
  [5, 3, 7, 5],
  [4, MC + 2, 3, 6],
  [3, 2, 4, NR + 1],
  [3, 2, 4, Math.ceil((NC + 1) / 4)], // 4H > NC; k = 4H > KC in the backward
  [2, 3, 2, KC + 3], // k = H > KC in the forward
  [1, 4, 3, 8], // one step: nothing to pack
  [5, 3, 7, 6], // odd B: C's padding row
  [3, 5, 3, 66], // 4H > KC, H not a multiple of NR
  [4, MC + 3, 2, 2],
  [2, 2, 3, 260], // even B, H a multiple of 4: 4H > NC and H > KC on the wasm paths
  [3, MC + 4, 2, 68], // B past MC on the wasm paths
];

function random(cpu: CpuBackend, rng: Rng, shape: number[], scale = 1): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return cpu.tensor(Float32Array.from({ length: size }, () => rng.uniformIn(-scale, scale)), shape);
}

/** A 0/1 mask with some zeros, or none. */
function mask(cpu: CpuBackend, rng: Rng, steps: number, batch: number): Tensor {
  return cpu.tensor(
    Float32Array.from({ length: steps * batch }, () => rng.uniform() < 0.2 ? 0 : 1),
    [steps, batch],
  );
}

const bytes = (t: Tensor) => {
  const d = cpuData(t);
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

/** Runs `fn` with packing on and off and requires the same bits in every tensor it returns. */
function sameBothWays(
  what: string,
  fn: () => Record<string, Tensor | undefined>,
): void {
  const before = setRecurrentPacking(true);
  let packed: Record<string, Tensor | undefined>, plain: Record<string, Tensor | undefined>;
  try {
    packed = fn();
    setRecurrentPacking(false);
    plain = fn();
  } finally {
    setRecurrentPacking(before);
  }
  assert.deepEqual(Object.keys(packed), Object.keys(plain));
  for (const name of Object.keys(plain)) {
    const p = packed[name], q = plain[name];
    if (p === undefined || q === undefined) {
      assert.equal(p, q, `${what} ${name}`);
      continue;
    }
    assert.deepEqual(p.shape, q.shape, `${what} ${name}`);
    const a = bytes(p), b = bytes(q);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) assert.fail(`${what} ${name}: element ${i} differs`);
    }
  }
}

Deno.test("lstmForward and lstmBackward give the same bits with packed recurrent weights", () => {
  const cpu = createCpuBackend();
  const rng = new Rng(1);
  for (const [T, B, I, H] of SHAPES) {
    for (const masked of [false, true]) {
      const x = random(cpu, rng, [T, B, I]), h0 = random(cpu, rng, [B, H]);
      const c0 = random(cpu, rng, [B, H]);
      const weights = {
        w: random(cpu, rng, [I, 4 * H], 0.5),
        u: random(cpu, rng, [H, 4 * H], 0.5),
        b: random(cpu, rng, [4 * H], 0.1),
      };
      const m = masked ? mask(cpu, rng, T, B) : undefined;
      const dh = random(cpu, rng, [T, B, H]);
      const dhLast = random(cpu, rng, [B, H]), dcLast = random(cpu, rng, [B, H]);
      sameBothWays(`lstm T=${T} B=${B} I=${I} H=${H} mask=${masked}`, () => {
        const out = cpu.lstmForward(x, h0, c0, weights, { mask: m });
        const grads = cpu.lstmBackward(out.cache!, weights, dh, dhLast, dcLast);
        const noLast = cpu.lstmBackward(out.cache!, weights, dh);
        return {
          h: out.h,
          hLast: out.hLast,
          cLast: out.cLast,
          ...out.cache,
          ...grads,
          noLastDx: noLast.dx,
          noLastDu: noLast.du,
          noLastDh0: noLast.dh0,
          noLastDc0: noLast.dc0,
        };
      });
    }
  }
  assert.equal(wasmPinnedBytes(), 0, "every packed weight was released");
});

Deno.test("gruForward and gruBackward give the same bits with packed recurrent weights", () => {
  const cpu = createCpuBackend();
  const rng = new Rng(2);
  for (const [T, B, I, H] of SHAPES) {
    for (const linearBeforeReset of [true, false]) {
      for (const masked of [false, true]) {
        const x = random(cpu, rng, [T, B, I]), h0 = random(cpu, rng, [B, H]);
        const weights = {
          w: random(cpu, rng, [I, 3 * H], 0.5),
          u: random(cpu, rng, [H, 3 * H], 0.5),
          bw: random(cpu, rng, [3 * H], 0.1),
          bu: random(cpu, rng, [3 * H], 0.1),
        };
        const m = masked ? mask(cpu, rng, T, B) : undefined;
        const dh = random(cpu, rng, [T, B, H]), dhLast = random(cpu, rng, [B, H]);
        const what = `gru T=${T} B=${B} I=${I} H=${H} lbr=${linearBeforeReset} mask=${masked}`;
        sameBothWays(what, () => {
          const out = cpu.gruForward(x, h0, weights, { mask: m, linearBeforeReset });
          const grads = cpu.gruBackward(out.cache!, weights, dh, dhLast);
          const { x: _, mask: __, linearBeforeReset: ___, ...cache } = out.cache!;
          return { h: out.h, hLast: out.hLast, ...cache, ...grads };
        });
      }
    }
  }
  assert.equal(wasmPinnedBytes(), 0, "every packed weight was released");
});

Deno.test("a float64 backend's LSTM and GRU are the same with packing on and off", () => {
  const cpu = createCpuBackend({ precision: "float64" });
  const rng = new Rng(3);
  const [T, B, I, H] = [6, 3, 2, 5];
  const x = random(cpu, rng, [T, B, I]), h0 = random(cpu, rng, [B, H]);
  const lstm = {
    w: random(cpu, rng, [I, 4 * H]),
    u: random(cpu, rng, [H, 4 * H]),
    b: random(cpu, rng, [4 * H]),
  };
  const gru = {
    w: random(cpu, rng, [I, 3 * H]),
    u: random(cpu, rng, [H, 3 * H]),
    bw: random(cpu, rng, [3 * H]),
    bu: random(cpu, rng, [3 * H]),
  };
  const dh = random(cpu, rng, [T, B, H]);
  sameBothWays("float64", () => {
    const l = cpu.lstmForward(x, h0, h0, lstm);
    const g = cpu.gruForward(x, h0, gru, { linearBeforeReset: false });
    const lg = cpu.lstmBackward(l.cache!, lstm, dh);
    const gg = cpu.gruBackward(g.cache!, gru, dh);
    return { lh: l.h, gh: g.h, ldu: lg.du, ldx: lg.dx, gdu: gg.du, gdh0: gg.dh0 };
  });
});
