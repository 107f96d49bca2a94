/**
 * The layer API: Dense, Embedding, LSTM, GRU, Cellwise, Sequential, initialisers, optimizers and clipping.
 *
 * @module
 */

export * from "./parameter.ts";
export * from "./init.ts";
export * from "./layer.ts";
export * from "./dense.ts";
export * from "./embedding.ts";
export * from "./lstm.ts";
export * from "./gru.ts";
export * from "./cellwise.ts";
export * from "./sequential.ts";
export * from "./optimizers.ts";
