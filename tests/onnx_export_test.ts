// exportOnnx and OnnxPolicy: exported models run in onnxruntime-web (wasm) give rnnrl's native
// forward pass, outputs and states, to 1e-5.
import assert from "node:assert/strict";
import { maxAbsDiff } from "./helpers/mod.ts";
import type { Activation } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import type { Layer, LayerConfig } from "../lib/nn/layer.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Adam } from "../lib/nn/optimizers.ts";
import { type RecurrentState, Sequential } from "../lib/nn/sequential.ts";
import { exportOnnx, ONNX_METADATA_KEYS } from "../lib/onnx/export.ts";
import { decodeOnnxModel } from "../lib/onnx/onnx_proto.ts";
import { OnnxPolicy, type OnnxPolicyState, type OnnxStateLayer } from "../lib/onnx/policy.ts";
import { WEB_PLAYER_RUNTIME_FILES, writeWebPlayer } from "../lib/onnx/web_player.ts";
import { findChromium } from "./helpers/chromium.ts";

const backend = createCpuBackend();
const TOLERANCE = 1e-5;

function randomArray(rng: Rng, size: number, std = 1): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal(0, std));
}

/** Replaces every parameter (biases included) with N(0, std) values. */
async function randomize(model: Sequential, rng: Rng, std: number): Promise<void> {
  const params = await model.getParameters();
  for (const p of params) p.data.set(randomArray(rng, p.data.length, std));
  model.setParameters(params);
}

function assertClose(what: string, actual: Float32Array, expected: Float32Array): number {
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= TOLERANCE, `${what}: max abs difference ${diff}`);
  return diff;
}

/** Runs rnnrl's forward pass; returns the output and the LSTM states as plain arrays. */
async function native(
  model: Sequential,
  x: Float32Array,
  shape: number[],
  state?: OnnxPolicyState,
): Promise<{ output: Float32Array; state: OnnxPolicyState }> {
  const batch = shape[shape.length - 2];
  let k = 0;
  const start: RecurrentState | undefined = state && model.layers.map((layer) => {
    if (!layer.recurrent) return undefined;
    const parts = state[k++];
    return layer.stateSizes.map((width, p) => backend.tensor(parts[p], [batch, width]));
  });
  const result = model.forward(backend.tensor(x, shape), { state: start });
  const out: OnnxPolicyState = [];
  for (const s of result.state) {
    if (s) out.push(await Promise.all(s.map((t) => backend.read(t))));
  }
  const output = await backend.read(result.output);
  model.disposeState(result.state);
  if (start) model.disposeState(start);
  backend.dispose(result.output);
  return { output, state: out };
}

function assertStatesClose(what: string, actual: OnnxPolicyState, expected: OnnxPolicyState) {
  assert.equal(actual.length, expected.length);
  let worst = 0;
  actual.forEach((parts, k) => {
    assert.equal(parts.length, expected[k].length);
    parts.forEach((part, p) => {
      worst = Math.max(worst, assertClose(`${what} layer ${k} part ${p}`, part, expected[k][p]));
    });
  });
  return worst;
}

function randomState(
  rng: Rng,
  layers: readonly OnnxStateLayer[],
  batch: number,
): OnnxPolicyState {
  return layers.map((l) => l.parts.map(() => randomArray(rng, batch * l.size)));
}

/**
 * Compares whole sequences at several batch sizes (one symbolic-batch export), then 50 single
 * steps with each side feeding its own state back.
 */
