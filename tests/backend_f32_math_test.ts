/**
 * The float32 activations of the CPU backend: the WebAssembly SIMD kernels give the bits of the
 * scalar TypeScript reference, the reference is accurate against Math.exp/Math.tanh, and the
 * backend's LSTM, GRU and Dense activations give the same bits on either path.
 */

import assert from "node:assert/strict";
import {
  expF32,
  LOG2E_F32,
  roundHalfEven,
  sigmoidF32,
  TANH_SMALL_F32,
  tanhF32,
} from "../lib/backend/f32_math.ts";
import { CHUNK, wasmActivations } from "../lib/backend/wasm/activation_wasm.ts";
import {
  activateRows,
  type F32ActivationPath,
  f32ActivationPath,
  lstmCellF32,
  lstmCellTs,
  setF32ActivationPath,
} from "../lib/backend/cpu_activations.ts";
import { assembleModule, FunctionBody } from "../lib/backend/wasm/emitter.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import type { Tensor } from "../lib/backend/backend.ts";
import { Rng } from "../lib/io/rng.ts";

const w = wasmActivations();
const simd = w !== null;

const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const fromBits = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0];
/** The next float32 above x (x finite). */
function nextUp(x: number): number {
  if (x === 0) return fromBits(1);
  const u = bits(x);
  return fromBits(x > 0 ? u + 1 : u - 1);
}
/** The next float32 below x (x finite). */
const nextDown = (x: number) => -nextUp(-x);

/** Hard cases: zeros, subnormals, tiny values, the tanh branch point, the exp clamps, specials. */
function edgeCases(): Float32Array {
  const base = [
    0,
    1e-45,
    1e-40,
    1.17549435e-38,
    1e-30,
    1e-8,
    1e-4,
    0.5,
    TANH_SMALL_F32,
    1,
    2,
    10,
    20,
    86.5,
    87,
    88,
    88.5,
    89,
    100,
    1e10,
    3.4028234e38,
  ];
  const out: number[] = [];
  for (const b of base) {
    for (const v of [b, nextUp(b), nextDown(b), nextUp(nextUp(b)), nextDown(nextDown(b))]) {
      out.push(v, -v);
    }
  }
  out.push(Infinity, -Infinity, NaN, -0);
  // Arguments where x·log2(e) is (close to) a half-integer, so that ties to even matter.
  for (let k = -126; k <= 126; k++) {
    let x = Math.fround((k + 0.5) / LOG2E_F32);
    for (let i = 0; i < 3; i++) x = nextDown(x);
    for (let i = 0; i < 7; i++, x = nextUp(x)) out.push(x, -x);
  }
  return new Float32Array(out);
}

/** About 10^6 inputs: uniform on several ranges, random bit patterns (every float32 kind). */
function randomInputs(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  const u = new Uint32Array(x.buffer);
  const ranges = [1, 4, 10, 100];
  for (let i = 0; i < n; i++) {
    if (i % 5 === 4) u[i] = (rng.uniform() * 2 ** 32) >>> 0;
    else {
      const r = ranges[i % 5];
      x[i] = rng.uniformIn(-r, r);
    }
  }
  return x;
}

/** Asserts equal bits, except that any NaN equals any NaN (payloads are not specified). */
function assertSameBits(got: Float32Array, want: Float32Array, what: string, input?: Float32Array) {
  assert.equal(got.length, want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const e = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++) {
    if (g[i] === e[i] || (got[i] !== got[i] && want[i] !== want[i])) continue;
    const at = input ? ` for x = ${input[i]} (0x${bits(input[i]).toString(16)})` : "";
    assert.fail(`${what}[${i}]${at}: got ${got[i]}, want ${want[i]}`);
  }
}

const SCALAR = { exp: expF32, sigmoid: sigmoidF32, tanh: tanhF32 } as const;

function withPath<T>(path: F32ActivationPath, fn: () => T): T {
  const before = setF32ActivationPath(path);
  try {
    return fn();
  } finally {
    setF32ActivationPath(before);
  }
}

