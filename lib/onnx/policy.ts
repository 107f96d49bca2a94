/**
 * `OnnxPolicy`: runs a model exported by `exportOnnx` in onnxruntime-web (wasm), with
 * the recurrent state passed in and returned as plain arrays, so an evaluator can act without
 * rnnrl's own forward pass.
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import { maskedArgmax, type Policy, sampleSoftmax } from "../rl/policy.ts";
import { decodeOnnxModel, type OnnxValueInfo } from "./onnx_proto.ts";
import { createOrtSession, type OrtSession, type OrtTensorData } from "./runtime.ts";
import { checkOnnxSeal } from "./seal.ts";
import {
  ONNX_METADATA_KEYS,
  ONNX_OBSERVATION,
  ONNX_OUTPUT,
  ONNX_OUTPUT_KINDS,
  type OnnxOutputKind,
  onnxStateName,
  parseOnnxStateName,
} from "./export.ts";

/**
 * The state of a whole exported model: for each recurrent layer in order, its state tensors in
 * the order the layer declares them (an LSTM's `h` then `c`), each `[B, H]` row-major; empty for
 * a feed-forward model.
 */
export type OnnxPolicyState = Float32Array[][];

/** One recurrent layer of an exported model: the names of its state tensors and their width. */
export interface OnnxStateLayer {
  /** The names of the layer's state tensors, in order ("h", "c" for an LSTM). */
  parts: readonly string[];
  /** The width H of each of them. */
  size: number;
}

/** Options of {@linkcode OnnxPolicy.load}. */
export interface OnnxPolicyLoadOptions {
  /**
   * Refuse a model without rnnrl's checksum (default false: models from other exporters load).
   * A flipped byte can hit the checksum's own entry, so a caller that plays only rnnrl's exports
   * should set it.
   */
  requireChecksum?: boolean;
}

/** The result of {@linkcode OnnxPolicy.run}. */
export interface OnnxPolicyRun {
  /** The model's output, row-major. */
  output: Float32Array;
  /** Its shape: `[T, B, O]` for recurrent models, `[B, O]` for feed-forward ones. */
  shape: number[];
  /** The state after the last step (new arrays). */
  state: OnnxPolicyState;
}

/** The result of {@linkcode OnnxPolicy.act}. */
export interface OnnxPolicyAct {
  /**
   * The greedy action of each batch row: the index of its largest policy output (first on ties),
   * or for a Gaussian policy its mean clipped to the action bounds.
   */
  actions: Float32Array;
  /** The output `[B, O]`. */
  output: Float32Array;
  /** The state after the step. */
  state: OnnxPolicyState;
}

/**
 * A policy or value network exported by `exportOnnx`, run by onnxruntime-web's wasm
 * execution provider (one thread). Needs read access to onnxruntime-web's wasm binary in Deno's
 * npm cache.
 *
 * @example
 * ```ts
 * import { createCpuBackend, Dense, Sequential } from "@rnnrl/rnnrl";
 * import { exportOnnx, OnnxPolicy } from "@rnnrl/rnnrl/onnx";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 4,
 *   layers: [new Dense({ units: 16, activation: "relu" }), new Dense({ units: 2 })],
 *   seed: 2,
 * });
 * const policy = await OnnxPolicy.load(await exportOnnx(model));
 * const { actions } = await policy.act(new Float32Array([0.01, 0, 0.03, 0]));
 * if (!(actions[0] === 0 || actions[0] === 1)) throw new Error("an action of two");
 * await policy.release();
 * ```
 */
