import assert from "node:assert/strict";
import {
  gemm,
  type GemmOptions,
  gemmTs,
  gemmUsesWasm,
  gemmWasm,
  packRhs,
  sumRows,
  sumRowsTs,
} from "../lib/backend/cpu_gemm.ts";
import {
  KC,
  MC,
  MR,
  NC,
  NR,
  wasmGemmAvailable,
  wasmPinnedBytes,
} from "../lib/backend/wasm/gemm_wasm.ts";
import { assembleModule, FunctionBody } from "../lib/backend/wasm/emitter.ts";
import { Rng } from "../lib/io/rng.ts";

type Gemm = typeof gemm;

const TRANSPOSES: readonly GemmOptions[] = [
  { transposeA: false, transposeB: false },
  { transposeA: true, transposeB: false },
  { transposeA: false, transposeB: true },
  { transposeA: true, transposeB: true },
];

/** Sizes around every block edge of both kernels (4×4 tiles in TS; MR, NR, KC, MC, NC in wasm). */
const SHAPES: readonly [number, number, number][] = [
  [1, 1, 1],
  [1, 9, 5],
  [6, 1, 11],
  [3, 5, 7],
  [4, 4, 4],
  [MR, NR, 16],
  [MR + 1, NR - 1, 3],
  [MR - 1, NR + 1, KC + 1],
  [65, 129, 33],
  [17, 23, KC - 1],
  [9, 13, 2 * KC + 3],
  [MC + 1, 2 * NR + 3, 19],
  [MC - 1, 12, 40],
  [5, NC + 1, 9],
  [MC + 3, NC + NR + 1, KC + 2],
];

const PATHS: readonly [string, Gemm][] = [["gemm", gemm], ["gemmTs", gemmTs], [
  "gemmWasm",
  gemmWasm,
]];

function random(rng: Rng, size: number): Float32Array {
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) x[i] = rng.uniformIn(-1, 1);
  return x;
}

/** Element (i, p) of op(A) and (p, j) of op(B). */
function at(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  o: GemmOptions,
): [(i: number, p: number) => number, (p: number, j: number) => number] {
  return [
    (i, p) => o.transposeA ? a[p * m + i] : a[i * k + p],
    (p, j) => o.transposeB ? b[j * k + p] : b[p * n + j],
  ];
}

/**
 * The documented order written as naively as possible: start from 0 (or C), add each
 * float32-rounded product in turn, round every sum to float32.
 */
function referenceF32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  o: GemmOptions,
): Float32Array {
  const [ea, eb] = at(a, b, m, n, k, o);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = o.accumulate ? c[i * n + j] : 0;
      for (let p = 0; p < k; p++) s = Math.fround(s + Math.fround(ea(i, p) * eb(p, j)));
      out[i * n + j] = s;
    }
  }
  return out;
}

/** The exact-ish product in float64 and, per element, the sum of |a·b| (the error scale). */
function referenceF64(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  o: GemmOptions,
): { value: Float64Array; scale: Float64Array } {
  const [ea, eb] = at(a, b, m, n, k, o);
  const value = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = o.accumulate ? c[i * n + j] : 0, t = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const x = ea(i, p) * eb(p, j);
        s += x;
        t += Math.abs(x);
      }
      value[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { value, scale };
}

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const ua = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const ue = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ue[i]) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function label(m: number, n: number, k: number, o: GemmOptions): string {
  return `${m}×${n}×${k} tA=${!!o.transposeA} tB=${!!o.transposeB} acc=${!!o.accumulate}`;
}

const paths = wasmGemmAvailable() ? PATHS : PATHS.filter(([name]) => name !== "gemmWasm");

Deno.test("gemm is close to a float64 product for all transposes and shapes", () => {
  const rng = new Rng(1);
  for (const [m, n, k] of SHAPES) {
    for (const t of TRANSPOSES) {
      const a = random(rng, m * k), b = random(rng, k * n);
      const { value, scale } = referenceF64(a, b, new Float32Array(0), m, n, k, t);
      for (const [name, f] of paths) {
        const c = new Float32Array(m * n).fill(Number.NaN);
        f(a, b, c, m, n, k, t);
        for (let e = 0; e < m * n; e++) {
          const tol = 1e-5 * Math.sqrt(k) * scale[e] + 1e-30;
          if (!(Math.abs(c[e] - value[e]) <= tol)) {
            assert.fail(`${name} ${label(m, n, k, t)}: element ${e} is ${c[e]}, not ${value[e]}`);
          }
        }
      }
    }
  }
});

