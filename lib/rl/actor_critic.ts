/**
 * The actor-critic networks of the on-policy agents. Two shapes:
 *
 * - separate (the default): the actor (an optional frozen normalisation layer → the recurrent
 *   cell, or none → Dense ReLU layers → the policy head's outputs) and the critic (its own copy of
 *   that trunk → one value), each with its own optimizer and gradient clipping;
 * - shared (`sharedNetwork`): one trunk whose last layer gives the policy outputs and the value
 *   side by side, trained with one optimizer on the sum of the losses.
 *
 * With `embedding`, each network starts with an {@linkcode Embedding} of the observation's leading
 * ids (the rest of the observation passes through beside their vectors). With
 * `normalizeObservations`, the networks start with a linear layer that the optimizer never
 * moves and every update sets to `(x − mean) / std` of the observations seen so far (the running
 * statistics, {@linkcode RunningMoments}, are part of the checkpoint), so the exported policy takes
 * raw observations. What the policy outputs mean — logits, or a Gaussian's mean — is the
 * {@linkcode PolicyHead}'s business.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { EnvSpec } from "../envs/env.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import { Dense } from "../nn/dense.ts";
import { Embedding } from "../nn/embedding.ts";
import type { Layer } from "../nn/layer.ts";
import { GRU } from "../nn/gru.ts";
import { LSTM } from "../nn/lstm.ts";
import type { Trainable } from "../nn/parameter.ts";
import { type RecurrentState, Sequential } from "../nn/sequential.ts";
import { CategoricalHead, GaussianHead, type PolicyHead } from "./policy_heads.ts";

/** The recurrent cell of a network's trunk: an LSTM, a GRU, or none (a feed-forward network). */
export type PolicyCell = "lstm" | "gru" | "none";

/** The cells {@linkcode PolicyCell} allows, for validation and help text. */
export const POLICY_CELLS: readonly PolicyCell[] = ["lstm", "gru", "none"];

/** The layer of a recurrent cell (none for "none"). */
export function cellLayers(cell: PolicyCell, units: number): Layer[] {
  if (cell === "lstm") return [new LSTM({ units })];
  if (cell === "gru") return [new GRU({ units })];
  return [];
}

/**
 * An {@linkcode Embedding} first in a network: the first `ids` observation entries are ids (whole
 * numbers in `0..vocabulary−1`, such as the recommender's item history), each looked up as a
 * learned vector of `size`; the entries after them pass through beside the vectors.
 */
export interface EmbeddingShape {
  /** The number of ids. */
  vocabulary: number;
  /** The size of each id's vector. */
  size: number;
  /** How many leading observation entries are ids. */
  ids: number;
}

/**
 * Checks an `embedding` option (null for none, or an {@linkcode EmbeddingShape} of positive
 * integers) and returns a copy.
 *
 * @throws {RangeError} For a field that is not a positive integer.
 */
export function checkEmbeddingShape(
  value: EmbeddingShape | null | undefined,
): EmbeddingShape | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError("Cannot use embedding: expected { vocabulary, size, ids } or null");
  }
  for (const key of ["vocabulary", "size", "ids"] as const) {
    if (!(Number.isSafeInteger(value[key]) && value[key] >= 1)) {
      throw new RangeError(
        `Cannot use embedding.${key} ${value[key]}: expected a positive integer`,
      );
    }
  }
  for (const key of Object.keys(value)) {
    if (!["vocabulary", "size", "ids"].includes(key)) {
      throw new TypeError(`Cannot use embedding.${key}: its fields are vocabulary, size and ids`);
    }
  }
  return { vocabulary: value.vocabulary, size: value.size, ids: value.ids };
}

/** The embedding layer of a network (none for null). */
export function embeddingLayers(shape: EmbeddingShape | null): Layer[] {
  return shape ? [new Embedding(shape)] : [];
}

/** The shape of the actor and critic networks. */
export interface ActorCriticShape {
  /**
   * An Embedding before everything else, over the observation's leading ids (null: none). Not
   * with `normalizeObservations`: ids are not features to standardise.
   */
  embedding?: EmbeddingShape | null;
  /** The recurrent cell of each network ("none" for a feed-forward policy). */
  cell: PolicyCell;
  /** The hidden size of the recurrent cell. */
  cellUnits: number;
  /** Sizes of the Dense ReLU layers between the cell and the output layer. */
  hiddenSizes: number[];
  /** Standardise observations with their running mean and standard deviation (a frozen layer). */
  normalizeObservations: boolean;
  /** One trunk for the policy and the value (true), or an actor and a critic apart (false). */
  sharedNetwork: boolean;
  /** The Gaussian policy's initial log standard deviation (continuous actions). */
  logStdInit: number;
}