export class OnnxPolicy {
  /** The size of the observation's last axis. */
  readonly inputSize: number;
  /** The size of the output's last axis. */
  readonly outputSize: number;
  /** Each recurrent layer's state tensors, in order (empty for feed-forward models). */
  readonly stateLayers: readonly OnnxStateLayer[];
  /** The batch size fixed at export, or null when it is symbolic. */
  readonly batch: number | null;
  /** The model's `metadata_props`. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly #session: OrtSession;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    session: OrtSession,
    shape: {
      inputSize: number;
      outputSize: number;
      stateLayers: OnnxStateLayer[];
      batch: number | null;
    },
    metadata: Record<string, string>,
  ) {
    this.#session = session;
    this.inputSize = shape.inputSize;
    this.outputSize = shape.outputSize;
    this.stateLayers = shape.stateLayers;
    this.batch = shape.batch;
    this.metadata = metadata;
  }

  /**
   * Loads exported model bytes into an onnxruntime-web session.
   *
   * @param bytes The contents of a `.onnx` file written by `exportOnnx`.
   * @param options Whether the model must carry rnnrl's checksum.
   * @returns The policy.
   * @throws {TypeError} When the bytes are not an ONNX model with rnnrl's input and output names,
   * their checksum does not match (or is missing, with `requireChecksum`), or onnxruntime-web
   * refuses the model.
   */
  static async load(bytes: Uint8Array, options: OnnxPolicyLoadOptions = {}): Promise<OnnxPolicy> {
    const model = decodeOnnxModel(bytes);
    const inputs = new Map((model.graph?.input ?? []).map((v) => [v.name ?? "", v]));
    const outputs = new Map((model.graph?.output ?? []).map((v) => [v.name ?? "", v]));
    const observation = inputs.get(ONNX_OBSERVATION);
    const output = outputs.get(ONNX_OUTPUT);
    if (!observation || !output) {
      throw new TypeError(
        `Cannot load ONNX policy: expected an input "${ONNX_OBSERVATION}" and an output "${ONNX_OUTPUT}", got inputs [${[
          ...inputs.keys(),
        ]}] and outputs [${[...outputs.keys()]}]`,
      );
    }
    const obsDims = dimsOf(observation);
    const stateLayers = stateLayout(
      [...inputs.keys()].filter((name) => name !== ONNX_OBSERVATION),
      (name) => inputs.get(name),
      (name) => outputs.has(name),
    );
    const expectedRank = stateLayers.length > 0 ? 3 : 2;
    const stateInputs = stateLayers.reduce((n, layer) => n + layer.parts.length, 0);
    if (inputs.size !== 1 + stateInputs || obsDims.length !== expectedRank) {
      throw new TypeError(
        `Cannot load ONNX policy: inputs [${[
          ...inputs.keys(),
        ]}] with observation rank ${obsDims.length} do not follow rnnrl's layout`,
      );
    }
    const batchDim = obsDims[expectedRank - 2];
    const shape = {
      inputSize: fixedDim(observation, expectedRank - 1),
      outputSize: fixedDim(output, dimsOf(output).length - 1),
      stateLayers,
      batch: typeof batchDim === "number" ? batchDim : null,
    };
    const seal = await checkOnnxSeal(bytes, model);
    if (seal === "damaged" || (seal === "unsealed" && options.requireChecksum)) {
      throw new TypeError(
        seal === "damaged"
          ? "Cannot load ONNX policy: its checksum does not match its bytes (the file is damaged, " +
            "or was changed after rnnrl wrote it)"
          : "Cannot load ONNX policy: it carries no checksum (the file is damaged, or was not " +
            "written by rnnrl's exporter)",
      );
    }
    const metadata: Record<string, string> = {};
    for (const entry of model.metadataProps ?? []) metadata[entry.key ?? ""] = entry.value ?? "";
    let session: OrtSession;
    try {
      session = await createOrtSession(bytes);
    } catch (error) {
      const message = (error as Error).message;
      if (message.includes("--allow-read")) throw error; // the runtime itself, not the model
      throw new TypeError(
        `Cannot load ONNX policy: onnxruntime-web refuses it (${
          message.replace(/^Cannot create ONNX session: /, "").split("\n")[0]
        })`,
        { cause: error },
      );
    }
    return new OnnxPolicy(session, shape, metadata);
  }

  /** True when the model has recurrent layers (observations are then `[T, B, I]`). */
  get recurrent(): boolean {
    return this.stateLayers.length > 0;
  }

  /** What the output is, where the exporter recorded it. */
  get outputKind(): OnnxOutputKind | undefined {
    const kind = this.metadata[ONNX_METADATA_KEYS.output] as OnnxOutputKind | undefined;
    return kind && ONNX_OUTPUT_KINDS.includes(kind) ? kind : undefined;
  }

  /** The leading output columns that are the policy's (all, unless a value column follows). */
  get policyOutputs(): number {
    const recorded = Number(this.metadata[ONNX_METADATA_KEYS.policyOutputs]);
    return Number.isSafeInteger(recorded) && recorded >= 1 && recorded <= this.outputSize
      ? recorded
      : this.outputSize;
  }

  /** A Gaussian policy's action bounds (unbounded where the exporter recorded none). */
  get actionBounds(): readonly [number, number] {
    const text = this.metadata[ONNX_METADATA_KEYS.actionBounds];
    const bounds = text === undefined ? null : JSON.parse(text);
    return Array.isArray(bounds) && bounds.length === 2 ? [bounds[0], bounds[1]] : [
      -Infinity,
      Infinity,
    ];
  }

  /** A Gaussian policy's log standard deviation, or null where the exporter recorded none. */
  get logStd(): number | null {
    const text = this.metadata[ONNX_METADATA_KEYS.logStd];
    return text === undefined ? null : Number(text);
  }