async function checkRecurrent(model: Sequential, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const policy = await OnnxPolicy.load(await exportOnnx(model));
  try {
    assert.equal(policy.batch, null);
    const sizes = policy.stateLayers;
    assert.deepEqual(sizes.map((l) => l.parts), sizes.map(() => ["h", "c"]), "an LSTM's h and c");
    for (const [steps, batch] of [[7, 1], [5, 3], [3, 16]]) {
      const shape = [steps, batch, model.inputSize];
      const x = randomArray(rng, steps * batch * model.inputSize);
      const state = randomState(rng, sizes, batch);
      const ours = await native(model, x, shape, state);
      const theirs = await policy.run(x, shape, state);
      assert.deepEqual(theirs.shape, [steps, batch, model.outputSize]);
      assertClose(`output T=${steps} B=${batch}`, theirs.output, ours.output);
      assertStatesClose(`state T=${steps} B=${batch}`, theirs.state, ours.state);
    }
    const batch = 4;
    let oursState = policy.initialState(batch);
    let theirsState = policy.initialState(batch);
    let moved = 0;
    for (let t = 0; t < 50; t++) {
      const x = randomArray(rng, batch * model.inputSize);
      const shape = [1, batch, model.inputSize];
      const ours = await native(model, x, shape, oursState);
      const theirs = await policy.run(x, shape, theirsState);
      assertClose(`output at step ${t}`, theirs.output, ours.output);
      assertStatesClose(`state at step ${t}`, theirs.state, ours.state);
      moved = Math.max(moved, maxAbsDiff(ours.state[0][1], oursState[0][1]));
      oursState = ours.state;
      theirsState = theirs.state;
    }
    // The state really is carried: it changes from step to step.
    assert.ok(moved > 0.05, `the cell state barely moves (${moved})`);
  } finally {
    await policy.release();
  }
}

const ACTIVATIONS: Activation[] = ["linear", "relu", "tanh", "sigmoid"];

for (const activation of ACTIVATIONS) {
  Deno.test(`exportOnnx MLP with ${activation} matches the native forward at batch 1, 5 and 64`, async () => {
    const rng = new Rng(ACTIVATIONS.indexOf(activation) + 1);
    const model = new Sequential(backend, {
      inputSize: 6,
      layers: [
        new Dense({ units: 20, activation }),
        new Dense({ units: 12, activation }),
        new Dense({ units: 3, activation }),
      ],
      seed: 1,
    });
    await randomize(model, rng, 0.7);
    const policy = await OnnxPolicy.load(await exportOnnx(model));
    try {
      assert.equal(policy.recurrent, false);
      assert.deepEqual([policy.inputSize, policy.outputSize], [6, 3]);
      for (const batch of [1, 5, 64]) {
        const x = randomArray(rng, batch * 6, 2);
        const ours = await native(model, x, [batch, 6]);
        const theirs = await policy.run(x, [batch, 6]);
        assert.deepEqual(theirs.shape, [batch, 3]);
        assert.deepEqual(theirs.state, []);
        assertClose(`batch ${batch}`, theirs.output, ours.output);
        if (activation === "relu") assert.ok(ours.output.some((v) => v === 0), "relu clips");
        if (activation === "linear") assert.ok(ours.output.some((v) => v < -1 || v > 1));
      }
    } finally {
      await policy.release();
    }
  });
}

Deno.test("exportOnnx LSTM alone matches the native forward, in sequences and step by step", async () => {
  const model = new Sequential(backend, {
    inputSize: 3,
    layers: [new LSTM({ units: 8 })],
    seed: 2,
  });
  await randomize(model, new Rng(20), 0.6);
  await checkRecurrent(model, 21);
});

Deno.test("exportOnnx LSTM + Dense matches the native forward, in sequences and step by step", async () => {
  const model = new Sequential(backend, {
    inputSize: 5,
    layers: [new LSTM({ units: 12 }), new Dense({ units: 4 })],
    seed: 3,
  });
  await randomize(model, new Rng(30), 0.5);
  await checkRecurrent(model, 31);
});

Deno.test("exportOnnx two stacked LSTMs + Dense match the native forward, in sequences and step by step", async () => {
  const model = new Sequential(backend, {
    inputSize: 4,
    layers: [new LSTM({ units: 16 }), new LSTM({ units: 8 }), new Dense({ units: 2 })],
    seed: 4,
  });
  await randomize(model, new Rng(40), 0.5);
  await checkRecurrent(model, 41);
});

