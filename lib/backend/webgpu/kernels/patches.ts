/**
 * Patch kernels: `unfoldPatches` (every cell's neighbourhood as a row, im2col) and its adjoint
 * `foldPatches`. Unfold runs one invocation per output element; fold is a gather, one invocation
 * per input element summing the patch entries copied from it in a fixed order (no atomics), so it
 * is deterministic. The board geometry goes in the uniforms, so one pipeline serves every size.
 *
 * @module
 */

import type { PatchDims } from "../../backend.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
} from "./kernel.ts";

const UNIFORMS = [
  ["batch", "u32"],
  ["channels", "u32"],
  ["height", "u32"],
  ["width", "u32"],
  ["radius", "u32"],
  ["features", "u32"],
] as const;

/** Kernel `patches_unfold`: `out[b·H·W + i, n·(C + 1) + c]` from `x[b, c·H·W + j]`. */
export function unfoldKernel(): Kernel {
  return makeKernel({
    key: "patches_unfold",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let cells = p.height * p.width;
  if (e >= p.batch * cells * p.features) { return; }
  let row = e / p.features;
  let f = e % p.features;
  let b = row / cells;
  let i = row % cells;
  let n = f / (p.channels + 1u);
  let c = f % (p.channels + 1u);
  let side = 2u * p.radius + 1u;
  // Unsigned arithmetic shifted by r: yy + r = y + n / side, on the board when in r..H + r − 1.
  let ys = i / p.width + n / side;
  let xs = i % p.width + n % side;
  let outside = ys < p.radius || ys >= p.height + p.radius || xs < p.radius || xs >= p.width + p.radius;
  if (c == p.channels) {
    out[e] = select(0.0, 1.0, outside);
  } else if (outside) {
    out[e] = 0.0;
  } else {
    out[e] = x[(b * p.channels + c) * cells + (ys - p.radius) * p.width + (xs - p.radius)];
  }
}`,
  });
}

/** Encodes {@linkcode unfoldKernel}. */
export function encodeUnfoldPatches(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  dims: PatchDims,
): void {
  const count = dims.batch * dims.height * dims.width * dims.features;
  if (count === 0) return;
  ctx.dispatch(
    "patches_unfold",
    unfoldKernel,
    [dims.batch, dims.channels, dims.height, dims.width, dims.radius, dims.features],
    [x, out],
    linearWorkgroups(ctx, count),
  );
}

/**
 * Kernel `patches_fold`: `out[b, c·H·W + j]` sums, over the neighbour slots n in order, the entry
 * `patches[b·H·W + i, n·(C + 1) + c]` of the cell i that saw j in slot n (i = j − offset(n)).
 */
export function foldKernel(): Kernel {
  return makeKernel({
    key: "patches_fold",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: UNIFORMS,
    buffers: [["patches", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let cells = p.height * p.width;
  if (e >= p.batch * p.channels * cells) { return; }
  let j = e % cells;
  let c = (e / cells) % p.channels;
  let b = e / (cells * p.channels);
  let side = 2u * p.radius + 1u;
  // The source cell is (y + r − n / side, x + r − n % side), on the board when in r..H + r − 1
  // after adding r (kept unsigned).
  let ys0 = j / p.width + 2u * p.radius;
  let xs0 = j % p.width + 2u * p.radius;
  var total = 0.0;
  for (var n = 0u; n < side * side; n++) {
    let ys = ys0 - n / side;
    let xs = xs0 - n % side;
    if (ys < p.radius || ys >= p.height + p.radius || xs < p.radius || xs >= p.width + p.radius) {
      continue;
    }
    let i = (ys - p.radius) * p.width + (xs - p.radius);
    total += patches[(b * cells + i) * p.features + n * (p.channels + 1u) + c];
  }
  out[e] = total;
}`,
  });
}

/** Encodes {@linkcode foldKernel}. */
export function encodeFoldPatches(
  ctx: KernelContext,
  patches: GPUBuffer,
  out: GPUBuffer,
  dims: PatchDims,
): void {
  const count = dims.batch * dims.channels * dims.height * dims.width;
  if (count === 0) return;
  ctx.dispatch(
    "patches_fold",
    foldKernel,
    [dims.batch, dims.channels, dims.height, dims.width, dims.radius, dims.features],
    [patches, out],
    linearWorkgroups(ctx, count),
  );
}