  /** The greedy action of one output row (see {@linkcode OnnxPolicyAct.actions}). */
  greedyAction(row: Float32Array, mask?: Uint8Array): number {
    if (this.outputKind === "gaussian-mean") return this.#clip(row[0]);
    return maskedArgmax(row.subarray(0, this.policyOutputs), mask);
  }

  /**
   * An action sampled from one output row: from the softmax of a policy's logits, or from its
   * Gaussian (clipped to the bounds).
   *
   * @throws {TypeError} For a model not exported as a policy.
   */
  sampleAction(row: Float32Array, rng: Rng, mask?: Uint8Array): number {
    const kind = this.outputKind;
    if (kind === "gaussian-mean" && this.logStd !== null) {
      return this.#clip(row[0] + Math.exp(this.logStd) * rng.normal(0, 1));
    }
    if (kind !== "logits") {
      throw new TypeError(
        "Cannot sample from this ONNX model: it was not exported as a policy's logits or Gaussian",
      );
    }
    return sampleSoftmax(row.subarray(0, this.policyOutputs), rng.uniform(), mask);
  }

  #clip(action: number): number {
    const [low, high] = this.actionBounds;
    return Math.min(high, Math.max(low, action));
  }

  /** The rnnrl version that exported the model, from its metadata ("" if absent). */
  get version(): string {
    return this.metadata[ONNX_METADATA_KEYS.version] ?? "";
  }

  /**
   * A zero state for a batch.
   *
   * @param batch The batch size B.
   * @returns `[B, H]` zeros for each state tensor of each recurrent layer.
   */
  initialState(batch: number): OnnxPolicyState {
    if (!(Number.isSafeInteger(batch) && batch >= 1)) {
      throw new RangeError(`Cannot make an ONNX policy state: batch is ${batch}`);
    }
    return this.stateLayers.map((layer) =>
      layer.parts.map(() => new Float32Array(batch * layer.size))
    );
  }

  /**
   * Runs the model once.
   *
   * @param observation The input, row-major.
   * @param shape `[T, B, I]` for recurrent models, `[B, I]` for feed-forward ones.
   * @param state The state to start from (default zeros); not modified.
   * @returns The output, its shape and the final state.
   * @throws {TypeError} (as a rejection) When the shape, the data or the state do not fit the
   * model.
   */
  async run(
    observation: Float32Array,
    shape: readonly number[],
    state?: OnnxPolicyState,
  ): Promise<OnnxPolicyRun> {
    const rank = this.recurrent ? 3 : 2;
    const expected = this.recurrent ? "[T, B, I]" : "[B, I]";
    if (
      shape.length !== rank || shape.some((d) => !(Number.isSafeInteger(d) && d >= 1)) ||
      shape[rank - 1] !== this.inputSize
    ) {
      throw new TypeError(
        `Cannot run ONNX policy: shape must be ${expected} with I = ${this.inputSize}, got [${shape}]`,
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(observation instanceof Float32Array) || observation.length !== size) {
      throw new TypeError(
        `Cannot run ONNX policy: observation has ${observation.length} elements for shape [${shape}]`,
      );
    }
    const batch = shape[rank - 2];
    const start = state ?? this.initialState(batch);
    if (start.length !== this.stateLayers.length) {
      throw new TypeError(
        `Cannot run ONNX policy: state has ${start.length} layers, the model ${this.stateLayers.length}`,
      );
    }
    const feeds: Record<string, OrtTensorData> = {
      [ONNX_OBSERVATION]: { data: observation, dims: [...shape] },
    };
    this.stateLayers.forEach((layer, k) => {
      const h = layer.size;
      layer.parts.forEach((part, p) => {
        const name = onnxStateName(part, k, "in"), data = start[k]?.[p];
        if (!(data instanceof Float32Array) || data.length !== batch * h) {
          throw new TypeError(
            `Cannot run ONNX policy: ${name} has ${data?.length} elements, expected ${batch} × ${h}`,
          );
        }
        feeds[name] = { data, dims: [batch, h] };
      });
    });
    // onnxruntime-web runs one call at a time per session: chain the calls.
    const result = this.#queue.then(() => this.#session.run(feeds));
    this.#queue = result.catch(() => undefined);
    const out = await result;
    return {
      output: Float32Array.from(out[ONNX_OUTPUT].data),
      shape: out[ONNX_OUTPUT].dims,
      state: this.stateLayers.map((layer, k) =>
        layer.parts.map((part) => Float32Array.from(out[onnxStateName(part, k, "out")].data))
      ),
    };
  }

  /**
   * Acts greedily for one step: runs a batch of observations (`[B, I]`, one time step for
   * recurrent models) and takes each row's largest output.
   *
   * @param observation `B × I` values, row-major.
   * @param state The state to start from (default zeros).
   * @returns The actions, the output and the state to pass to the next step.
   */
  async act(observation: Float32Array, state?: OnnxPolicyState): Promise<OnnxPolicyAct> {
    const batch = observation.length / this.inputSize;
    if (!(Number.isSafeInteger(batch) && batch >= 1)) {
      throw new TypeError(
        `Cannot act with ONNX policy: ${observation.length} values are not rows of ${this.inputSize}`,
      );
    }
    const shape = this.recurrent ? [1, batch, this.inputSize] : [batch, this.inputSize];
    const out = await this.run(observation, shape, state);
    const o = this.outputSize;
    const actions = new Float32Array(batch);
    for (let b = 0; b < batch; b++) {
      actions[b] = this.greedyAction(out.output.subarray(b * o, (b + 1) * o));
    }
    return { actions, output: out.output, state: out.state };
  }

  /** Frees the onnxruntime-web session; the policy cannot run afterwards. */
  async release(): Promise<void> {
    await this.#queue;
    await this.#session.release();
  }
}