Deno.test("exportOnnx Dense + LSTM + Dense with activations matches the native forward", async () => {
  const model = new Sequential(backend, {
    inputSize: 4,
    layers: [
      new Dense({ units: 10, activation: "relu" }),
      new LSTM({ units: 6 }),
      new Dense({ units: 5, activation: "tanh" }),
      new Dense({ units: 3 }),
    ],
    seed: 5,
  });
  await randomize(model, new Rng(50), 0.6);
  await checkRecurrent(model, 51);
});

Deno.test("exportOnnx a trained LSTM policy matches the native forward over 50 steps", async () => {
  // Echo the input from two steps back: a task that needs the recurrent state.
  const model = new Sequential(backend, {
    inputSize: 1,
    layers: [new LSTM({ units: 16 }), new Dense({ units: 1 })],
    seed: 6,
  });
  const optimizer = new Adam({ learningRate: 0.01 });
  const rng = new Rng(60);
  const [steps, batch] = [8, 16];
  const losses: number[] = [];
  for (let update = 0; update < 300; update++) {
    const x = new Float32Array(steps * batch);
    const y = new Float32Array(steps * batch);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform() < 0.5 ? -1 : 1;
    for (let i = 2 * batch; i < y.length; i++) y[i] = x[i - 2 * batch];
    const xt = backend.tensor(x, [steps, batch, 1]);
    const yt = backend.tensor(y, [steps, batch, 1]);
    const { output, state } = model.forward(xt, { training: true });
    const { loss, grad } = backend.mseLoss(output, yt);
    model.backward(grad);
    optimizer.step(model);
    losses.push((await backend.read(loss))[0]);
    for (const t of [xt, yt, output, loss, grad]) backend.dispose(t);
    model.disposeState(state);
    model.clearCache();
  }
  const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(last < 0.2 * first, `training did not learn: loss ${first} -> ${last}`);

  const policy = await OnnxPolicy.load(await exportOnnx(model));
  try {
    let oursState = policy.initialState(batch);
    let theirsState = policy.initialState(batch);
    let echoed = 0;
    const history: Float32Array[] = [];
    for (let t = 0; t < 50; t++) {
      const x = Float32Array.from({ length: batch }, () => (rng.uniform() < 0.5 ? -1 : 1));
      const ours = await native(model, x, [1, batch, 1], oursState);
      const theirs = await policy.run(x, [1, batch, 1], theirsState);
      assertClose(`output at step ${t}`, theirs.output, ours.output);
      assertStatesClose(`state at step ${t}`, theirs.state, ours.state);
      if (t >= 2) {
        // The exported policy does the trained job: its sign echoes the input of t - 2.
        for (let b = 0; b < batch; b++) {
          if (Math.sign(theirs.output[b]) === history[t - 2][b]) echoed++;
        }
      }
      history.push(x);
      oursState = ours.state;
      theirsState = theirs.state;
    }
    assert.ok(echoed >= 0.9 * 48 * batch, `the exported policy echoes ${echoed} of ${48 * batch}`);
  } finally {
    await policy.release();
  }
});