/** The state each network carries: the actor's and the critic's, or the shared network's. */
export type ActorCriticState = RecurrentState[];

/**
 * The loss of a replay, in its two parts: each gets its outputs and returns their gradient (the
 * caller owns it) or null for no gradient.
 */
export interface ReplayLoss {
  /** `[R, P]` policy outputs → d(loss)/d(outputs). */
  policy(outputs: Tensor): Tensor | null;
  /** `[R]` values → d(loss)/d(values). */
  value(values: Tensor): Tensor | null;
}

/** The actor and the critic (or the one shared network), built for an environment's sizes. */
export class ActorCritic {
  /** The action distribution. */
  readonly head: PolicyHead;
  /** The policy network (with a shared trunk: the network giving policy outputs and value). */
  readonly actor: Sequential;
  /** The value network, or null with a shared trunk. */
  readonly critic: Sequential | null;
  /** The running observation statistics, when observations are normalised. */
  readonly observationStats: RunningMoments | null;
  readonly #backend: Backend;
  // With a shared trunk: the columns of the joint output that are the policy's and the value's.
  readonly #policyColumns: Tensor | null = null;
  readonly #valueColumn: Tensor | null = null;

  /** Builds the networks, the actor from `seeds.actor` and the critic from `seeds.critic`. */
  constructor(
    backend: Backend,
    spec: EnvSpec,
    shape: ActorCriticShape,
    seeds: { actor: number; critic: number },
  ) {
    this.#backend = backend;
    this.head = spec.actionBounds
      ? new GaussianHead(backend, spec.actionBounds, shape.logStdInit)
      : new CategoricalHead(backend, spec.actionCount);
    const I = spec.observationSize, P = this.head.outputSize;
    const build = (outputs: number, seed: number) =>
      new Sequential(backend, {
        inputSize: I,
        layers: [
          ...embeddingLayers(shape.embedding ?? null),
          ...(shape.normalizeObservations ? [new Dense({ units: I })] : []),
          ...cellLayers(shape.cell, shape.cellUnits),
          ...shape.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
          new Dense({ units: outputs }),
        ],
        seed,
      });
    if (shape.sharedNetwork) {
      this.actor = build(P + 1, seeds.actor);
      this.critic = null;
      // Splitting the joint output is a matmul with 0/1 columns, so it runs on any backend.
      const policy = new Float32Array((P + 1) * P), value = new Float32Array(P + 1);
      for (let p = 0; p < P; p++) policy[p * P + p] = 1;
      value[P] = 1;
      this.#policyColumns = backend.tensor(policy, [P + 1, P]);
      this.#valueColumn = backend.tensor(value, [P + 1, 1]);
    } else {
      this.actor = build(P, seeds.actor);
      this.critic = build(1, seeds.critic);
    }
    this.observationStats = shape.normalizeObservations ? new RunningMoments(I) : null;
    this.writeNormalization();
  }

  /** The networks, each with its own optimizer: the actor with the head's own parameters. */
  get trainables(): Trainable[] {
    const actor: Trainable = {
      backend: this.#backend,
      parameters: [...this.actor.parameters, ...this.head.parameters],
    };
    return this.critic ? [actor, this.critic] : [actor];
  }

  /** The networks' models, in the order of {@linkcode ActorCritic.trainables}. */
  get models(): Sequential[] {
    return this.critic ? [this.actor, this.critic] : [this.actor];
  }

  /** Zero states for `batch` rows, one per network. */
  initialState(batch: number): ActorCriticState {
    return this.models.map((m) => m.initialState(batch));
  }

  /** Reads each network's state as flat rows. */
  readState(state: ActorCriticState): Promise<Float32Array[]> {
    return Promise.all(this.models.map((m, i) => m.readState(state[i])));
  }

  /** Builds each network's state from flat rows. */
  stateFromRows(rows: Float32Array[], batch: number): ActorCriticState {
    return this.models.map((m, i) => m.stateFromRows(rows[i], batch));
  }

  /** Releases a state. */
  disposeState(state: ActorCriticState): void {
    this.models.forEach((m, i) => m.disposeState(state[i]));
  }