Deno.test("roundHalfEven rounds ties to even and keeps the sign of zero", () => {
  const cases: [number, number][] = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, -0],
    [-1.5, -2],
    [-2.5, -2],
    [-0.3, -0],
    [0.3, 0],
    [2.6, 3],
    [-2.6, -3],
    [125.5, 126],
    [-125.5, -126],
  ];
  for (const [x, want] of cases) assert.ok(Object.is(roundHalfEven(x), want), `${x}`);
  assert.ok(Number.isNaN(roundHalfEven(NaN)));
});

Deno.test("the scalar functions give float32 values and the documented special cases", () => {
  for (const x of edgeCases()) {
    for (const fn of Object.values(SCALAR)) {
      const y = fn(x);
      assert.ok(Object.is(y, Math.fround(y)), `${fn.name}(${x}) is not a float32`);
    }
  }
  assert.equal(expF32(0), 1);
  assert.equal(expF32(-Infinity), expF32(-87));
  assert.equal(expF32(Infinity), expF32(88));
  assert.ok(Number.isFinite(expF32(88)) && expF32(-87) >= 1.17549435e-38);
  assert.ok(Number.isNaN(expF32(NaN)) && Number.isNaN(sigmoidF32(NaN)));
  assert.ok(Number.isNaN(tanhF32(NaN)));
  assert.ok(Object.is(tanhF32(-0), -0) && Object.is(tanhF32(0), 0));
  assert.equal(tanhF32(Infinity), 1);
  assert.equal(tanhF32(-Infinity), -1);
  assert.equal(sigmoidF32(0), 0.5);
  assert.equal(sigmoidF32(Infinity), 1);
  assert.equal(tanhF32(1e-40), Math.fround(1e-40)); // subnormals pass through
});