Deno.test("gemm follows the documented float32 summation order exactly", () => {
  const rng = new Rng(2);
  for (const [m, n, k] of SHAPES) {
    for (const t of TRANSPOSES) {
      for (const accumulate of [false, true]) {
        const o = { ...t, accumulate };
        const a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
        const expected = referenceF32(a, b, c0, m, n, k, o);
        for (const [name, f] of paths) {
          const c = c0.slice();
          f(a, b, c, m, n, k, o);
          assertSameBits(c, expected, `${name} ${label(m, n, k, o)}`);
        }
      }
    }
  }
});

Deno.test("gemm accumulate adds the product to C", () => {
  const rng = new Rng(3);
  for (const [m, n, k] of [[3, 5, 7], [37, 41, 300]] as const) {
    for (const t of TRANSPOSES) {
      const a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
      const product = new Float32Array(m * n);
      gemm(a, b, product, m, n, k, t);
      const c = c0.slice();
      gemm(a, b, c, m, n, k, { ...t, accumulate: true });
      const { value, scale } = referenceF64(a, b, c0, m, n, k, { ...t, accumulate: true });
      for (let e = 0; e < m * n; e++) {
        assert.ok(Math.abs(c[e] - value[e]) <= 1e-5 * Math.sqrt(k) * scale[e], label(m, n, k, t));
        // Accumulating differs from C + product only by rounding (and really differs somewhere).
        assert.ok(Math.abs(c[e] - (c0[e] + product[e])) <= 1e-5 * Math.sqrt(k) * scale[e]);
      }
      assert.ok(c.some((x, e) => x !== product[e]));
    }
  }
});

Deno.test("gemm reads and writes subarray views at offsets", () => {
  const rng = new Rng(4);
  for (const [m, n, k] of [[3, 5, 7], [33, 70, 65]] as const) {
    for (const t of TRANSPOSES) {
      for (const [name, f] of paths) {
        const a = random(rng, m * k), b = random(rng, k * n);
        const expected = new Float32Array(m * n);
        f(a, b, expected, m, n, k, t);
        // The same values, embedded at odd offsets inside larger buffers full of other numbers.
        const bigA = random(rng, m * k + 20), bigB = random(rng, k * n + 20);
        const bigC = random(rng, m * n + 20);
        const before = bigC.slice();
        bigA.set(a, 3);
        bigB.set(b, 11);
        f(bigA.subarray(3, 3 + m * k), bigB.subarray(11), bigC.subarray(5, 5 + m * n), m, n, k, t);
        assertSameBits(bigC.subarray(5, 5 + m * n), expected, `${name} ${label(m, n, k, t)}`);
        assertSameBits(bigC.subarray(0, 5), before.subarray(0, 5), `${name} before C`);
        assertSameBits(bigC.subarray(5 + m * n), before.subarray(5 + m * n), `${name} after C`);
      }
    }
  }
});

Deno.test("gemm gives identical bits on repeated calls and on both paths", () => {
  const rng = new Rng(5);
  for (const [m, n, k] of [[64, 512, 128], [19, 37, 300], [2, 3, 4]] as const) {
    for (const t of TRANSPOSES) {
      const a = random(rng, m * k), b = random(rng, k * n);
      const first = new Float32Array(m * n), second = new Float32Array(m * n);
      gemm(a, b, first, m, n, k, t);
      // Something else in between, to disturb scratch buffers.
      gemm(random(rng, 50 * 60), random(rng, 60 * 70), new Float32Array(50 * 70), 50, 70, 60);
      gemm(a, b, second, m, n, k, t);
      assertSameBits(second, first, `repeat ${label(m, n, k, t)}`);
      const ts = new Float32Array(m * n);
      gemmTs(a, b, ts, m, n, k, t);
      assertSameBits(ts, first, `gemmTs ${label(m, n, k, t)}`);
      if (wasmGemmAvailable()) {
        const wasm = new Float32Array(m * n);
        gemmWasm(a, b, wasm, m, n, k, t);
        assertSameBits(wasm, first, `gemmWasm ${label(m, n, k, t)}`);
      }
    }
  }
});