  /**
   * One step of every network over `x` (`[1, N, I]`) from `state` (consumed), reset where `mask`
   * is 0: the policy outputs `[N, P]` and the values `[N]` read back, and the next state.
   */
  async step(
    x: Tensor,
    state: ActorCriticState,
    mask?: Tensor,
  ): Promise<{ outputs: Float32Array; values: Float32Array; state: ActorCriticState }> {
    const backend = this.#backend;
    const actor = this.actor.forward(x, { state: state[0], mask });
    this.actor.disposeState(state[0]);
    if (!this.critic) {
      const joint = await backend.read(actor.output);
      backend.dispose(actor.output);
      const { policy, value } = this.#split(joint);
      return { outputs: policy, values: value, state: [actor.state] };
    }
    const critic = this.critic.forward(x, { state: state[1], mask });
    this.critic.disposeState(state[1]);
    const outputs = await backend.read(actor.output);
    const values = await backend.read(critic.output);
    backend.dispose(actor.output);
    backend.dispose(critic.output);
    return { outputs, values, state: [actor.state, critic.state] };
  }

  /** The values `[N]` of `x` (`[1, N, I]`) one step on from `state` (borrowed, not advanced). */
  async values(x: Tensor, state: ActorCriticState, mask?: Tensor): Promise<Float32Array> {
    const model = this.critic ?? this.actor, backend = this.#backend;
    const { output, state: next } = model.forward(x, { state: state[this.critic ? 1 : 0], mask });
    const read = await backend.read(output);
    backend.dispose(output);
    model.disposeState(next);
    return this.critic ? read : this.#split(read).value;
  }