Deno.test("exportOnnx writes opset 17, named inputs and outputs, symbolic dims and metadata", async () => {
  const model = new Sequential(backend, {
    inputSize: 3,
    layers: [
      new LSTM({ units: 5 }),
      new Dense({ units: 7, activation: "relu" }),
      new LSTM({ units: 4 }),
    ],
    seed: 7,
  });
  const onnx = decodeOnnxModel(await exportOnnx(model));
  assert.deepEqual(onnx.opsetImport, [{ domain: "", version: 17 }]);
  const dims = (
    v: { type?: { tensorType?: { shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } } },
  ) => v.type?.tensorType?.shape?.dim?.map((d) => d.dimValue ?? d.dimParam);
  const inputs = onnx.graph!.input!.map((v) => [v.name, dims(v)]);
  const outputs = onnx.graph!.output!.map((v) => [v.name, dims(v)]);
  assert.deepEqual(inputs, [
    ["observation", ["time", "batch", 3]],
    ["h_in_0", ["batch", 5]],
    ["c_in_0", ["batch", 5]],
    ["h_in_1", ["batch", 4]],
    ["c_in_1", ["batch", 4]],
  ]);
  assert.deepEqual(outputs, [
    ["output", ["time", "batch", 4]],
    ["h_out_0", ["batch", 5]],
    ["c_out_0", ["batch", 5]],
    ["h_out_1", ["batch", 4]],
    ["c_out_1", ["batch", 4]],
  ]);
  const ops = onnx.graph!.node!.map((n) => n.opType);
  assert.equal(ops.filter((op) => op === "LSTM").length, 2);
  assert.ok(ops.includes("MatMul") && ops.includes("Add") && ops.includes("Relu"));
  const metadata = Object.fromEntries(onnx.metadataProps!.map((e) => [e.key, e.value]));
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(metadata[ONNX_METADATA_KEYS.version], denoJson.version);
  assert.deepEqual(JSON.parse(metadata[ONNX_METADATA_KEYS.config]!), model.config);
  assert.deepEqual(JSON.parse(metadata[ONNX_METADATA_KEYS.inputs]!), inputs.map((i) => i[0]));
  assert.deepEqual(JSON.parse(metadata[ONNX_METADATA_KEYS.outputs]!), outputs.map((o) => o[0]));
  assert.deepEqual(JSON.parse(metadata[ONNX_METADATA_KEYS.stateLayers]!), [0, 2]);

  const mlp = new Sequential(backend, { inputSize: 2, layers: [new Dense({ units: 3 })], seed: 1 });
  const mlpOnnx = decodeOnnxModel(await exportOnnx(mlp));
  assert.deepEqual(mlpOnnx.graph!.node!.map((n) => n.opType), ["Gemm"]);
  assert.deepEqual(mlpOnnx.graph!.input!.map(dims), [["batch", 2]]);
});

Deno.test("exportOnnx with a fixed batch runs that batch and onnxruntime rejects another", async () => {
  const model = new Sequential(backend, {
    inputSize: 2,
    layers: [new LSTM({ units: 3 }), new Dense({ units: 2 })],
    seed: 8,
  });
  const policy = await OnnxPolicy.load(await exportOnnx(model, { batch: 4, steps: 1 }));
  try {
    assert.equal(policy.batch, 4);
    const x = randomArray(new Rng(80), 8);
    const ours = await native(model, x, [1, 4, 2]);
    assertClose("fixed batch", (await policy.run(x, [1, 4, 2])).output, ours.output);
    await assert.rejects(policy.run(x.subarray(0, 6), [1, 3, 2]), /invalid dimensions/);
    // The session still works after a rejected call.
    assertClose("after a rejection", (await policy.run(x, [1, 4, 2])).output, ours.output);
  } finally {
    await policy.release();
  }
});

Deno.test("OnnxPolicy act takes each row's argmax and carries the state", async () => {
  const model = new Sequential(backend, {
    inputSize: 4,
    layers: [new LSTM({ units: 8 }), new Dense({ units: 3 })],
    seed: 9,
  });
  await randomize(model, new Rng(90), 0.8);
  const policy = await OnnxPolicy.load(await exportOnnx(model));
  try {
    const rng = new Rng(91);
    let state = policy.initialState(6);
    let oursState = policy.initialState(6);
    const seen = new Set<number>();
    for (let t = 0; t < 10; t++) {
      const x = randomArray(rng, 6 * 4, 2);
      const step = await policy.act(x, state);
      const ours = await native(model, x, [1, 6, 4], oursState);
      for (let b = 0; b < 6; b++) {
        const row = [...ours.output.subarray(3 * b, 3 * b + 3)];
        assert.equal(step.actions[b], row.indexOf(Math.max(...row)));
        seen.add(step.actions[b]);
      }
      state = step.state;
      oursState = ours.state;
    }
    assert.ok(seen.size >= 2, "the actions vary");
  } finally {
    await policy.release();
  }
});