Deno.test("gemm gives a row the same bits alone as in a batch", () => {
  const rng = new Rng(6);
  const m = 64, n = 8, k = 8;
  // The batch takes the wasm path where it exists, a single row the TypeScript path.
  assert.equal(gemmUsesWasm(m, n, k), wasmGemmAvailable());
  assert.equal(gemmUsesWasm(1, n, k), false);
  const a = random(rng, m * k), b = random(rng, k * n), batch = new Float32Array(m * n);
  gemm(a, b, batch, m, n, k);
  for (let i = 0; i < m; i++) {
    const row = new Float32Array(n);
    gemm(a.subarray(i * k, i * k + k), b, row, 1, n, k);
    assertSameBits(row, batch.subarray(i * n, i * n + n), `row ${i}`);
  }
});

Deno.test("gemm handles special values identically on both paths", () => {
  const rng = new Rng(7);
  const m = 9, n = 10, k = 11;
  const a = random(rng, m * k), b = random(rng, k * n);
  a[5] = Infinity;
  a[17] = -0;
  a[30] = 1e-41; // subnormal
  b[3] = -Infinity;
  b[40] = 3e-39; // subnormal product partner
  b[41] = 0;
  const c0 = random(rng, m * n);
  c0[7] = -0;
  for (const t of TRANSPOSES) {
    for (const accumulate of [false, true]) {
      const o = { ...t, accumulate };
      const expected = referenceF32(a, b, c0, m, n, k, o);
      for (const [name, f] of paths) {
        const c = c0.slice();
        f(a, b, c, m, n, k, o);
        for (let e = 0; e < m * n; e++) {
          assert.ok(Object.is(c[e], expected[e]), `${name} ${label(m, n, k, o)} element ${e}`);
        }
      }
    }
  }
});

Deno.test("gemm with k = 0 zeroes C, or leaves it when accumulating", () => {
  for (const [, f] of paths) {
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    f(new Float32Array(0), new Float32Array(0), c, 2, 3, 0, { accumulate: true });
    assert.deepEqual(Array.from(c), [1, 2, 3, 4, 5, 6]);
    f(new Float32Array(0), new Float32Array(0), c, 2, 3, 0);
    assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0]);
    const untouched = new Float32Array([7, 8]);
    f(new Float32Array(6), new Float32Array(0), untouched, 0, 0, 3);
    f(new Float32Array(0), new Float32Array(6), untouched, 0, 2, 3);
    assert.deepEqual(Array.from(untouched), [7, 8]);
  }
});

Deno.test("gemm allows C to overlap an operand", () => {
  const rng = new Rng(8);
  for (const n of [3, 40]) {
    const a = random(rng, n * n), b = random(rng, n * n);
    const expected = new Float32Array(n * n);
    gemm(a, b, expected, n, n, n);
    for (const [name, f] of paths) {
      const inPlace = a.slice();
      f(inPlace, b, inPlace, n, n, n);
      assertSameBits(inPlace, expected, `${name} C = A, n=${n}`);
    }
  }
});

Deno.test("gemm rejects bad sizes and short arrays", () => {
  const x = new Float32Array(12);
  for (const [m, n, k] of [[-1, 2, 2], [2, 1.5, 2], [2, 2, Number.NaN], [2, Infinity, 2]]) {
    assert.throws(() => gemm(x, x, x, m, n, k), RangeError);
  }
  assert.throws(() => gemm(new Float32Array(5), x, x, 2, 2, 3), {
    name: "RangeError",
    message: "Cannot multiply matrices: A has 5 elements, needs 6 for m=2 n=2 k=3",
  });
  assert.throws(() => gemm(x, new Float32Array(5), x, 2, 2, 3), RangeError);
  assert.throws(() => gemmTs(x, x, new Float32Array(3), 2, 2, 3), RangeError);
});

