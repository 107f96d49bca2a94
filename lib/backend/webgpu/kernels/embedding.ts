/**
 * Embedding kernels: the lookup `embeddingForward` (a gather, one invocation per output element)
 * and its gradients. The table's gradient is a scatter-add made deterministic without atomics or
 * sorting: one invocation per table element `(v, e)` walks every id of the input in order (row by
 * row, column by column) and sums the upstream gradient of the ids equal to v, the order the CPU
 * backend sums in, so both give the same bits. It costs `V·E·R·L` comparisons, which is small for
 * the catalogues and batches rnnrl trains on. The input's gradient is a copy of the
 * passed-through columns (ids have none). Sizes go in the uniforms; an id that is not a whole
 * number in `0..V−1` gives NaN, as the Q-value kernels do for a bad action.
 *
 * @module
 */

import type { EmbeddingDims } from "../../_checks.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
} from "./kernel.ts";

const UNIFORMS = [
  ["rows", "u32"],
  ["inputs", "u32"],
  ["ids", "u32"],
  ["vocabulary", "u32"],
  ["size", "u32"],
  ["outputs", "u32"],
] as const;

/** WGSL: whether `id` is a whole number in `0..vocabulary−1`, and a runtime NaN. */
const WGSL_VALID_ID = `
fn valid_id(id: f32, vocabulary: u32) -> bool {
  return id >= 0.0 && id < f32(vocabulary) && floor(id) == id;
}
// A runtime value: a constant expression must not evaluate to NaN.
var<private> nan_bits: u32 = 0x7fc00000u;`;

/** Kernel `embedding_forward`: `out[r, l·E + e] = table[x[r, l], e]`, then the passed columns. */
export function embeddingForwardKernel(): Kernel {
  return makeKernel({
    key: "embedding_forward",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    buffers: [["x", "read"], ["table", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_VALID_ID}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.rows * p.outputs) { return; }
  let r = i / p.outputs;
  let c = i % p.outputs;
  let looked = p.ids * p.size;
  if (c >= looked) {
    out[i] = x[r * p.inputs + p.ids + (c - looked)];
    return;
  }
  let id = x[r * p.inputs + c / p.size];
  if (!valid_id(id, p.vocabulary)) {
    out[i] = bitcast<f32>(nan_bits);
    return;
  }
  out[i] = table[u32(id) * p.size + c % p.size];
}`,
  });
}

/**
 * Kernel `embedding_table_grad`: `dTable[v, e]` sums `dOutput[r, l·E + e]` over every `(r, l)`
 * with `x[r, l] = v`, in increasing r, then l. A bad id anywhere makes every entry NaN.
 */
export function embeddingTableGradKernel(): Kernel {
  return makeKernel({
    key: "embedding_table_grad",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    buffers: [["x", "read"], ["d_output", "read"], ["d_table", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_VALID_ID}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.vocabulary * p.size) { return; }
  let v = f32(i / p.size);
  let e = i % p.size;
  var total = 0.0;
  var bad = false;
  for (var r = 0u; r < p.rows; r++) {
    for (var l = 0u; l < p.ids; l++) {
      let id = x[r * p.inputs + l];
      bad = bad || !valid_id(id, p.vocabulary);
      if (id == v) { total += d_output[r * p.outputs + l * p.size + e]; }
    }
  }
  d_table[i] = select(total, bitcast<f32>(nan_bits), bad);
}`,
  });
}

/** Kernel `embedding_input_grad`: 0 at the id columns, the upstream gradient of the rest. */
export function embeddingInputGradKernel(): Kernel {
  return makeKernel({
    key: "embedding_input_grad",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    buffers: [["d_output", "read"], ["d_input", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_index(gid, groups);
  if (i >= p.rows * p.inputs) { return; }
  let r = i / p.inputs;
  let c = i % p.inputs;
  if (c < p.ids) {
    d_input[i] = 0.0;
  } else {
    d_input[i] = d_output[r * p.outputs + p.ids * p.size + (c - p.ids)];
  }
}`,
  });
}

function uniforms(dims: EmbeddingDims): number[] {
  return [dims.rows, dims.inputs, dims.ids, dims.vocabulary, dims.size, dims.outputs];
}

/** Encodes {@linkcode embeddingForwardKernel}. */
export function encodeEmbeddingForward(
  ctx: KernelContext,
  x: GPUBuffer,
  table: GPUBuffer,
  out: GPUBuffer,
  dims: EmbeddingDims,
): void {
  const count = dims.rows * dims.outputs;
  if (count === 0) return;
  ctx.dispatch(
    "embedding_forward",
    embeddingForwardKernel,
    uniforms(dims),
    [x, table, out],
    linearWorkgroups(ctx, count),
  );
}

/** Encodes {@linkcode embeddingTableGradKernel} and {@linkcode embeddingInputGradKernel}. */
export function encodeEmbeddingBackward(
  ctx: KernelContext,
  buffers: { x: GPUBuffer; dOutput: GPUBuffer; dTable: GPUBuffer; dInput: GPUBuffer },
  dims: EmbeddingDims,
): void {
  const tableCount = dims.vocabulary * dims.size, inputCount = dims.rows * dims.inputs;
  if (tableCount > 0) {
    ctx.dispatch(
      "embedding_table_grad",
      embeddingTableGradKernel,
      uniforms(dims),
      [buffers.x, buffers.dOutput, buffers.dTable],
      linearWorkgroups(ctx, tableCount),
    );
  }
  if (inputCount > 0) {
    ctx.dispatch(
      "embedding_input_grad",
      embeddingInputGradKernel,
      uniforms(dims),
      [buffers.dOutput, buffers.dInput],
      linearWorkgroups(ctx, inputCount),
    );
  }
}
