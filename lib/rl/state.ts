/**
 * The checkpointable state of an agent: small state as JSON and large state as named typed arrays,
 * and the helpers that save networks and optimizers that way and find arrays again on restore.
 *
 * @module
 */

import type { JsonObject } from "../io/json.ts";
import type { Optimizer } from "../nn/optimizers.ts";
import type { Trainable } from "../nn/parameter.ts";
import type { Sequential } from "../nn/sequential.ts";

/** One named typed array of an {@linkcode AgentState} (a checkpoint array). */
export interface AgentArray {
  /** A unique name such as "online.layers.0.w" or "replay.observations". */
  name: string;
  /** The dimensions, outermost first. */
  shape: number[];
  /** The elements, row-major. */
  data: Float32Array | Uint8Array | Int32Array;
}

/** A part's saved state: its JSON and its named arrays. */
export interface NamedArrays<Json> {
  /** JSON-serialisable small state. */
  json: Json;
  /** Named typed arrays. */
  arrays: AgentArray[];
}

/**
 * Everything needed to continue a training run exactly: small state as JSON (options, counters,
 * RNG states) and large state as named typed arrays (parameters, optimizer moments, replay).
 */
export interface AgentState extends NamedArrays<JsonObject> {
  /** JSON-serialisable small state; `kind` names the agent, `options` its resolved options. */
  json: JsonObject;
}

/**
 * Finds a named array of a state, checking its element type and, when given, its size.
 *
 * @throws {TypeError} When it is missing or does not fit.
 */
export function findArray<T extends AgentArray["data"]>(
  state: { arrays: readonly AgentArray[] },
  name: string,
  type: new (n: number) => T,
  size?: number,
): T {
  const found = state.arrays.find((a) => a.name === name);
  if (!found) throw new TypeError(`Cannot restore the agent: the state has no array "${name}"`);
  if (!(found.data instanceof type)) {
    throw new TypeError(`Cannot restore the agent: "${name}" has the wrong element type`);
  }
  if (size !== undefined && found.data.length !== size) {
    throw new TypeError(
      `Cannot restore the agent: "${name}" has ${found.data.length} values, expected ${size}`,
    );
  }
  return found.data as T;
}

/** Gives every array's name a prefix (e.g. "replay."). */
export function prefixArrays(prefix: string, arrays: AgentArray[]): AgentArray[] {
  return arrays.map((a) => ({ ...a, name: prefix + a.name }));
}

/** A model's parameters as named arrays, each name prefixed (e.g. "online."). */
export async function modelArrays(prefix: string, model: Sequential): Promise<AgentArray[]> {
  return prefixArrays(prefix, await model.getParameters());
}

/** Loads the arrays named `prefix + parameter name` into a model, checking every shape. */
export function restoreModel(state: NamedArrays<unknown>, prefix: string, model: Sequential): void {
  model.setParameters(model.parameters.map((p) => {
    const name = prefix + p.name;
    const data = findArray(state, name, Float32Array, p.value.size);
    // The same size is not enough: a transposed weight matrix would load without complaint.
    const saved = state.arrays.find((a) => a.name === name)!.shape;
    if (saved.length !== p.value.shape.length || saved.some((d, i) => d !== p.value.shape[i])) {
      throw new TypeError(
        `Cannot restore the agent: "${name}" has shape [${saved}], expected [${p.value.shape}]`,
      );
    }
    return { name: p.name, shape: [...p.value.shape], data };
  }));
}

/** An optimizer's moment buffers as named arrays, with its step count as the JSON. */
export async function optimizerArrays(
  prefix: string,
  optimizer: Optimizer,
  model: Trainable,
): Promise<NamedArrays<number>> {
  const s = await optimizer.getState(model);
  return { json: s.step, arrays: prefixArrays(prefix, s.slots) };
}

/** Restores an optimizer from the arrays named `prefix + slot name` and its step count. */
export function restoreOptimizer(
  state: NamedArrays<unknown>,
  prefix: string,
  optimizer: Optimizer,
  model: Trainable,
  step: number,
): void {
  const slots = state.arrays
    .filter((a) => a.name.startsWith(prefix))
    .map((a) => ({
      name: a.name.slice(prefix.length),
      shape: a.shape,
      data: findArray(state, a.name, Float32Array),
    }));
  optimizer.setState(model, { step, slots });
}
