/**
 * The tiled matmul `C = act(op(A) · op(B) + bias)`.
 *
 * Each workgroup of 16×16 invocations computes a 64×64 tile of C, each invocation a 4×4 block,
 * stepping through K in slices of 16 staged in workgroup memory as vec4s. Operands whose
 * contiguous axis is a multiple of 4 are loaded from global memory as vec4s (each operand is
 * bound twice, as f32s and as vec4s, and a uniform picks the path). The transposes, the bias and
 * the activation are template parameters (part of the cache key); M, N, K and the vec4 flags are
 * uniforms, so new sizes reuse the compiled pipeline.
 *
 * The register-blocked kernels below are the other family (`KernelStrategy` in kernel.ts): no
 * workgroup memory, a 4×4 block of C per invocation, vec4 loads where the sizes allow.
 *
 * @module
 */

import type { Activation } from "../../backend.ts";
import {
  type Kernel,
  type KernelContext,
  makeKernel,
  WGSL_MATH,
  wgslActivation,
  wgslActivation4,
} from "./kernel.ts";

/** Rows and columns of C computed by one workgroup. */
export const MATMUL_TILE = 64;
/** The slice of K staged in workgroup memory per iteration. */
const TK = 16;

/** The template parameters of a matmul kernel. */
export interface MatmulVariant {
  /** A is stored `[K, M]`. */
  transposeA: boolean;
  /** B is stored `[N, K]`. */
  transposeB: boolean;
  /** Add a `[N]` bias. */
  bias: boolean;
  /** The epilogue's activation. */
  activation: Activation;
}

/** The cache key of a matmul variant. */
export function matmulKey(v: MatmulVariant): string {
  return `matmul_tA${+v.transposeA}_tB${+v.transposeB}_b${+v.bias}_${v.activation}`;
}

/** WGSL staging the A tile: As[kk * 16 + r / 4][r % 4] holds op(A)[m0 + r, k0 + kk]. */
function loadA(transposeA: boolean): string {
  const vec = !transposeA
    ? `let r = tid / 4u; let q = tid % 4u;
      let gm = m0 + r; let gk = k0 + q * 4u;
      var x = vec4<f32>(0.0);
      if (gm < p.M && gk < p.K) { x = A4[(gm * p.K + gk) / 4u]; }
      for (var c = 0u; c < 4u; c++) { As[(q * 4u + c) * 16u + r / 4u][r % 4u] = x[c]; }`
    : `let kk = tid / 16u; let q = tid % 16u;
      let gk = k0 + kk; let gm = m0 + q * 4u;
      var x = vec4<f32>(0.0);
      if (gk < p.K && gm < p.M) { x = A4[(gk * p.M + gm) / 4u]; }
      As[kk * 16u + q] = x;`;
  const scalar = !transposeA
    ? `for (var l = 0u; l < 4u; l++) {
        let idx = l * 256u + tid; let r = idx / 16u; let kk = idx % 16u;
        let gm = m0 + r; let gk = k0 + kk;
        var x = 0.0;
        if (gm < p.M && gk < p.K) { x = A[gm * p.K + gk]; }
        As[kk * 16u + r / 4u][r % 4u] = x;
      }`
    : `for (var l = 0u; l < 4u; l++) {
        let idx = l * 256u + tid; let kk = idx / 64u; let r = idx % 64u;
        let gm = m0 + r; let gk = k0 + kk;
        var x = 0.0;
        if (gm < p.M && gk < p.K) { x = A[gk * p.M + gm]; }
        As[kk * 16u + r / 4u][r % 4u] = x;
      }`;
  return `if (p.vecA != 0u) {
      ${vec}
    } else {
      ${scalar}
    }`;
}