/**
 * The recurrent layers of an exported model from its state input names (`<part>_in_<k>`, in the
 * graph's order), each part checked to have its output and a fixed width.
 *
 * @throws {TypeError} For a name that is no state's, a missing output or layer, or a free width.
 */
export function stateLayout(
  names: readonly string[],
  info: (name: string) => OnnxValueInfo | undefined,
  hasOutput: (name: string) => boolean,
): OnnxStateLayer[] {
  const layers: { parts: string[]; size: number }[] = [];
  for (const name of names) {
    const parsed = parseOnnxStateName(name);
    if (!parsed || parsed.direction !== "in") {
      throw new TypeError(`Cannot load ONNX policy: input ${name} is not a state input`);
    }
    const out = onnxStateName(parsed.part, parsed.k, "out");
    if (!hasOutput(out)) {
      throw new TypeError(`Cannot load ONNX policy: ${name} is there but ${out} is not`);
    }
    const size = fixedDim(info(name)!, 1);
    if (parsed.k > layers.length) {
      throw new TypeError(`Cannot load ONNX policy: ${name} comes before layer ${layers.length}`);
    }
    const layer = layers[parsed.k] ??= { parts: [], size };
    if (layer.size !== size) {
      throw new TypeError(
        `Cannot load ONNX policy: the state tensors of layer ${parsed.k} differ in width`,
      );
    }
    layer.parts.push(parsed.part);
  }
  return layers;
}

function dimsOf(info: OnnxValueInfo): (number | string)[] {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue ?? d.dimParam ?? "?");
}

function fixedDim(info: OnnxValueInfo, axis: number): number {
  const d = dimsOf(info)[axis];
  if (typeof d !== "number" || d < 1) {
    throw new TypeError(
      `Cannot load ONNX policy: ${info.name} needs a fixed size on axis ${axis}, got ${d}`,
    );
  }
  return d;
}

/**
 * An exported model as a {@linkcode Policy}, so the one evaluator plays it: one step of the
 * session per action, the state carried as plain arrays, the greedy action the largest output
 * among the valid ones. Sampled actions (`deterministic: false`) come from the softmax of the
 * output, for a model exported with `output: "logits"`.
 *
 * @example
 * ```ts
 * import { CartPole, createCpuBackend, Dense, evaluate, Sequential } from "@rnnrl/rnnrl";
 * import { exportOnnx, OnnxPolicy, onnxPolicy } from "@rnnrl/rnnrl/onnx";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 4,
 *   layers: [new Dense({ units: 2 })],
 *   seed: 2,
 * });
 * const session = await OnnxPolicy.load(await exportOnnx(model));
 * const result = await evaluate(new CartPole(), onnxPolicy(session), { episodes: 2, seed: 1 });
 * if (result.episodes !== 2) throw new Error("played");
 * await session.release();
 * ```
 */
export function onnxPolicy(session: OnnxPolicy): Policy<OnnxPolicyState> {
  const fallback = new Rng(0x0cc1);
  return {
    initialState: () => session.initialState(1),
    disposeState: () => {},
    async act(observation, state, options = {}) {
      const step = await session.act(observation, state);
      const action = options.deterministic === false
        ? session.sampleAction(step.output, options.rng ?? fallback, options.mask)
        : session.greedyAction(step.output, options.mask);
      return { action, state: step.state };
    },
  };
}
