/**
 * Trainable parameters and the named arrays they are saved as.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";

/** A trainable tensor and its most recent gradient. */
export class Parameter {
  /** A stable name such as "layers.0.w", used when saving and exporting. */
  readonly name: string;
  /** The current value; optimizers update it in place. */
  readonly value: Tensor;
  /** The gradient from the last backward pass, or null before the first one. */
  grad: Tensor | null = null;

  /** Wraps a tensor as a parameter. */
  constructor(name: string, value: Tensor) {
    this.name = name;
    this.value = value;
  }

  /** Replaces the gradient, disposing the previous one. */
  setGrad(backend: Backend, grad: Tensor): void {
    if (grad.size !== this.value.size) {
      throw new TypeError(
        `Cannot set the gradient of ${this.name}: size ${grad.size}, parameter size ${this.value.size}`,
      );
    }
    if (this.grad) backend.dispose(this.grad);
    this.grad = grad;
  }
}

/** A named float32 array with its shape: how parameters and optimizer slots are saved. */
export interface NamedArray {
  /** The parameter or slot name. */
  name: string;
  /** The dimensions. */
  shape: number[];
  /** The values, row-major. */
  data: Float32Array;
}

/** Anything with a backend and parameters: what optimizers and clipping operate on. */
export interface Trainable {
  /** The backend holding the parameters. */
  readonly backend: Backend;
  /** Every trainable parameter, in a stable order. */
  readonly parameters: readonly Parameter[];
}

/** Reads parameters back to the CPU as named arrays. */
export async function readParameters(
  params: readonly Parameter[],
  backend: Backend,
): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const p of params) {
    out.push({ name: p.name, shape: [...p.value.shape], data: await backend.read(p.value) });
  }
  return out;
}

/**
 * Writes named arrays into parameters, checking that names, shapes and values fit. Nothing is
 * written unless everything fits, so a bad file never leaves a half-loaded model.
 */
export function writeParameters(
  params: readonly Parameter[],
  backend: Backend,
  arrays: readonly NamedArray[],
): void {
  if (arrays.length !== params.length) {
    throw new TypeError(
      `Cannot load parameters: the model has ${params.length}, the data has ${arrays.length}`,
    );
  }
  arrays.forEach((a, i) => {
    const p = params[i];
    if (a.name !== p.name) {
      throw new TypeError(
        `Cannot load parameters: expected ${p.name} at position ${i}, got ${a.name}`,
      );
    }
    const same = a.shape.length === p.value.shape.length &&
      a.shape.every((d, k) => d === p.value.shape[k]);
    if (!same || a.data.length !== p.value.size) {
      throw new TypeError(
        `Cannot load parameter ${p.name}: expected shape [${p.value.shape.join(", ")}], got [${
          a.shape.join(", ")
        }]`,
      );
    }
    for (let k = 0; k < a.data.length; k++) {
      if (!Number.isFinite(a.data[k])) {
        throw new RangeError(`Cannot load parameter ${p.name}: value ${k} is ${a.data[k]}`);
      }
    }
  });
  arrays.forEach((a, i) => backend.write(params[i].value, a.data));
}