Deno.test({
  name: "the emitter's new SIMD ops compute what the specification says",
  ignore: !simd,
  fn() {
    // Each function: out = op(a, b) (or op(a)) over one vector, a at 0, b at 16, out at 32.
    type Op = (f: FunctionBody) => void;
    const ops: Record<string, Op> = {
      sub: (f) => f.f32x4Sub(),
      div: (f) => f.f32x4Div(),
      min: (f) => f.f32x4Min(),
      max: (f) => f.f32x4Max(),
      abs: (f) => f.f32x4Abs(),
      nearest: (f) => f.f32x4Nearest(),
      lt: (f) => f.f32x4Lt(),
      and: (f) => f.v128And(),
      or: (f) => f.v128Or(),
      xor: (f) => f.v128Xor(),
      trunc: (f) => f.i32x4TruncSatF32x4S(),
      iadd: (f) => f.i32x4Add(),
      shl: (f) => f.i32Const(3).i32x4Shl(),
      select: (f) => f.v128ConstI32([-1, 0, 0x0000ffff, 0]).v128Bitselect(),
    };
    const unary = new Set(["abs", "nearest", "trunc", "shl"]);
    const functions = Object.entries(ops).map(([name, op]) => {
      const f = new FunctionBody([]);
      f.i32Const(32).i32Const(0).v128Load();
      if (!unary.has(name)) f.i32Const(16).v128Load();
      op(f);
      f.v128Store();
      return { name, body: f, params: [] };
    });
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mod = new WebAssembly.Module(assembleModule(functions));
    const exports = new WebAssembly.Instance(mod, { env: { memory } }).exports as Record<
      string,
      () => void
    >;
    const fl = new Float32Array(memory.buffer), ints = new Int32Array(memory.buffer);
    const run = (name: string, a: number[], b: number[], asInt = false) => {
      (asInt ? ints : fl).set(a, 0);
      (asInt ? ints : fl).set(b, 4);
      exports[name]();
      return Array.from(fl.subarray(8, 12));
    };
    const runI = (name: string, a: number[], b: number[], aInt = false) => {
      (aInt ? ints : fl).set(a, 0);
      (aInt ? ints : fl).set(b, 4);
      exports[name]();
      return Array.from(ints.subarray(8, 12));
    };
    assert.deepEqual(run("sub", [5, 1, -0, 3], [2, 4, 0, 3]), [3, -3, -0, 0]);
    assert.deepEqual(run("div", [1, -6, 1, 0], [4, 3, 0, 0]).slice(0, 3), [0.25, -2, Infinity]);
    assert.ok(Number.isNaN(run("div", [0, 0, 0, 0], [0, 0, 0, 0])[0]));
    const mn = run("min", [-0, 0, NaN, 2], [0, -0, 1, 3]);
    assert.ok(Object.is(mn[0], -0) && Object.is(mn[1], -0) && Number.isNaN(mn[2]) && mn[3] === 2);
    const mx = run("max", [-0, 0, 1, 2], [0, -0, NaN, 3]);
    assert.ok(Object.is(mx[0], 0) && Object.is(mx[1], 0) && Number.isNaN(mx[2]) && mx[3] === 3);
    assert.deepEqual(run("abs", [-1.5, 2, -0, -Infinity], []), [1.5, 2, 0, Infinity]);
    const nr = run("nearest", [0.5, 1.5, -2.5, -0.3], []);
    assert.ok(Object.is(nr[0], 0) && nr[1] === 2 && nr[2] === -2 && Object.is(nr[3], -0));
    assert.deepEqual(runI("lt", [1, 2, NaN, -1], [2, 2, 0, 0]), [-1, 0, 0, -1]);
    assert.deepEqual(runI("and", [0xff00, 7, -1, 0], [0x0ff0, 5, 9, -1], true), [
      0x0f00,
      5,
      9,
      0,
    ]);
    assert.deepEqual(runI("or", [0xff00, 2, 0, 1], [0x00ff, 5, 0, 2], true), [0xffff, 7, 0, 3]);
    assert.deepEqual(runI("xor", [6, -1, 0, 5], [3, 0, 0, 5], true), [5, -1, 0, 0]);
    assert.deepEqual(runI("trunc", [-126.9, 127.9, NaN, 3e9], []), [-126, 127, 0, 2147483647]);
    assert.deepEqual(runI("iadd", [1, -1, 0x7fffffff, 5], [2, 1, 1, -7], true), [
      3,
      0,
      -0x80000000,
      -2,
    ]);
    assert.deepEqual(runI("shl", [1, 3, -1, 0x20000000], [], true), [8, 24, -8, 0]);
    assert.deepEqual(runI("select", [0x1234, 0x1234, 0x12345678, 1], [7, 7, 0x7abcdef0, 2], true), [
      0x1234,
      7,
      0x7abc5678,
      2,
    ]);
  },
});

Deno.test({
  name: "the wasm lanes give the bits of expF32, sigmoidF32 and tanhF32 (10^6 inputs and edges)",
  ignore: !simd,
  fn() {
    const rng = new Rng(7);
    const inputs = [edgeCases(), randomInputs(rng, 1 << 20)];
    for (const x of inputs) {
      for (const kind of ["exp", "sigmoid", "tanh"] as const) {
        const want = x.map(SCALAR[kind]);
        const got = Float32Array.from(x);
        assert.ok(w!.map(kind, got));
        assertSameBits(got, want, kind, x);
      }
    }
  },
});

