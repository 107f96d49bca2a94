/**
 * Runs ONNX models in onnxruntime-web's WebAssembly execution provider, inside Deno, offline.
 *
 * Deno resolves `onnxruntime-web` with the `node` condition, so it loads the package's Node build,
 * which finds its `.mjs` glue and `.wasm` binary next to itself (through `import.meta.url`) in
 * Deno's npm cache and reads the binary from disk. Nothing is fetched from the network. The only
 * permission it needs is read access to that binary: `--allow-read`, or narrowly
 * `--allow-read=<npm cache>` (the `npmCache` path that `deno info --json` prints). It runs
 * single-threaded (`env.wasm.numThreads = 1`, no proxy worker), so it needs no workers and no
 * SharedArrayBuffer.
 *
 * The runtime is configured once, before the first session; sessions must be awaited one run at a
 * time.
 *
 * @module
 */

import { ort } from "./_ort.ts";

/** A float32 tensor crossing into or out of onnxruntime-web. */
export interface OrtTensorData {
  /** The elements, row-major. */
  data: Float32Array;
  /** The shape. */
  dims: number[];
}

/** Options of {@linkcode createOrtSession}. */
export interface OrtSessionOptions {
  /** ORT's graph optimisation level (default "all"). */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

let configured = false;

/** Sets onnxruntime-web's global options once: wasm only, one thread, no worker, errors only. */
function configureOrt(): void {
  if (configured) return;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  configured = true;
}

/**
 * An onnxruntime-web inference session on the wasm execution provider.
 *
 * @example
 * ```ts
 * import { OnnxGraphBuilder } from "./graph.ts";
 * import { createOrtSession } from "./runtime.ts";
 * const g = new OnnxGraphBuilder();
 * g.addOutput(g.tanh(g.addInput("x", ["batch", 2]), { output: "y" }), ["batch", 2]);
 * const session = await createOrtSession(g.encodeModel());
 * if (session.outputNames[0] !== "y") throw new Error("one output, y");
 * await session.release();
 * ```
 */
export class OrtSession {
  readonly #session: ort.InferenceSession;
  #released = false;

  /** Wraps a session; use {@linkcode createOrtSession} to make one. */
  constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** The model's input names, in graph order. */
  get inputNames(): readonly string[] {
    return this.#session.inputNames;
  }

  /** The model's output names, in graph order. */
  get outputNames(): readonly string[] {
    return this.#session.outputNames;
  }

  /**
   * Runs the model once.
   *
   * @param feeds One float32 tensor per model input, by name.
   * @returns Every model output, by name, as float32 data and dims.
   * @throws {TypeError} When an input is missing or unknown, a shape does not match its data, or
   * an output is not float32.
   */
  async run(feeds: Record<string, OrtTensorData>): Promise<Record<string, OrtTensorData>> {
    if (this.#released) throw new TypeError("Cannot run ONNX session: it was released");
    const inputs: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const feed = feeds[name];
      if (feed === undefined) throw new TypeError(`Cannot run ONNX session: input ${name} missing`);
      const size = feed.dims.reduce((a, b) => a * b, 1);
      if (!(feed.data instanceof Float32Array) || feed.data.length !== size) {
        throw new TypeError(
          `Cannot run ONNX session: input ${name} has ${feed.data.length} elements for shape [${feed.dims}]`,
        );
      }
      inputs[name] = new ort.Tensor("float32", feed.data, [...feed.dims]);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) {
        throw new TypeError(
          `Cannot run ONNX session: ${name} is not an input (inputs: ${this.inputNames})`,
        );
      }
    }
    const results = await this.#session.run(inputs);
    const out: Record<string, OrtTensorData> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (tensor.type !== "float32") {
        throw new TypeError(`Cannot read ONNX output ${name}: its type is ${tensor.type}`);
      }
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims.map(Number) };
    }
    return out;
  }

  /** Frees the session's wasm memory; the session cannot run afterwards. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#session.release();
  }
}

/**
 * Creates an onnxruntime-web session (wasm execution provider, one thread) from model bytes.
 *
 * @param model The bytes of an ONNX model.
 * @returns The session.
 * @throws {Error} When the runtime cannot load (typically: no read permission for its wasm
 * binary) or the model is invalid; the message carries ORT's explanation.
 *
 * @example
 * ```ts
 * import { OnnxGraphBuilder } from "./graph.ts";
 * import { createOrtSession, runOrt } from "./runtime.ts";
 * const g = new OnnxGraphBuilder();
 * g.addOutput(g.relu(g.addInput("x", ["batch", 3]), { output: "y" }), ["batch", 3]);
 * const session = await createOrtSession(g.encodeModel());
 * const out = await runOrt(session, { x: { data: new Float32Array([-1, 0, 2]), dims: [1, 3] } });
 * if (out.y.data.join() !== "0,0,2") throw new Error("relu");
 * await session.release();
 * ```
 */
export async function createOrtSession(
  model: Uint8Array,
  options: OrtSessionOptions = {},
): Promise<OrtSession> {
  configureOrt();
  try {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
      // A model onnxruntime-web refuses is reported by the rejection, in one line; its own log
      // (warnings about odd but loadable models, the error again) would add lines to a CLI's stderr.
      logSeverityLevel: 4,
    });
    return new OrtSession(session);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const hint = /read access|NotCapable|PermissionDenied/.test(detail)
      ? " (onnxruntime-web reads its wasm binary from Deno's npm cache: run with --allow-read)"
      : "";
    throw new Error(`Cannot create ONNX session: ${detail}${hint}`, { cause: error });
  }
}

/**
 * Runs a session once; the same as {@linkcode OrtSession.run}.
 *
 * @param session A session from {@linkcode createOrtSession}.
 * @param feeds One float32 tensor per model input, by name.
 * @returns Every model output, by name.
 *
 * @example
 * ```ts
 * import { OnnxGraphBuilder } from "./graph.ts";
 * import { createOrtSession, runOrt } from "./runtime.ts";
 * const g = new OnnxGraphBuilder();
 * g.addOutput(g.sigmoid(g.addInput("x", [1]), { output: "y" }), [1]);
 * const session = await createOrtSession(g.encodeModel());
 * const out = await runOrt(session, { x: { data: new Float32Array([0]), dims: [1] } });
 * if (out.y.data[0] !== 0.5) throw new Error("sigmoid(0) = 0.5");
 * await session.release();
 * ```
 */
export function runOrt(
  session: OrtSession,
  feeds: Record<string, OrtTensorData>,
): Promise<Record<string, OrtTensorData>> {
  return session.run(feeds);
}