  /** The policy outputs `[N, P]` of one step of the actor (for acting), and its next state. */
  async act(
    x: Tensor,
    state: RecurrentState | undefined,
  ): Promise<{ outputs: Float32Array; state: RecurrentState }> {
    const { output, state: next } = this.actor.forward(x, { state });
    const read = await this.#backend.read(output);
    this.#backend.dispose(output);
    return { outputs: this.critic ? read : this.#split(read).policy, state: next };
  }

  /**
   * Replays a `[T, n, I]` sequence through the networks with gradients, from the states in
   * `start` (flat rows, one array per network, or each network's state as tensors, borrowed),
   * reset where `mask` is 0: the loss gets the policy
   * outputs `[T·n, P]` and the values `[T·n]` and returns their gradients, which are
   * back-propagated through every step; each parameter's gradient is left on it.
   */
  replay(
    x: Tensor,
    mask: Tensor,
    start: Float32Array[] | ActorCriticState,
    loss: ReplayLoss,
  ): void {
    const backend = this.#backend, n = x.shape[1], rows = x.shape[0] * n;
    const P = this.head.outputSize;
    const run = (
      model: Sequential,
      from: Float32Array | RecurrentState,
      gradient: (out: Tensor) => Tensor,
    ) => {
      // Rows read back are built into a state here; a state of tensors stays the caller's.
      const state = from instanceof Float32Array ? model.stateFromRows(from, n) : from;
      const result = model.forward(x, { state, mask, training: true });
      const dOutput = gradient(result.output);
      const { dInput, dState } = model.backward(dOutput);
      model.clearCache();
      backend.dispose(dInput);
      for (const s of [dState, result.state]) model.disposeState(s);
      if (state !== from) model.disposeState(state);
      backend.dispose(dOutput);
      backend.dispose(result.output);
    };
    /** A gradient of `rows × width` (zeros for none) in the shape of `output`. */
    const shapedLike = (d: Tensor | null, output: Tensor, width: number) => {
      const flat = d ?? backend.zeros([rows, width]);
      const shaped = backend.reshape(flat, output.shape);
      backend.dispose(flat);
      return shaped;
    };
    if (this.critic) {
      // The actor, then the critic, each from its own start state.
      run(this.actor, start[0], (output) => {
        const outputs = backend.reshape(output, [rows, P]);
        const d = loss.policy(outputs);
        backend.dispose(outputs);
        return shapedLike(d, output, P);
      });
      run(this.critic, start[1], (output) => {
        const values = backend.reshape(output, [rows]);
        const d = loss.value(values);
        backend.dispose(values);
        return shapedLike(d, output, 1);
      });
      return;
    }
    run(this.actor, start[0], (output) => {
      const joint = backend.reshape(output, [rows, P + 1]);
      const policy = backend.matmul(joint, this.#policyColumns!);
      const valueColumn = backend.matmul(joint, this.#valueColumn!);
      const values = backend.reshape(valueColumn, [rows]);
      const dPolicy = loss.policy(policy), dValue = loss.value(values);
      // d(joint) = dPolicy·Sᵀ + dValue·vᵀ.
      const dJoint = dPolicy
        ? backend.matmul(dPolicy, this.#policyColumns!, { transposeB: true })
        : backend.zeros([rows, P + 1]);
      if (dValue) {
        const column = backend.reshape(dValue, [rows, 1]);
        const fromValue = backend.matmul(column, this.#valueColumn!, { transposeB: true });
        backend.axpyInPlace(dJoint, fromValue, 1);
        backend.dispose(fromValue);
        backend.dispose(column);
      }
      for (const t of [joint, policy, valueColumn, values, dPolicy, dValue]) {
        if (t) backend.dispose(t);
      }
      return shapedLike(dJoint, output, P + 1);
    });
  }

  /** Sets the normalization layers to `(x − mean) / std` of the observations seen so far. */
  writeNormalization(): void {
    const stats = this.observationStats;
    if (!stats) return;
    const I = this.actor.inputSize;
    const { scale, shift } = stats.affine();
    const w = new Float32Array(I * I), b = new Float32Array(I);
    for (let i = 0; i < I; i++) {
      w[i * I + i] = scale[i];
      b[i] = shift[i];
    }
    for (const model of this.models) {
      const [weight, bias] = model.layers[0].parameters;
      this.#backend.write(weight.value, w);
      this.#backend.write(bias.value, b);
    }
  }

  /** Drops the gradients of the normalization layers, so the optimizers leave them alone. */
  freezeNormalization(): void {
    if (!this.observationStats) return;
    for (const model of this.models) {
      for (const p of model.layers[0].parameters) {
        if (p.grad) this.#backend.dispose(p.grad);
        p.grad = null;
      }
    }
  }

  /** Adds observations `[rows, I]` to the running statistics and refreshes the layers. */
  observe(observations: Float32Array): void {
    if (!this.observationStats) return;
    this.observationStats.add(observations);
    this.writeNormalization();
  }

  /** The policy columns and the value column of host joint outputs `[N, P + 1]`. */
  #split(joint: Float32Array): { policy: Float32Array; value: Float32Array } {
    const P = this.head.outputSize, N = joint.length / (P + 1);
    const policy = new Float32Array(N * P), value = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      policy.set(joint.subarray(i * (P + 1), i * (P + 1) + P), i * P);
      value[i] = joint[i * (P + 1) + P];
    }
    return { policy, value };
  }
}

/**
 * Running mean and variance per feature (Chan et al.'s parallel update), in float64.
 *
 * @example
 * ```ts
 * import { RunningMoments } from "@rnnrl/rnnrl";
 * const stats = new RunningMoments(1);
 * stats.add(Float32Array.of(1, 3));
 * const { scale, shift } = stats.affine();
 * if (Math.abs(3 * scale[0] + shift[0] - 1) > 1e-6) throw new Error("(3 − 2) / 1 = 1");
 * ```
 */
export class RunningMoments {
  #count = 0;
  #mean: number[];
  #m2: number[];

  /** Statistics of `size` features, before any data. */
  constructor(size: number) {
    this.#mean = new Array(size).fill(0);
    this.#m2 = new Array(size).fill(0);
  }

  /** Adds rows of `[rows, size]` values. */
  add(rows: Float32Array): void {
    const size = this.#mean.length, n = rows.length / size;
    if (n === 0) return;
    for (let j = 0; j < size; j++) {
      let mean = 0, m2 = 0;
      for (let r = 0; r < n; r++) mean += rows[r * size + j];
      mean /= n;
      for (let r = 0; r < n; r++) m2 += (rows[r * size + j] - mean) ** 2;
      const total = this.#count + n, delta = mean - this.#mean[j];
      this.#mean[j] += delta * n / total;
      this.#m2[j] += m2 + delta * delta * this.#count * n / total;
    }
    this.#count += n;
  }

  /** `scale` and `shift` with `x · scale + shift = (x − mean) / std` (identity before any data). */
  affine(): { scale: number[]; shift: number[] } {
    if (this.#count === 0) {
      return { scale: this.#mean.map(() => 1), shift: this.#mean.map(() => 0) };
    }
    const scale = this.#m2.map((m2) => 1 / Math.sqrt(m2 / this.#count + 1e-8));
    return { scale, shift: this.#mean.map((m, j) => -m * scale[j]) };
  }

  /** The statistics as JSON (for checkpoints). */
  toJson(): JsonObject {
    return { count: this.#count, mean: [...this.#mean], m2: [...this.#m2] };
  }

  /** Restores statistics saved by {@linkcode RunningMoments.toJson}. */
  fromJson(json: JsonValue | undefined): void {
    const j = json as { count?: unknown; mean?: unknown; m2?: unknown } | null;
    const size = this.#mean.length;
    const ok = (a: unknown) =>
      Array.isArray(a) && a.length === size && a.every((v) => typeof v === "number");
    if (!j || !Number.isInteger(j.count) || !ok(j.mean) || !ok(j.m2)) {
      throw new TypeError("Cannot restore the observation statistics: they are malformed");
    }
    this.#count = j.count as number;
    this.#mean = [...j.mean as number[]];
    this.#m2 = [...j.m2 as number[]];
  }
}