Deno.test("assembleModule builds a module whose loops, constants and f32x4 ops run", () => {
  // scale(ptr, count): for i < count: v[i] = v[i]² + splat(float at byte 4), 4 floats at a time.
  const params = ["i32", "i32"] as const;
  const f = new FunctionBody(params);
  const [ptr, count] = f.params;
  const i = f.local("i32"), x = f.local("v128");
  f.forRange(i, count, () => {
    f.get(ptr).v128Load().set(x);
    f.get(ptr).get(x).get(x).f32x4Mul();
    f.i32Const(-3).i32Const(1000).i32Add().i32Const(993).i32Sub().v128Load32Splat(0);
    f.v128Zero().f32x4Add().f32x4Add().v128Store();
    f.addTo(ptr, 16);
  });
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = assembleModule([{ name: "scale", body: f, params }]);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as { scale(ptr: number, count: number): void };
  const heap = new Float32Array(memory.buffer);
  heap.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0.5], 4);
  heap[1] = 0.25;
  exports.scale(16, 2);
  // heap[1] (byte address 4 = -3 + 1000 - 993) is splatted and added: x² + 0.25.
  assert.deepEqual(
    Array.from(heap.subarray(4, 17)),
    [1.25, 4.25, 9.25, 16.25, 25.25, 36.25, 49.25, 64.25, 9, 10, 11, 12, 0.5],
  );
  exports.scale(16, 0);
  assert.equal(heap[4], 1.25);
});

/** Shapes of the per-step recurrent products, and ones whose n is far below NR. */
const MORE_SHAPES: readonly [number, number, number][] = [
  [8, 256, 64],
  [8, 64, 256],
  [8, 192, 64],
  [256, 2, 256],
  [64, 1, 256],
  [256, 1, 64],
  [8, 2, 64],
  [MC + 7, 1, KC + 9],
  [300, 3, 17],
  [2, 2, 300],
];

Deno.test("gemm with n below NR (computed transposed on the wasm path) follows the order exactly", () => {
  const rng = new Rng(9);
  for (const [m, n, k] of MORE_SHAPES) {
    for (const t of TRANSPOSES) {
      for (const accumulate of [false, true]) {
        const o = { ...t, accumulate };
        const a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
        a[3] = -0;
        b[1] = Infinity;
        c0[0] = -0;
        const expected = referenceF32(a, b, c0, m, n, k, o);
        for (const [name, f] of paths) {
          const c = c0.slice();
          f(a, b, c, m, n, k, o);
          for (let e = 0; e < m * n; e++) {
            if (!Object.is(c[e], expected[e])) {
              assert.fail(
                `${name} ${label(m, n, k, o)}: element ${e} is ${c[e]}, not ${expected[e]}`,
              );
            }
          }
        }
      }
    }
  }
});

Deno.test("packRhs gives the bits of gemm for every shape, transpose and accumulation", () => {
  const rng = new Rng(10);
  for (const [m, n, k] of [...SHAPES, ...MORE_SHAPES]) {
    for (const t of TRANSPOSES) {
      const b = random(rng, k * n);
      const packed = packRhs(b, k, n, { transposeB: t.transposeB });
      try {
        assert.equal(packed.k, k);
        assert.equal(packed.n, n);
        // Several left operands by the same packed B, as the steps of a sequence do.
        for (const accumulate of [false, true, true, false]) {
          const o = { ...t, accumulate };
          const a = random(rng, m * k), c0 = random(rng, m * n);
          const expected = c0.slice();
          gemm(a, b, expected, m, n, k, o);
          assertSameBits(expected, referenceF32(a, b, c0, m, n, k, o), `gemm ${label(m, n, k, o)}`);
          const c = c0.slice();
          packed.multiply(a, c, m, { transposeA: t.transposeA, accumulate });
          assertSameBits(c, expected, `packed ${label(m, n, k, o)}`);
        }
      } finally {
        packed.dispose();
      }
    }
  }
  assert.equal(wasmPinnedBytes(), 0);
});

