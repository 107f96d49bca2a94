/**
 * What every kernel family shares: the {@linkcode Kernel} description (cache key, workgroup size,
 * WGSL text, bindings), the {@linkcode KernelContext} that kernels are dispatched through, and
 * WGSL snippets used by several families (activations, the PCG hash, linear indexing).
 *
 * Binding 0 of every kernel is its uniform `Params` struct, generated from {@linkcode Kernel.uniforms};
 * storage buffers follow from binding 1 in the order of {@linkcode Kernel.bindings}. Sizes always go
 * in the uniforms, so the WGSL text (and with it the compiled pipeline) never depends on them.
 *
 * @module
 */

import type { Activation } from "../../backend.ts";

/** How a kernel uses one storage buffer: `read` is read-only, `write` is read-write. */
export type BindingAccess = "read" | "write";

/** One field of a kernel's uniform struct: a name and a 32-bit scalar type. */
export type UniformField = readonly [name: string, type: "u32" | "f32"];

/** A compute kernel: everything needed to compile it and to bind its resources. */
export interface Kernel {
  /** Identifies the kernel and every template parameter, e.g. `matmul_tA0_tB1_bias_relu`. */
  readonly key: string;
  /** The workgroup size the WGSL declares. */
  readonly workgroupSize: readonly [number, number, number];
  /** The storage buffers from binding 1 on. */
  readonly bindings: readonly BindingAccess[];
  /** The fields of the uniform struct at binding 0, in order. */
  readonly uniforms: readonly UniformField[];
  /** The complete WGSL source. */
  readonly wgsl: string;
}

/**
 * How matmul-like kernels are written. `tiled` stages tiles of the operands in workgroup memory
 * (what a real GPU wants); `register` keeps a 4×4 block per invocation in registers and reads
 * the operands as vec4s straight from the buffers, which is several times faster on CPU
 * implementations of WebGPU such as Mesa's llvmpipe, where workgroup memory and barriers are
 * emulated. Both families handle every size (vec4 loads where the sizes are multiples of 4).
 */
export type KernelStrategy = "tiled" | "register";

/**
 * How the recurrent layers walk a sequence: `step` dispatches once (or twice) per step;
 * `sequence` runs the sequence-long kernels, one dispatch for all T steps, wherever they fit
 * (see lstm_sequence.ts); `auto` chooses by the sizes (see `prefersSequenceKernels`).
 */
export type RecurrentKernels = "auto" | "step" | "sequence";

/** A grid of workgroups to dispatch. */
export type Workgroups = readonly [number, number, number];

/**
 * Where kernels are encoded. The backend implements it over one command encoder; kernel files
 * only describe their WGSL and how to size its grid.
 */