/** WGSL staging the B tile: Bs[kk * 16 + c / 4][c % 4] holds op(B)[k0 + kk, n0 + c]. */
function loadB(transposeB: boolean): string {
  const vec = !transposeB
    ? `let kk = tid / 16u; let q = tid % 16u;
      let gk = k0 + kk; let gn = n0 + q * 4u;
      var x = vec4<f32>(0.0);
      if (gk < p.K && gn < p.N) { x = B4[(gk * p.N + gn) / 4u]; }
      Bs[kk * 16u + q] = x;`
    : `let c = tid / 4u; let q = tid % 4u;
      let gn = n0 + c; let gk = k0 + q * 4u;
      var x = vec4<f32>(0.0);
      if (gn < p.N && gk < p.K) { x = B4[(gn * p.K + gk) / 4u]; }
      for (var e = 0u; e < 4u; e++) { Bs[(q * 4u + e) * 16u + c / 4u][c % 4u] = x[e]; }`;
  const scalar = !transposeB
    ? `for (var l = 0u; l < 4u; l++) {
        let idx = l * 256u + tid; let kk = idx / 64u; let c = idx % 64u;
        let gk = k0 + kk; let gn = n0 + c;
        var x = 0.0;
        if (gk < p.K && gn < p.N) { x = B[gk * p.N + gn]; }
        Bs[kk * 16u + c / 4u][c % 4u] = x;
      }`
    : `for (var l = 0u; l < 4u; l++) {
        let idx = l * 256u + tid; let c = idx / 16u; let kk = idx % 16u;
        let gk = k0 + kk; let gn = n0 + c;
        var x = 0.0;
        if (gk < p.K && gn < p.N) { x = B[gn * p.K + gk]; }
        Bs[kk * 16u + c / 4u][c % 4u] = x;
      }`;
  return `if (p.vecB != 0u) {
      ${vec}
    } else {
      ${scalar}
    }`;
}