Deno.test("packRhs takes any number of rows per product, from 0 to past MC", () => {
  const rng = new Rng(11);
  for (const [n, k] of [[NR + 3, 2 * KC + 1], [NC + 5, 7], [64, 256]] as const) {
    for (const transposeB of [false, true]) {
      const b = random(rng, k * n);
      const packed = packRhs(b, k, n, { transposeB });
      try {
        for (const m of [1, MR, 3, MC, MC + 1, 2 * MC + 5, 0]) {
          for (const transposeA of [false, true]) {
            const o = { transposeA, transposeB, accumulate: m % 2 === 1 };
            const a = random(rng, m * k), c0 = random(rng, m * n);
            const expected = c0.slice(), c = c0.slice();
            gemm(a, b, expected, m, n, k, o);
            packed.multiply(a, c, m, o);
            assertSameBits(c, expected, `packed ${label(m, n, k, o)}`);
          }
        }
      } finally {
        packed.dispose();
      }
    }
  }
});

Deno.test("packed operands live side by side, are freed in any order, and keep B's old values", () => {
  const rng = new Rng(12);
  const shapes = [[40, 70], [KC + 3, 20], [5, NC + 2], [64, 256]] as const;
  const bs = shapes.map(([k, n]) => random(rng, k * n));
  const pinnedBefore = wasmPinnedBytes();
  const packed = shapes.map(([k, n], i) => packRhs(bs[i], k, n, { transposeB: i % 2 === 1 }));
  if (wasmGemmAvailable()) {
    // On the wasm path every operand holds its panels, padded to whole NR-wide panels.
    const panels = shapes.reduce((s, [k, n]) => s + 4 * k * (Math.ceil(n / NR) * NR), 0);
    assert.ok(wasmPinnedBytes() - pinnedBefore >= panels);
  }
  // Changing B after packing changes nothing: the packed operand keeps the values it was given.
  const original = bs.map((b) => b.slice());
  for (const b of bs) b.fill(Number.NaN);
  const check = (i: number, m: number) => {
    const [k, n] = shapes[i];
    const o = { transposeB: i % 2 === 1 };
    const a = random(rng, m * k), expected = new Float32Array(m * n), c = new Float32Array(m * n);
    gemm(a, original[i], expected, m, n, k, o);
    packed[i].multiply(a, c, m);
    assertSameBits(c, expected, `operand ${i}, m=${m}`);
  };
  for (const i of [0, 1, 2, 3, 2, 1, 0]) check(i, 9);
  // Plain products in between, large enough to grow the wasm memory past what was pinned.
  gemm(random(rng, 300 * 400), random(rng, 400 * 500), new Float32Array(300 * 500), 300, 500, 400);
  for (const i of [3, 0]) check(i, MC + 3);
  packed[1].dispose();
  check(0, 4);
  check(2, 4);
  packed[3].dispose();
  check(2, 5);
  const another = packRhs(random(rng, 30 * 30), 30, 30);
  check(0, 6);
  check(2, 6);
  packed[0].dispose();
  packed[2].dispose();
  assert.ok(wasmPinnedBytes() > pinnedBefore || !wasmGemmAvailable());
  another.dispose();
  assert.equal(wasmPinnedBytes(), pinnedBefore);
  packed[0].dispose(); // twice: nothing happens
  assert.throws(() => packed[0].multiply(new Float32Array(40), new Float32Array(70), 1), {
    message: "Cannot multiply by a packed matrix after disposing it",
  });
});