export interface KernelContext {
  /** Device limits the kernels must respect. */
  readonly limits: { readonly maxComputeWorkgroupsPerDimension: number };
  /** Which family of matmul-like kernels to prefer (see {@linkcode KernelStrategy}). */
  readonly strategy: KernelStrategy;
  /** How the recurrent layers walk a sequence (see {@linkcode RecurrentKernels}). */
  readonly recurrent: RecurrentKernels;
  /**
   * Encodes one dispatch. `build` runs only the first time `key` is seen; `uniforms` are given
   * in the order of the kernel's fields and `buffers` in the order of its bindings.
   */
  dispatch(
    key: string,
    build: () => Kernel,
    uniforms: readonly number[],
    buffers: readonly GPUBuffer[],
    workgroups: Workgroups,
  ): void;
  /** Encodes a copy of `bytes` bytes between buffers (offsets in bytes, multiples of 4). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void;
  /** Encodes zeroing `bytes` bytes of `buffer` from `offset` (multiples of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void;
}

/** Builds a {@linkcode Kernel}, generating the `Params` struct and the binding declarations. */
export function makeKernel(spec: {
  key: string;
  workgroupSize: readonly [number, number, number];
  uniforms: readonly UniformField[];
  /** Storage buffers: name, access and WGSL element type (`f32` unless given). */
  buffers: readonly (readonly [name: string, access: BindingAccess, type?: string])[];
  /** The rest of the shader: helpers, workgroup variables and the entry point `main`. */
  body: string;
}): Kernel {
  const fields = spec.uniforms.length > 0 ? spec.uniforms : [["unused", "u32"] as const];
  const lines = [
    `// rnnrl kernel ${spec.key}`,
    `struct Params {`,
    ...fields.map(([name, type]) => `  ${name}: ${type},`),
    `}`,
    `@group(0) @binding(0) var<uniform> p: Params;`,
    ...spec.buffers.map(([name, access, type], i) =>
      `@group(0) @binding(${i + 1}) var<storage, ${
        access === "read" ? "read" : "read_write"
      }> ${name}: array<${type ?? "f32"}>;`
    ),
    spec.body.trim(),
    "",
  ];
  return {
    key: spec.key,
    workgroupSize: spec.workgroupSize,
    bindings: spec.buffers.map(([, access]) => access),
    uniforms: spec.uniforms,
    wgsl: lines.join("\n"),
  };
}

/** Bytes of a kernel's uniform block (16-byte aligned, at least 16). */
export function uniformBytes(kernel: Kernel): number {
  return Math.max(16, Math.ceil((kernel.uniforms.length * 4) / 16) * 16);
}

/** The workgroup size of the one-dimensional elementwise kernels. */
export const LINEAR_WORKGROUP = 256;

/**
 * A grid covering `count` invocations in workgroups of `size`, folded into y when x would exceed
 * the device's per-dimension limit. Pair it with {@linkcode WGSL_LINEAR_INDEX}.
 */
export function linearWorkgroups(
  ctx: KernelContext,
  count: number,
  size: number = LINEAR_WORKGROUP,
): Workgroups {
  const groups = Math.ceil(count / size);
  const maxX = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxX) return [groups, groups > 0 ? 1 : 0, 1];
  return [maxX, Math.ceil(groups / maxX), 1];
}

/** WGSL: the flat invocation index of a {@linkcode linearWorkgroups} grid (size 256). */
export const WGSL_LINEAR_INDEX =
  `fn linear_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * ${LINEAR_WORKGROUP}u; }`;

/**
 * WGSL: numerically safe sigmoid and tanh (no overflow to NaN for large inputs) and the
 * activations of {@linkcode Activation} by name.
 */
export const WGSL_MATH = `
fn relu_f(x: f32) -> f32 { return select(x, 0.0, x < 0.0); }
fn sigmoid_f(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanh_f(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}
fn relu4(x: vec4<f32>) -> vec4<f32> { return select(x, vec4<f32>(0.0), x < vec4<f32>(0.0)); }
fn sigmoid4(x: vec4<f32>) -> vec4<f32> { return 1.0 / (1.0 + exp(-x)); }
fn tanh4(x: vec4<f32>) -> vec4<f32> {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= vec4<f32>(0.0));
}`;

/** The WGSL expression applying `activation` to the f32 expression `x`. */
export function wgslActivation(activation: Activation, x: string): string {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return `relu_f(${x})`;
    case "tanh":
      return `tanh_f(${x})`;
    case "sigmoid":
      return `sigmoid_f(${x})`;
    default:
      throw new RangeError(`Cannot apply activation "${activation}"`);
  }
}

/** The WGSL expression applying `activation` to the vec4<f32> expression `x`. */
export function wgslActivation4(activation: Activation, x: string): string {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return `relu4(${x})`;
    case "tanh":
      return `tanh4(${x})`;
    case "sigmoid":
      return `sigmoid4(${x})`;
    default:
      throw new RangeError(`Cannot apply activation "${activation}"`);
  }
}

/**
 * WGSL: the PCG hash and the counter-based draw of `counterUniform` in backend.ts, bit for bit
 * (u32 arithmetic wraps like `Math.imul` and `>>> 0`). `counter_bits` returns the 24 bits that
 * the uniform draw divides by 2^24.
 */
export const WGSL_PCG = `
fn pcg_hash(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
fn counter_bits(seed: u32, counter: u32, lane: u32) -> u32 {
  return pcg_hash(pcg_hash(seed ^ (counter * 0x9e3779b9u)) + lane) >> 8u;
}`;