/** Builds the WGSL of a matmul variant. */
export function matmulKernel(v: MatmulVariant): Kernel {
  const buffers: [string, "read" | "write", string?][] = [
    ["A", "read"],
    ["A4", "read", "vec4<f32>"],
    ["B", "read"],
    ["B4", "read", "vec4<f32>"],
    ["C", "write"],
  ];
  if (v.bias) buffers.push(["bias", "read"]);
  const value = v.bias ? "acc[i][j] + bias[gn]" : "acc[i][j]";
  return makeKernel({
    key: matmulKey(v),
    workgroupSize: [16, 16, 1],
    uniforms: [["M", "u32"], ["N", "u32"], ["K", "u32"], ["vecA", "u32"], ["vecB", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
var<workgroup> As: array<vec4<f32>, ${TK * 16}>;
var<workgroup> Bs: array<vec4<f32>, ${TK * 16}>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let m0 = wid.y * ${MATMUL_TILE}u;
  let n0 = wid.x * ${MATMUL_TILE}u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += ${TK}u) {
    ${loadA(v.transposeA)}
    ${loadB(v.transposeB)}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      let a = As[kk * 16u + lid.y];
      let b = Bs[kk * 16u + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let gm = m0 + lid.y * 4u + i;
    if (gm >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let gn = n0 + lid.x * 4u + j;
      if (gn < p.N) { C[gm * p.N + gn] = ${wgslActivation(v.activation, value)}; }
    }
  }
}`,
  });
}

/** The template parameters of a register-blocked matmul kernel. */
export interface RegisterMatmulVariant {
  /** A is stored `[K, M]`. */
  transposeA: boolean;
  /** B is stored `[N, K]`. */
  transposeB: boolean;
  /** Add a `[N]` bias. */
  bias: boolean;
  /** The epilogue's activation. */
  activation: Activation;
}

/** The cache key of a register-blocked matmul variant. */
export function registerMatmulKey(v: RegisterMatmulVariant, vec4: boolean): string {
  return `matmul_reg${vec4 ? "4" : "1"}_tA${+v.transposeA}_tB${+v.transposeB}_b${+v.bias}_` +
    v.activation;
}

/**
 * Builds the scalar register-blocked matmul, for any sizes: like
 * {@linkcode registerMatmulKernel} (a 4×4 block of C per invocation, no workgroup memory) but
 * with scalar loads, one k at a time; loads past the edges are clamped and their results not
 * stored.
 */
export function scalarRegisterMatmulKernel(v: RegisterMatmulVariant): Kernel {
  const buffers: [string, "read" | "write"][] = [["A", "read"], ["B", "read"], ["C", "write"]];
  if (v.bias) buffers.push(["bias", "read"]);
  const a = (i: number) => v.transposeA ? `A[k * p.M + row${i}]` : `A[row${i} * p.K + k]`;
  const b = (j: number) => v.transposeB ? `B[col${j} * p.K + k]` : `B[k * p.N + col${j}]`;
  const value = (i: number, j: number) =>
    v.bias ? `acc${i}[${j}] + bias[col${j}]` : `acc${i}[${j}]`;
  const stores = [0, 1, 2, 3].flatMap((i) =>
    [0, 1, 2, 3].map((j) =>
      `if (m0 + ${i}u < p.M && n0 + ${j}u < p.N) { C[(m0 + ${i}u) * p.N + n0 + ${j}u] = ${
        wgslActivation(v.activation, value(i, j))
      }; }`
    )
  ).join("\n  ");
  return makeKernel({
    key: registerMatmulKey(v, false),
    workgroupSize: [8, 8, 1],
    uniforms: [["M", "u32"], ["N", "u32"], ["K", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u; let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) { return; }
  let lastRow = p.M - 1u; let lastCol = p.N - 1u;
  let row0 = min(m0, lastRow); let row1 = min(m0 + 1u, lastRow);
  let row2 = min(m0 + 2u, lastRow); let row3 = min(m0 + 3u, lastRow);
  let col0 = min(n0, lastCol); let col1 = min(n0 + 1u, lastCol);
  let col2 = min(n0 + 2u, lastCol); let col3 = min(n0 + 3u, lastCol);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let b = vec4<f32>(${b(0)}, ${b(1)}, ${b(2)}, ${b(3)});
    acc0 += ${a(0)} * b;
    acc1 += ${a(1)} * b;
    acc2 += ${a(2)} * b;
    acc3 += ${a(3)} * b;
  }
  ${stores}
}`,
  });
}

/**
 * Builds the register-blocked matmul: each invocation of an 8×8 workgroup owns rows
 * `m0..m0+3` and the column quad `n0..n0+3` of C, and walks K four at a time with vec4 loads,
 * so a step is 8 vec4 loads for 16 vec4 multiply-adds and no workgroup memory or barrier.
 * Needs `N % 4 == 0`, `K % 4 == 0` and, with `transposeA`, `M % 4 == 0`.
 */
export function registerMatmulKernel(v: RegisterMatmulVariant): Kernel {
  const buffers: [string, "read" | "write", string][] = [
    ["A", "read", "vec4<f32>"],
    ["B", "read", "vec4<f32>"],
    ["C", "write", "vec4<f32>"],
  ];
  if (v.bias) buffers.push(["bias", "read", "vec4<f32>"]);
  // b0..b3: rows k..k+3 of op(B) restricted to the column quad.
  const loadB = v.transposeB
    ? `let r0 = B[n0 * K4 + kq];
    let r1 = B[(n0 + 1u) * K4 + kq];
    let r2 = B[(n0 + 2u) * K4 + kq];
    let r3 = B[(n0 + 3u) * K4 + kq];
    let b0 = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
    let b1 = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
    let b2 = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
    let b3 = vec4<f32>(r0.w, r1.w, r2.w, r3.w);`
    : `let b0 = B[k * N4 + nq];
    let b1 = B[(k + 1u) * N4 + nq];
    let b2 = B[(k + 2u) * N4 + nq];
    let b3 = B[(k + 3u) * N4 + nq];`;
  // a0..a3: rows m0..m0+3 of op(A) at columns k..k+3.
  const loadA = v.transposeA
    ? `let c0 = A[k * M4 + mq];
    let c1 = A[(k + 1u) * M4 + mq];
    let c2 = A[(k + 2u) * M4 + mq];
    let c3 = A[(k + 3u) * M4 + mq];
    let a0 = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    let a1 = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    let a2 = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    let a3 = vec4<f32>(c0.w, c1.w, c2.w, c3.w);`
    : `let a0 = A[row0 * K4 + kq];
    let a1 = A[row1 * K4 + kq];
    let a2 = A[row2 * K4 + kq];
    let a3 = A[row3 * K4 + kq];`;
  const value = (i: number) => v.bias ? `acc${i} + bias[nq]` : `acc${i}`;
  const store = [0, 1, 2, 3].map((i) =>
    `if (m0 + ${i}u < p.M) { C[(m0 + ${i}u) * N4 + nq] = ${
      wgslActivation4(v.activation, value(i))
    }; }`
  ).join("\n  ");
  return makeKernel({
    key: registerMatmulKey(v, true),
    workgroupSize: [8, 8, 1],
    uniforms: [["M", "u32"], ["N", "u32"], ["K", "u32"]],
    buffers,
    body: `
${WGSL_MATH}
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let N4 = p.N / 4u; let K4 = p.K / 4u; let M4 = p.M / 4u;
  let nq = gid.x; let n0 = nq * 4u;
  let mq = gid.y; let m0 = mq * 4u;
  if (nq >= N4 || m0 >= p.M) { return; }
  // Rows past M (only without transposeA) read row M - 1 and are not stored.
  let last = p.M - 1u;
  let row0 = min(m0, last); let row1 = min(m0 + 1u, last);
  let row2 = min(m0 + 2u, last); let row3 = min(m0 + 3u, last);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var kq = 0u; kq < K4; kq++) {
    let k = kq * 4u;
    ${loadB}
    ${loadA}
    acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }
  ${store}
}`,
  });
}

/** The sizes and flags of one matmul dispatch. */
export interface MatmulCall {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** The inner size. */
  k: number;
  /** A is stored `[K, M]`. */
  transposeA: boolean;
  /** B is stored `[N, K]`. */
  transposeB: boolean;
  /** The activation of the epilogue. */
  activation: Activation;
}

/**
 * Encodes `c = act(op(a) · op(b) + bias)`. Nothing is dispatched when C is empty; when K is 0
 * the kernel still runs and writes `act(bias)` (or `act(0)`).
 */
export function encodeMatmul(
  ctx: KernelContext,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  bias: GPUBuffer | undefined,
  call: MatmulCall,
): void {
  const { m, n, k } = call;
  if (m === 0 || n === 0) return;
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const registerGrid = [Math.ceil(n / 32), Math.ceil(m / 32), 1] as const;
  if (ctx.strategy === "register" && registerGrid[0] <= max && registerGrid[1] <= max) {
    const r: RegisterMatmulVariant = {
      transposeA: call.transposeA,
      transposeB: call.transposeB,
      bias: bias !== undefined,
      activation: call.activation,
    };
    const vec4 = n % 4 === 0 && k % 4 === 0 && (!call.transposeA || m % 4 === 0);
    const build = vec4 ? () => registerMatmulKernel(r) : () => scalarRegisterMatmulKernel(r);
    const buffers = bias ? [a, b, c, bias] : [a, b, c];
    ctx.dispatch(registerMatmulKey(r, vec4), build, [m, n, k], buffers, registerGrid);
    return;
  }
  const v: MatmulVariant = {
    transposeA: call.transposeA,
    transposeB: call.transposeB,
    bias: bias !== undefined,
    activation: call.activation,
  };
  const vecA = (call.transposeA ? m : k) % 4 === 0 ? 1 : 0;
  const vecB = (call.transposeB ? k : n) % 4 === 0 ? 1 : 0;
  const tilesX = Math.ceil(n / MATMUL_TILE);
  const tilesY = Math.ceil(m / MATMUL_TILE);
  if (tilesX > max || tilesY > max) {
    throw new RangeError(
      `Cannot multiply matrices of ${m}x${k} and ${k}x${n}: the grid exceeds the device's ${max} workgroups per dimension`,
    );
  }
  const buffers = bias ? [a, a, b, b, c, bias] : [a, a, b, b, c];
  ctx.dispatch(matmulKey(v), () => matmulKernel(v), [m, n, k, vecA, vecB], buffers, [
    tilesX,
    tilesY,
    1,
  ]);
}