Deno.test("packRhs handles k = 0, n = 0, C overlapping A, and rejects bad sizes", () => {
  const rng = new Rng(13);
  const empty = packRhs(new Float32Array(0), 0, 3);
  const c = new Float32Array([1, 2, 3, 4, 5, 6]);
  empty.multiply(new Float32Array(0), c, 2, { accumulate: true });
  assert.deepEqual(Array.from(c), [1, 2, 3, 4, 5, 6]);
  empty.multiply(new Float32Array(0), c, 2);
  assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0]);
  empty.dispose();
  const none = packRhs(new Float32Array(0), 4, 0);
  none.multiply(new Float32Array(8), new Float32Array(0), 2);
  none.dispose();
  for (const n of [3, 40]) {
    const a = random(rng, n * n), b = random(rng, n * n);
    const expected = new Float32Array(n * n);
    gemm(a, b, expected, n, n, n);
    const packed = packRhs(b, n, n);
    const inPlace = a.slice();
    packed.multiply(inPlace, inPlace, n);
    packed.dispose();
    assertSameBits(inPlace, expected, `C = A, n=${n}`);
  }
  assert.throws(() => packRhs(new Float32Array(5), 2, 3), RangeError);
  assert.throws(() => packRhs(new Float32Array(6), -2, -3), RangeError);
  const packed = packRhs(new Float32Array(6), 2, 3);
  assert.throws(() => packed.multiply(new Float32Array(3), new Float32Array(6), 2), RangeError);
  assert.throws(() => packed.multiply(new Float32Array(4), new Float32Array(5), 2), RangeError);
  assert.throws(() => packed.multiply(new Float32Array(4), new Float32Array(6), 1.5), RangeError);
  packed.dispose();
});

/** Bitwise equality that takes every NaN as equal (their payloads are not specified). */
function assertSameValues(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

Deno.test("gemm's bias and relu give the bits of a loop over the finished product", () => {
  const rng = new Rng(14);
  const shapes: [number, number, number][] = [...SHAPES.slice(0, 9), ...MORE_SHAPES, [5, 7, 0]];
  for (const [m, n, k] of shapes) {
    for (const t of TRANSPOSES) {
      for (const accumulate of [false, true]) {
        for (const relu of [false, true]) {
          const a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
          const bias = random(rng, n);
          // Sums of −0, NaN and ±Infinity reach the bias and the ReLU.
          if (k === 0 && accumulate) c0[0] = -0;
          bias[0] = -0;
          if (n > 2) bias[2] = Number.NaN;
          if (n > 3) bias[3] = -Infinity;
          const expected = c0.slice();
          gemm(a, b, expected, m, n, k, { ...t, accumulate });
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected[i * n + j] += bias[j];
          if (relu) { for (let e = 0; e < m * n; e++) if (expected[e] < 0) expected[e] = 0; }
          for (const [name, f] of paths) {
            const c = c0.slice();
            f(a, b, c, m, n, k, { ...t, accumulate, bias, relu });
            assertSameValues(c, expected, `${name} ${label(m, n, k, t)} relu=${relu} bias`);
            if (relu) {
              // ReLU alone: the product's negative elements become +0, −0 and NaN stay.
              const plain = c0.slice(), alone = c0.slice();
              gemm(a, b, plain, m, n, k, { ...t, accumulate });
              for (let e = 0; e < m * n; e++) if (plain[e] < 0) plain[e] = 0;
              f(a, b, alone, m, n, k, { ...t, accumulate, relu });
              assertSameValues(alone, plain, `${name} ${label(m, n, k, t)} relu alone`);
            }
          }
        }
      }
    }
  }
  assert.throws(() =>
    gemm(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2, 2, 2, {
      bias: new Float32Array(1),
    }), RangeError);
});

Deno.test("sumRows gives the bits of the row-order loop, on every size", () => {
  const rng = new Rng(15);
  for (
    const [m, n] of [[0, 5], [3, 0], [1, 1], [7, 3], [256, 256], [256, 64], [300, 2], [33, 1027]]
  ) {
    const x = random(rng, m * n + 3);
    for (let e = 0; e < m * n; e += 97) x[e] = [-0, Infinity, 1e-42, Number.NaN, 1e30][e % 5];
    const expected = new Float32Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected[j] += x[i * n + j];
    for (const f of [sumRows, sumRowsTs]) {
      const out = random(rng, n); // overwritten
      f(x, out, m, n);
      assertSameValues(out, expected, `${f.name} ${m}×${n}`);
    }
  }
  assert.throws(() => sumRows(new Float32Array(5), new Float32Array(3), 2, 3), RangeError);
  assert.throws(() => sumRows(new Float32Array(6), new Float32Array(2), 2, 3), RangeError);
  assert.throws(() => sumRows(new Float32Array(6), new Float32Array(3), -2, 3), RangeError);
});