Deno.test("OnnxPolicy run rejects a wrong shape, data or state", async () => {
  const model = new Sequential(backend, {
    inputSize: 2,
    layers: [new LSTM({ units: 3 }), new Dense({ units: 2 })],
    seed: 10,
  });
  const policy = await OnnxPolicy.load(await exportOnnx(model));
  try {
    const x = new Float32Array(4);
    await assert.rejects(
      policy.run(x, [2, 2]),
      /Cannot run ONNX policy: shape must be \[T, B, I\]/,
    );
    await assert.rejects(policy.run(x, [1, 1, 2]), /observation has 4 elements/);
    await assert.rejects(policy.run(x, [1, 2, 2], []), /state has 0 layers/);
    await assert.rejects(
      policy.run(x, [1, 2, 2], policy.initialState(3)),
      /h_in_0 has 9 elements, expected 2 × 3/,
    );
    await assert.rejects(OnnxPolicy.load(new Uint8Array([1, 2, 3])), TypeError);
  } finally {
    await policy.release();
  }
});

/** A layer that exports cannot handle: only its config matters. */
function fakeLayer(config: Record<string, unknown>): Layer {
  return {
    recurrent: false,
    stateNames: [],
    stateSizes: [],
    units: 2,
    parameters: [],
    config: config as unknown as LayerConfig,
    build: () => {},
    initialState: () => undefined,
    forward: () => {
      throw new Error("not used");
    },
    backward: () => {
      throw new Error("not used");
    },
    clearCache: () => {},
  };
}

Deno.test("exportOnnx rejects an unsupported layer type or activation with a clear error", async () => {
  const conv = new Sequential(backend, {
    inputSize: 3,
    layers: [
      new Dense({ units: 4 }),
      new LSTM({ units: 2 }),
      fakeLayer({ type: "conv", units: 2 }),
    ],
  });
  await assert.rejects(
    exportOnnx(conv),
    new TypeError('Cannot export layer 2 to ONNX: unsupported layer type "conv"'),
  );
  const gelu = new Sequential(backend, {
    inputSize: 3,
    layers: [fakeLayer({ type: "dense", units: 2, activation: "gelu" })],
  });
  await assert.rejects(
    exportOnnx(gelu),
    new TypeError('Cannot export layer 0 to ONNX: unsupported activation "gelu"'),
  );
  const model = new Sequential(backend, { inputSize: 1, layers: [new Dense({ units: 1 })] });
  await assert.rejects(exportOnnx(model, { batch: 0 }), RangeError);
  await assert.rejects(exportOnnx(model, { opset: 11 }), RangeError);
});

/**
 * A hand-set CartPole controller as LSTM(1) + Dense(2): the input, forget and output gates are
 * saturated open, shut and open, so h = tanh(tanh(z)) with z = gains · observation, and the Dense
 * layer turns the sign of h into Q-values. `gains = [0.5, 1, 10, 2]` balances the pole for 500
 * steps from any reset; the negated gains drop it within a few dozen steps.
 */
async function cartPoleController(gains: number[]): Promise<Sequential> {
  const model = new Sequential(backend, {
    inputSize: 4,
    layers: [new LSTM({ units: 1 }), new Dense({ units: 2 })],
    seed: 11,
  });
  const [w, u, b, dw, db] = await model.getParameters();
  w.data.fill(0);
  gains.forEach((g, i) => (w.data[i * 4 + 2] = g)); // gate g (candidate), input feature i
  u.data.fill(0);
  b.data.set([10, -10, 0, 10]); // i, f, g, o
  dw.data.set([-1, 1]);
  db.data.fill(0);
  model.setParameters([w, u, b, dw, db]);
  return model;
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  mjs: "text/javascript",
  wasm: "application/wasm",
  onnx: "application/octet-stream",
};