Deno.test({
  name: "the wasm kernels handle every length and touch only their rows",
  ignore: !simd,
  fn() {
    const rng = new Rng(3);
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, CHUNK - 1, CHUNK, CHUNK + 5, 3 * CHUNK + 2]) {
      const x = randomInputs(rng, n);
      for (const kind of ["sigmoid", "tanh"] as const) {
        const got = Float32Array.from(x);
        assert.ok(w!.map(kind, got));
        assertSameBits(got, x.map(SCALAR[kind]), `${kind} n=${n}`);
      }
    }
    // Rows: widths around multiples of 4, strides with gaps, an offset; the last one needs more
    // than the module's initial memory, so it grows.
    const shapes = [
      [1, 4, 4, 0],
      [3, 5, 7, 2],
      [4, 6, 18, 12],
      [2, 8, 24, 16],
      [5, 13, 13, 0],
      [8, 64, 192, 0],
      [8, 64, 192, 128],
      [3, 3, 9, 6],
      [3, 50001, 60000, 7],
    ];
    for (const [rows, width, stride, offset] of shapes) {
      const x = randomInputs(rng, offset + (rows - 1) * stride + width + 5);
      for (const kind of ["sigmoid", "tanh"] as const) {
        const want = Float32Array.from(x);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < width; j++) {
            const i = offset + r * stride + j;
            want[i] = SCALAR[kind](x[i]);
          }
        }
        for (const path of ["wasm", "ts"] as const) {
          const got = Float32Array.from(x);
          withPath(path, () => activateRows(kind, got, offset, rows, width, stride));
          assertSameBits(got, want, `${path} ${kind}Rows ${rows}×${width}/${stride}+${offset}`);
        }
      }
    }
  },
});

/** The LSTM cell written out naively from its definition, in float32 operations. */
function referenceCell(
  z: Float32Array,
  cPrev: Float32Array,
  batch: number,
  hidden: number,
): Float32Array[] {
  const f = Math.fround;
  const gates = new Float32Array(z.length);
  const cell = new Float32Array(batch * hidden), cTanh = new Float32Array(batch * hidden);
  const h = new Float32Array(batch * hidden);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < hidden; j++) {
      const at = (k: number) => b * 4 * hidden + k * hidden + j;
      const [i, fg, g, o] = [
        sigmoidF32(z[at(0)]),
        sigmoidF32(z[at(1)]),
        tanhF32(z[at(2)]),
        sigmoidF32(z[at(3)]),
      ];
      gates[at(0)] = i, gates[at(1)] = fg, gates[at(2)] = g, gates[at(3)] = o;
      const s = b * hidden + j;
      cell[s] = f(f(fg * cPrev[s]) + f(i * g));
      cTanh[s] = tanhF32(cell[s]);
      h[s] = f(o * cTanh[s]);
    }
  }
  return [gates, cell, cTanh, h];
}

Deno.test("the LSTM cell step gives the reference's bits on both paths", () => {
  const rng = new Rng(11);
  // [64, 256] needs more than the module's initial memory: it grows, and the views follow.
  const shapes = [[1, 4], [3, 8], [8, 64], [2, 3], [4, 5], [1, 1], [64, 256], [2, 8]];
  for (const [batch, hidden] of shapes) {
    const z = randomInputs(rng, batch * 4 * hidden).map((v) => v * 0.1 + rng.uniformIn(-6, 6));
    const cPrev = new Float32Array(batch * hidden).map(() => rng.uniformIn(-3, 3));
    const want = referenceCell(z, cPrev, batch, hidden);
    const runs: [string, (...a: Parameters<typeof lstmCellTs>) => void][] = [
      ["lstmCellTs", lstmCellTs],
      ["lstmCellF32 ts", (...a) => withPath("ts", () => lstmCellF32(...a))],
      ["lstmCellF32 wasm", (...a) => withPath("wasm", () => lstmCellF32(...a))],
    ];
    if (simd && hidden % 4 === 0) {
      runs.push(["wasm module", (...a) => assert.ok(w!.lstmCell(...a))]);
    }
    for (const [name, run] of runs) {
      const bh = batch * hidden;
      const got = [Float32Array.from(z), new Float32Array(bh), new Float32Array(bh)];
      got.push(new Float32Array(bh));
      run(got[0], cPrev, got[1], got[2], got[3], batch, hidden);
      ["z", "cell", "cTanh", "h"].forEach((what, k) => {
        assertSameBits(got[k], want[k], `${name} B=${batch} H=${hidden} ${what}`);
      });
    }
  }
});

