/**
 * `OnnxPolicy`: runs a model exported by `exportOnnx` in onnxruntime-web (wasm), with
 * the recurrent state passed in and returned as plain arrays, so an evaluator can act without
 * rnnrl's own forward pass.
 *
 * @module
 */

import { decodeOnnxModel, type OnnxValueInfo } from "./onnx_proto.ts";
import { createOrtSession, type OrtSession, type OrtTensorData } from "./runtime.ts";
import { ONNX_METADATA_KEYS, ONNX_OBSERVATION, ONNX_OUTPUT, onnxStateNames } from "./export.ts";

/** The state of one LSTM layer: `h` and `c`, each `[B, H]` row-major. */
export interface OnnxLayerState {
  /** The hidden state. */
  h: Float32Array;
  /** The cell state. */
  c: Float32Array;
}

/** The state of a whole exported model: one entry per LSTM layer, in order (empty if none). */
export type OnnxPolicyState = OnnxLayerState[];

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
  /** The greedy action of each batch row: the index of its largest output (first on ties). */
  actions: Int32Array;
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
 * import { exportOnnx } from "./export.ts";
 * import { OnnxPolicy } from "./policy.ts";
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
  /** The hidden size of each LSTM layer, in order (empty for feed-forward models). */
  readonly stateSizes: readonly number[];
  /** The batch size fixed at export, or null when it is symbolic. */
  readonly batch: number | null;
  /** The model's `metadata_props`. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly #session: OrtSession;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    session: OrtSession,
    shape: { inputSize: number; outputSize: number; stateSizes: number[]; batch: number | null },
    metadata: Record<string, string>,
  ) {
    this.#session = session;
    this.inputSize = shape.inputSize;
    this.outputSize = shape.outputSize;
    this.stateSizes = shape.stateSizes;
    this.batch = shape.batch;
    this.metadata = metadata;
  }

  /**
   * Loads exported model bytes into an onnxruntime-web session.
   *
   * @param bytes The contents of a `.onnx` file written by `exportOnnx`.
   * @returns The policy.
   * @throws {TypeError} When the bytes are not an ONNX model with rnnrl's input and output names.
   */
  static async load(bytes: Uint8Array): Promise<OnnxPolicy> {
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
    const stateSizes: number[] = [];
    for (let k = 0; inputs.has(onnxStateNames(k).hIn); k++) {
      const names = onnxStateNames(k);
      for (
        const [where, name] of [
          [inputs, names.cIn],
          [outputs, names.hOut],
          [outputs, names.cOut],
        ] as const
      ) {
        if (!where.has(name)) {
          throw new TypeError(`Cannot load ONNX policy: ${names.hIn} is there but ${name} is not`);
        }
      }
      stateSizes.push(fixedDim(inputs.get(names.hIn)!, 1));
    }
    const expectedRank = stateSizes.length > 0 ? 3 : 2;
    if (inputs.size !== 1 + 2 * stateSizes.length || obsDims.length !== expectedRank) {
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
      stateSizes,
      batch: typeof batchDim === "number" ? batchDim : null,
    };
    const metadata: Record<string, string> = {};
    for (const entry of model.metadataProps ?? []) metadata[entry.key ?? ""] = entry.value ?? "";
    const session = await createOrtSession(bytes);
    return new OnnxPolicy(session, shape, metadata);
  }

  /** True when the model has LSTM layers (observations are then `[T, B, I]`). */
  get recurrent(): boolean {
    return this.stateSizes.length > 0;
  }

  /** The rnnrl version that exported the model, from its metadata ("" if absent). */
  get version(): string {
    return this.metadata[ONNX_METADATA_KEYS.version] ?? "";
  }

  /**
   * A zero state for a batch.
   *
   * @param batch The batch size B.
   * @returns One `{ h, c }` of `[B, H]` zeros per LSTM layer.
   */
  initialState(batch: number): OnnxPolicyState {
    if (!(Number.isSafeInteger(batch) && batch >= 1)) {
      throw new RangeError(`Cannot make an ONNX policy state: batch is ${batch}`);
    }
    return this.stateSizes.map((h) => ({
      h: new Float32Array(batch * h),
      c: new Float32Array(batch * h),
    }));
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
    if (start.length !== this.stateSizes.length) {
      throw new TypeError(
        `Cannot run ONNX policy: state has ${start.length} layers, the model ${this.stateSizes.length}`,
      );
    }
    const feeds: Record<string, OrtTensorData> = {
      [ONNX_OBSERVATION]: { data: observation, dims: [...shape] },
    };
    this.stateSizes.forEach((h, k) => {
      const names = onnxStateNames(k);
      for (const [name, data] of [[names.hIn, start[k].h], [names.cIn, start[k].c]] as const) {
        if (!(data instanceof Float32Array) || data.length !== batch * h) {
          throw new TypeError(
            `Cannot run ONNX policy: ${name} has ${data?.length} elements, expected ${batch} × ${h}`,
          );
        }
        feeds[name] = { data, dims: [batch, h] };
      }
    });
    // onnxruntime-web runs one call at a time per session: chain the calls.
    const result = this.#queue.then(() => this.#session.run(feeds));
    this.#queue = result.catch(() => undefined);
    const out = await result;
    return {
      output: Float32Array.from(out[ONNX_OUTPUT].data),
      shape: out[ONNX_OUTPUT].dims,
      state: this.stateSizes.map((_, k) => {
        const names = onnxStateNames(k);
        return {
          h: Float32Array.from(out[names.hOut].data),
          c: Float32Array.from(out[names.cOut].data),
        };
      }),
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
    const actions = new Int32Array(batch);
    for (let b = 0; b < batch; b++) {
      let best = 0;
      for (let a = 1; a < o; a++) if (out.output[b * o + a] > out.output[b * o + best]) best = a;
      actions[b] = best;
    }
    return { actions, output: out.output, state: out.state };
  }

  /** Frees the onnxruntime-web session; the policy cannot run afterwards. */
  async release(): Promise<void> {
    await this.#queue;
    await this.#session.release();
  }
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