// The browser test needs more than the rest of the file (which runs with --allow-read alone).
const BROWSER_PERMISSIONS: Deno.PermissionDescriptor[] = [
  { name: "env", variable: "CHROMIUM_PATH" },
  { name: "run" },
  { name: "write" },
  { name: "net", host: "127.0.0.1" },
];
const missing = BROWSER_PERMISSIONS.filter((p) =>
  Deno.permissions.querySync(p).state !== "granted"
);
const chromium = missing.length === 0 ? findChromium() : null;
if (chromium === null) {
  console.warn(
    `onnx_export_test: web player test skipped: ${
      missing.length > 0
        ? `needs --allow-${missing.map((p) => p.name).join(", --allow-")}`
        : "no Chromium at CHROMIUM_PATH or /usr/bin/chromium"
    }`,
  );
}

/**
 * Opens a URL in headless Chromium, lets the page run (up to 30 s of virtual time) and returns
 * its DOM. Host resolution fails for every host but 127.0.0.1, so the page cannot reach anything
 * else.
 */
async function dumpDom(url: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "rnnrl_chromium_" });
  try {
    const { stdout } = await new Deno.Command(chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-extensions",
        `--user-data-dir=${profile}`,
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=30000",
        "--dump-dom",
        url,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "writeWebPlayer plays CartPole with the exported policy in headless Chromium",
  ignore: chromium === null,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_web_player_" });
    const requested: string[] = [];
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        const path = decodeURIComponent(new URL(req.url).pathname);
        requested.push(path);
        if (path.includes("..")) return new Response("no", { status: 403 });
        try {
          const body = await Deno.readFile(`${root}${path}`);
          const type = CONTENT_TYPES[path.split(".").pop() ?? ""] ?? "application/octet-stream";
          return new Response(body, { headers: { "content-type": type } });
        } catch {
          return new Response("not found", { status: 404 });
        }
      },
    );
    try {
      const good = await exportOnnx(await cartPoleController([0.5, 1, 10, 2]));
      const bad = await exportOnnx(await cartPoleController([-0.5, -1, -10, -2]));
      const written = await writeWebPlayer(`${root}/good`, good, { seed: 1 });
      assert.deepEqual(
        written.map((f) => f.slice(`${root}/good/`.length)).sort(),
        [...WEB_PLAYER_RUNTIME_FILES, "index.html", "policy.onnx"].sort(),
      );
      await writeWebPlayer(`${root}/bad`, bad, { seed: 2 });
      const base = `http://127.0.0.1:${server.addr.port}`;
      const play = async (name: string, episodes: number) => {
        const dom = await dumpDom(`${base}/${name}/index.html?speed=100000&episodes=${episodes}`);
        const state = dom.match(/<body data-player="(\w+)"/)?.[1];
        const status = dom.match(/<p id="status">([^<]*)</)?.[1];
        assert.equal(state, "done", `${name}: the player is ${state}: ${status}`);
        const returns = dom.match(/<span id="returns">([^<]*)</)?.[1] ?? "";
        return returns.split(" ").map(Number);
      };
      const goodReturns = await play("good", 3);
      assert.deepEqual(goodReturns, [500, 500, 500]);
      const badReturns = await play("bad", 5);
      assert.equal(badReturns.length, 5);
      assert.ok(badReturns.every((r) => r >= 5 && r < 100), `dropping returns ${badReturns}`);
      const files = new Set(requested.map((p) => p.split("/").pop()));
      files.delete("favicon.ico");
      assert.deepEqual(
        [...files].sort(),
        [...WEB_PLAYER_RUNTIME_FILES, "index.html", "policy.onnx"].sort(),
      );
    } finally {
      await server.shutdown();
      await Deno.remove(root, { recursive: true });
    }
  },
});