Deno.test("expF32, sigmoidF32 and tanhF32 are accurate against Math.exp and Math.tanh", () => {
  // Measured here (seed 5, 2^20 points plus the edge cases): exp at most 0.96 float32 ulp on
  // [−87, 88]; sigmoid at most 8.9e-8 and tanh at most 7.4e-8 absolute error. (3·10^7 more
  // uniform points on [−20, 20] and [−88, 88] gave 0.98 ulp, 8.9e-8 and 7.7e-8.)
  const rng = new Rng(5);
  const n = 1 << 20;
  const xs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = i % 2 === 0
      ? rng.uniformIn(-87, 88)
      : rng.uniformIn(-1, 1) * 10 ** rng.uniformIn(-8, 1);
  }
  const all = [...xs, ...edgeCases()].filter((x) => Number.isFinite(x));
  let expUlp = 0, sigmoidErr = 0, tanhErr = 0;
  for (const x of all) {
    if (x >= -87 && x <= 88) {
      const exact = Math.exp(x);
      const ulp = 2 ** (Math.floor(Math.log2(exact)) - 23); // float32 ulp at exact
      expUlp = Math.max(expUlp, Math.abs(expF32(x) - exact) / ulp);
    }
    sigmoidErr = Math.max(sigmoidErr, Math.abs(sigmoidF32(x) - 1 / (1 + Math.exp(-x))));
    tanhErr = Math.max(tanhErr, Math.abs(tanhF32(x) - Math.tanh(x)));
  }
  assert.ok(expUlp <= 3, `exp: ${expUlp} ulp`);
  assert.ok(sigmoidErr <= 3e-7, `sigmoid: ${sigmoidErr}`);
  assert.ok(tanhErr <= 3e-7, `tanh: ${tanhErr}`);
});

function randomTensor(backend: ReturnType<typeof createCpuBackend>, rng: Rng, shape: number[]) {
  const size = shape.reduce((a, b) => a * b, 1);
  return backend.tensor(Float32Array.from({ length: size }, () => rng.uniformIn(-1, 1)), shape);
}

/** Runs `fn` on the "wasm" and the "ts" path (and "libm"), returning every tensor it reads. */
function onPaths(fn: () => Tensor[]): Record<F32ActivationPath, Float32Array[]> {
  const cpu = createCpuBackend();
  const read = (ts: Tensor[]) => ts.map((t) => cpu.readSync(t));
  return {
    wasm: withPath("wasm", () => read(fn())),
    ts: withPath("ts", () => read(fn())),
    libm: withPath("libm", () => read(fn())),
  };
}

function assertPathsAgree(runs: Record<F32ActivationPath, Float32Array[]>, what: string) {
  runs.wasm.forEach((got, k) => {
    assertSameBits(got, runs.ts[k], `${what} output ${k}`);
    // The old double-precision path: same formulas, other rounding.
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - runs.libm[k][i]) < 1e-5, `${what} output ${k}[${i}] vs libm`);
    }
  });
}

const SHAPES = [
  { T: 5, B: 3, I: 2, H: 4 },
  { T: 4, B: 2, I: 3, H: 3 },
  { T: 6, B: 4, I: 2, H: 5 },
  { T: 3, B: 8, I: 4, H: 64 },
  { T: 2, B: 1, I: 1, H: 1 },
  { T: 3, B: 2, I: 2, H: 6 },
];

