/**
 * A scope for the temporaries of a composed computation: every tensor passed through it is
 * disposed together at the end, so a chain of elementwise ops leaks nothing.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";

/** Tracks tensors (returning each as given) and disposes them all with `dispose()`. */
export interface TensorScope {
  /** Tracks `t` and returns it. */
  <T extends Tensor>(t: T): T;
  /** Disposes every tracked tensor. */
  dispose(): void;
}

/** A new scope on `backend`. */
export function tensorScope(backend: Backend): TensorScope {
  const held: Tensor[] = [];
  const track = (<T extends Tensor>(t: T): T => {
    held.push(t);
    return t;
  }) as TensorScope;
  track.dispose = () => {
    for (const t of held) backend.dispose(t);
    held.length = 0;
  };
  return track;
}
