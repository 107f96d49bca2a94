/**
 * The layer API: Dense, LSTM, GRU, Embedding, Cellwise, Conv2D, MaxPool2D, Sequential, initialisers, optimizers and clipping.
 *
 * @module
 */

export { type NamedArray, Parameter, type Trainable } from "./parameter.ts";
export { glorotUniform, orthogonal } from "./init.ts";
export {
  type ForwardOptions,
  type ImageShape,
  type Layer,
  type LayerBackward,
  type LayerConfig,
  type LayerForward,
  type LayerState,
} from "./layer.ts";
export { Dense, type DenseOptions } from "./dense.ts";
export { Embedding, type EmbeddingOptions } from "./embedding.ts";
export { LSTM, type LstmOptions } from "./lstm.ts";
export { GRU, type GruOptions } from "./gru.ts";
export { Cellwise, type CellwiseOptions } from "./cellwise.ts";
export {
  Conv2D,
  type Conv2DOptions,
  type ConvPadding,
  type ImageLayout,
  MaxPool2D,
  type MaxPool2DOptions,
} from "./conv2d.ts";
export {
  type RecurrentState,
  Sequential,
  type SequentialConfig,
  type SequentialForward,
  type SequentialForwardOptions,
  type SequentialOptions,
} from "./sequential.ts";
export {
  Adam,
  type AdamOptions,
  clipGradients,
  type Optimizer,
  type OptimizerState,
  RMSprop,
  type RmspropOptions,
  SGD,
  type SgdOptions,
  SlottedOptimizer,
} from "./optimizers.ts";