Deno.test("CPU lstmForward in float32 gives the same bits with the wasm path and without", () => {
  assert.ok(["wasm", "ts"].includes(f32ActivationPath()));
  for (const { T, B, I, H } of SHAPES) {
    for (const masked of [false, true]) {
      const runs = onPaths(() => {
        const cpu = createCpuBackend();
        const rng = new Rng(T * 100 + H);
        const x = randomTensor(cpu, rng, [T, B, I]);
        const h0 = randomTensor(cpu, rng, [B, H]), c0 = randomTensor(cpu, rng, [B, H]);
        const weights = {
          w: randomTensor(cpu, rng, [I, 4 * H]),
          u: randomTensor(cpu, rng, [H, 4 * H]),
          b: randomTensor(cpu, rng, [4 * H]),
        };
        const mask = masked
          ? cpu.tensor(Float32Array.from({ length: T * B }, (_, i) => i % 3 === 1 ? 0 : 1), [T, B])
          : undefined;
        const out = cpu.lstmForward(x, h0, c0, weights, { mask });
        const c = out.cache!;
        return [out.h, out.hLast, out.cLast, c.gates, c.cTanh, c.cPrev, c.hPrev];
      });
      assertPathsAgree(runs, `LSTM T=${T} B=${B} H=${H}${masked ? " masked" : ""}`);
    }
  }
});

Deno.test("CPU gruForward in float32 gives the same bits with the wasm path and without", () => {
  for (const { T, B, I, H } of SHAPES) {
    for (const linearBeforeReset of [true, false]) {
      for (const masked of [false, true]) {
        const runs = onPaths(() => {
          const cpu = createCpuBackend();
          const rng = new Rng(T * 100 + H + 7);
          const x = randomTensor(cpu, rng, [T, B, I]);
          const h0 = randomTensor(cpu, rng, [B, H]);
          const weights = {
            w: randomTensor(cpu, rng, [I, 3 * H]),
            u: randomTensor(cpu, rng, [H, 3 * H]),
            bw: randomTensor(cpu, rng, [3 * H]),
            bu: randomTensor(cpu, rng, [3 * H]),
          };
          const mask = masked
            ? cpu.tensor(Float32Array.from({ length: T * B }, (_, i) => i % 4 === 2 ? 0 : 1), [
              T,
              B,
            ])
            : undefined;
          const out = cpu.gruForward(x, h0, weights, { mask, linearBeforeReset });
          const c = out.cache!;
          return [out.h, out.hLast, c.gates, c.reset, c.hPrev];
        });
        const what = `GRU T=${T} B=${B} H=${H} lbr=${linearBeforeReset}${masked ? " masked" : ""}`;
        assertPathsAgree(runs, what);
      }
    }
  }
});

Deno.test("CPU tanh and sigmoid activations in float32 give the same bits on both paths", () => {
  for (const [m, n] of [[1, 1], [3, 5], [8, 64], [130, 131]]) {
    for (const activation of ["tanh", "sigmoid"] as const) {
      const runs = onPaths(() => {
        const cpu = createCpuBackend();
        const rng = new Rng(m + n);
        const a = randomTensor(cpu, rng, [m, 3]), b = randomTensor(cpu, rng, [3, n]);
        const bias = randomTensor(cpu, rng, [n]);
        const x = cpu.tensor(randomInputs(rng, m * n).map((v) => Number.isFinite(v) ? v : 0), [
          m,
          n,
        ]);
        return [cpu.matmul(a, b, { bias, activation }), cpu.activate(x, activation)];
      });
      assertPathsAgree(runs, `${activation} ${m}×${n}`);
    }
  }
});

Deno.test("float64 CPU tensors keep Math.exp and Math.tanh whatever the switch says", () => {
  const run = () => {
    const cpu = createCpuBackend({ precision: "float64" });
    const x = cpu.tensor([-3, -0.5, 0, 0.7, 2], [5]);
    return [cpu.readSync(cpu.activate(x, "tanh")), cpu.readSync(cpu.activate(x, "sigmoid"))];
  };
  const [wasmTanh, wasmSigmoid] = withPath("wasm", run);
  const [libmTanh, libmSigmoid] = withPath("libm", run);
  assert.deepEqual(wasmTanh, libmTanh);
  assert.deepEqual(wasmSigmoid, libmSigmoid);
  assert.deepEqual(
    Array.from(wasmTanh),
    [-3, -0.5, 0, 0.7, 2].map((v) => Math.fround(Math.tanh(v))),
  );
});
