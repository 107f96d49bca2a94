/**
 * The contract between {@linkcode Sequential} and its layers.
 *
 * A layer maps `[..., inputSize]` to `[..., outputSize]`. Recurrent layers take time-major
 * sequences `[T, B, inputSize]` and carry a state (a list of `[B, units]` tensors) in and out.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import type { Parameter } from "./parameter.ts";

/** A layer's recurrent state: its tensors, e.g. `[h, c]` for an LSTM, `[h]` for a GRU. */
export type LayerState = Tensor[];

/** Options of one forward pass. */
export interface ForwardOptions {
  /** Keep what backward needs (true while training). */
  training: boolean;
  /** `[T, B]`: 0 resets the carried state before step t (an episode started there). */
  mask?: Tensor;
}

/** The result of one layer's forward pass. */
export interface LayerForward {
  /** The output, `[..., outputSize]`. */
  output: Tensor;
  /** The final state of a recurrent layer (owned by the caller), else undefined. */
  state?: LayerState;
}

/** The result of one layer's backward pass. */
export interface LayerBackward {
  /** The gradient with respect to the layer's input. */
  dInput: Tensor;
  /** The gradient with respect to the initial state of a recurrent layer. */
  dState?: LayerState;
}

/** The serialisable description of a layer, enough to rebuild it. */
export type LayerConfig =
  | { type: "dense"; units: number; activation: string }
  | { type: "lstm"; units: number }
  | { type: "gru"; units: number; linearBeforeReset: boolean }
  | { type: "embedding"; vocabulary: number; size: number; ids: number }
  | {
    type: "conv2d";
    filters: number;
    kernelSize: number;
    padding: "same" | "valid";
    activation: string;
    height: number;
    width: number;
    inputLayout: "channels-last" | "channels-first";
  }
  | { type: "maxpool2d"; size: number; height: number; width: number }
  | {
    type: "cellwise";
    height: number;
    width: number;
    radius: number;
    hidden: number[];
    activation: string;
  };

/** The size of an image a convolution or pooling gives, channels-last (`[H, W, C]` flat). */
export interface ImageShape {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** Channels per pixel. */
  channels: number;
}

/** One layer of a {@linkcode Sequential} model. */
export interface Layer {
  /** True when the layer carries a state across time steps. */
  readonly recurrent: boolean;
  /**
   * The names of the state's tensors, in order (LSTM: `["h", "c"]`, GRU: `["h"]`); empty for a
   * stateless layer.
   * Nothing outside a layer and its ONNX export assumes how many there are.
   */
  readonly stateNames: readonly string[];
  /** The width of each state tensor, `[B, width]`, in the order of `stateNames`. */
  readonly stateSizes: readonly number[];
  /** The layer's output size; valid after {@linkcode Layer.build}. */
  readonly units: number;
  /** The trainable parameters; empty before {@linkcode Layer.build}. */
  readonly parameters: readonly Parameter[];
  /** The serialisable description. */
  readonly config: LayerConfig;
  /**
   * The image the layer gives, for a convolution or pooling after it (convolution and pooling
   * layers; undefined for the others).
   */
  readonly outputImage?: ImageShape;
  /**
   * Creates the parameters for a given input size, drawing initial values from `rng`. `image` is
   * the previous layer's {@linkcode Layer.outputImage}, if it gives one.
   */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string, image?: ImageShape): void;
  /** A zero initial state for a batch, or undefined for a stateless layer. */
  initialState(batch: number): LayerState | undefined;
  /** Runs the layer. Input and state are borrowed; the output and final state belong to the caller. */
  forward(input: Tensor, state: LayerState | undefined, options: ForwardOptions): LayerForward;
  /**
   * Back-propagates the last training forward pass, storing parameter gradients on the
   * parameters. `dState` is the gradient with respect to the final state, if any.
   */
  backward(dOutput: Tensor, dState?: LayerState): LayerBackward;
  /** Releases what the last training forward kept. */
  clearCache(): void;
}
