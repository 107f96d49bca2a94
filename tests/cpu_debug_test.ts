// The CPU backend's debug mode: it counts the tensors it created and that are not yet disposed,
// across every op, reshape views, the LSTM and the GRU with their caches, Sequential models and
// optimizers, and
// throws on disposing a tensor twice or using a disposed one. Without it nothing is counted.
import assert from "node:assert/strict";
import type { Backend, Tensor } from "../lib/backend/backend.ts";
import { type CpuBackend, createCpuBackend } from "../lib/backend/cpu.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Adam, clipGradients, RMSprop, SGD } from "../lib/nn/optimizers.ts";
import { Sequential } from "../lib/nn/sequential.ts";

/** Asserts the live count, listing the live tensors when it is wrong. */
function expectLive(cpu: CpuBackend, expected: number, what: string): void {
  const live = cpu.liveTensors;
  if (live !== expected) {
    const list = cpu.listLiveTensors().map((t) => `  [${t.shape.join(", ")}] ${t.createdBy}`);
    assert.fail(`${what}: ${live} live tensors, expected ${expected}:\n${list.join("\n")}`);
  }
}

/** Every tensor in a result: a tensor, or the tensor fields of an object, one level deep. */
function tensorsOf(result: unknown): Tensor[] {
  if (result === undefined) return [];
  if (typeof result === "object" && result !== null && "shape" in result) return [result as Tensor];
  return Object.values(result as Record<string, unknown>).filter((v): v is Tensor =>
    typeof v === "object" && v !== null && "shape" in v
  );
}

Deno.test("CpuBackend debug mode counts exactly the tensors each op returns", () => {
  const cpu = createCpuBackend({ debug: true });
  const m = cpu.tensor([1, -2, 3, 0.5, 2, -1], [2, 3]);
  const n = cpu.tensor([0.5, 1, -1, 2, 0, 3], [2, 3]);
  const w = cpu.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
  const bias = cpu.tensor([0.1, 0.2], [2]);
  const actions = cpu.tensor([1, 0], [2]);
  const rewards = cpu.tensor([1, 0], [2]);
  const board = cpu.tensor([1, 0, 0, 1], [1, 4]);
  const patches = { height: 2, width: 2, radius: 1 };
  expectLive(cpu, 7, "inputs");
  const ops: [string, () => unknown, number][] = [
    ["zeros", () => cpu.zeros([4]), 1],
    ["matmul", () => cpu.matmul(m, w, { bias, activation: "tanh" }), 1],
    ["add", () => cpu.add(m, n), 1],
    ["mul", () => cpu.mul(m, n), 1],
    ["scale", () => cpu.scale(m, 2), 1],
    ["sub", () => cpu.sub(m, n), 1],
    ["div", () => cpu.div(m, n), 1],
    ["minimum", () => cpu.minimum(m, n), 1],
    ["maximum", () => cpu.maximum(m, n), 1],
    ["greater", () => cpu.greater(m, n), 1],
    ["greaterEqual", () => cpu.greaterEqual(m, n), 1],
    ["where", () => cpu.where(m, m, n), 1],
    ["exp", () => cpu.exp(m), 1],
    ["log", () => cpu.log(m), 1],
    ["abs", () => cpu.abs(m), 1],
    ["clamp", () => cpu.clamp(m, -1, 1), 1],
    ["addScalar", () => cpu.addScalar(m, 1), 1],
    ["activate", () => cpu.activate(m, "sigmoid"), 1],
    ["activationGrad", () => cpu.activationGrad(m, n, "relu"), 1],
    ["sumRows", () => cpu.sumRows(m), 1],
    ["sum", () => cpu.sum(m), 1],
    ["unfoldPatches", () => cpu.unfoldPatches(board, patches), 1],
    ["argmaxRows", () => cpu.argmaxRows(m), 1],
    ["epsilonGreedy", () => cpu.epsilonGreedy(m, 0.5, 1, 2), 1],
    ["gatherRows", () => cpu.gatherRows(m, actions), 1],
    ["scatterRows", () => cpu.scatterRows(rewards, actions, 3), 1],
    ["dqnTarget", () => cpu.dqnTarget(m, n, rewards, actions, 0.9), 1],
    ["softmaxRows", () => cpu.softmaxRows(m), 1],
    ["logSoftmaxRows", () => cpu.logSoftmaxRows(m), 1],
    ["policyLoss", () => cpu.policyLoss(m, actions, rewards, 0.01), 2],
    ["mseLoss", () => cpu.mseLoss(m, n), 2],
    ["huberLoss", () => cpu.huberLoss(m, n, 1), 2],
    ["clipByGlobalNorm", () => cpu.clipByGlobalNorm([m, n], 1), 1],
    ["axpyInPlace", () => cpu.axpyInPlace(m, n, 0.1), 0],
    ["copy", () => cpu.copy(m, n), 0],
    ["write", () => cpu.write(n, [1, 2, 3, 4, 5, 6]), 0],
  ];
  for (const [op, run, outputs] of ops) {
    const result = run();
    const returned = tensorsOf(result);
    assert.equal(returned.length, outputs, `${op} returns ${outputs} tensors`);
    expectLive(cpu, 7 + outputs, op);
    for (const t of returned) cpu.dispose(t);
    expectLive(cpu, 7, `${op} disposed`);
  }
  const unfolded = cpu.unfoldPatches(board, patches);
  cpu.dispose(cpu.foldPatches(unfolded, patches));
  cpu.dispose(unfolded);
  for (const t of [m, n, w, bias, actions, rewards, board]) cpu.dispose(t);
  expectLive(cpu, 0, "all disposed");
});

Deno.test("CpuBackend debug mode counts each reshape view once, disposed once", async () => {
  const cpu = createCpuBackend({ debug: true });
  const t = cpu.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const view = cpu.reshape(t, [3, 2]);
  const same = cpu.reshape(view, [3, 2]);
  expectLive(cpu, 3, "a tensor and two views");
  cpu.dispose(t);
  // The views share the storage and stay usable.
  assert.deepEqual(Array.from(await cpu.read(view)), [1, 2, 3, 4, 5, 6]);
  cpu.dispose(view);
  expectLive(cpu, 1, "one view left");
  assert.throws(() => cpu.dispose(view), { message: /Cannot dispose a tensor twice/ });
  assert.throws(() => cpu.reshape(t, [6]), { message: /Cannot use a disposed tensor/ });
  assert.deepEqual(Array.from(cpu.readSync(same)), [1, 2, 3, 4, 5, 6]);
  cpu.dispose(same);
  expectLive(cpu, 0, "all handles disposed");
});

Deno.test("CpuBackend debug mode throws on double dispose and on use after dispose, naming the creator", () => {
  const cpu = createCpuBackend({ debug: true });
  const a = cpu.tensor([1, 2, 3, 4], [2, 2]);
  const b = cpu.matmul(a, a);
  cpu.dispose(b);
  // An LSTM with H = 1 whose input weights are gone.
  const [x, h, u, bias, w] = [[1, 1, 2], [1, 1], [1, 4], [4], [2, 4]].map((s) => cpu.zeros(s));
  cpu.dispose(w);
  const site = /shape \[2, 2\], created by matmul at tests\/cpu_debug_test\.ts:\d+:\d+/;
  assert.throws(() => cpu.dispose(b), { name: "Error", message: site });
  assert.throws(() => cpu.dispose(b), /Cannot dispose a tensor twice/);
  const uses: [string, () => unknown][] = [
    ["an op input", () => cpu.add(a, b)],
    ["a matmul input", () => cpu.matmul(b, a)],
    ["an LSTM weight", () => cpu.lstmForward(x, h, h, { w, u, b: bias })],
    ["read", () => cpu.readSync(b)],
    ["write", () => cpu.write(b, [0, 0, 0, 0])],
    ["copy from", () => cpu.copy(a, b)],
    ["copy to", () => cpu.copy(b, a)],
    ["a list of gradients", () => cpu.clipByGlobalNorm([a, b], 1)],
  ];
  for (const [what, use] of uses) {
    const live = cpu.liveTensors;
    assert.throws(use, { name: "Error", message: /Cannot use a disposed tensor/ }, what);
    // An op that refuses an input has allocated nothing.
    assert.equal(cpu.liveTensors, live, `${what} leaked`);
  }
  // A tensor this backend did not create, whichever backend did.
  assert.throws(() => cpu.dispose(createCpuBackend().zeros([1])), TypeError);
  assert.throws(() => cpu.dispose(createCpuBackend({ debug: true }).zeros([1])), TypeError);
  assert.match(cpu.listLiveTensors()[0].createdBy, /^tensor at tests\/cpu_debug_test\.ts:\d+/);
});

/** A one-step LSTM problem: x `[T, B, I]`, state and weights, on `cpu`. */
function lstmInputs(cpu: CpuBackend) {
  const [T, B, I, H] = [3, 2, 2, 3];
  const fill = (n: number, shape: number[], k: number) =>
    cpu.tensor(Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5), shape);
  return {
    x: fill(T * B * I, [T, B, I], 1),
    h0: fill(B * H, [B, H], 2),
    c0: fill(B * H, [B, H], 3),
    weights: {
      w: fill(I * 4 * H, [I, 4 * H], 4),
      u: fill(H * 4 * H, [H, 4 * H], 5),
      b: fill(4 * H, [4 * H], 6),
    },
    mask: cpu.tensor([1, 1, 0, 1, 1, 0], [T, B]),
    dh: fill(T * B * H, [T, B, H], 7),
  };
}

Deno.test("CpuBackend debug mode counts the LSTM's outputs and cache, released by disposeLstmCache", () => {
  const cpu = createCpuBackend({ debug: true });
  const p = lstmInputs(cpu);
  const base = cpu.liveTensors;
  // Without the cache, only h, hLast and cLast remain.
  const light = cpu.lstmForward(p.x, p.h0, p.c0, p.weights, { mask: p.mask, keepCache: false });
  assert.equal(light.cache, undefined);
  expectLive(cpu, base + 3, "forward without cache");
  for (const t of [light.h, light.hLast, light.cLast]) cpu.dispose(t);
  // With it: four cache tensors more (x and the mask are borrowed, not counted again).
  const full = cpu.lstmForward(p.x, p.h0, p.c0, p.weights, { mask: p.mask, keepCache: true });
  expectLive(cpu, base + 7, "forward with cache");
  assert.ok(full.cache);
  const grads = cpu.lstmBackward(full.cache, p.weights, p.dh, full.hLast, full.cLast);
  expectLive(cpu, base + 13, "backward returns six gradients");
  cpu.disposeLstmCache(full.cache);
  expectLive(cpu, base + 9, "cache disposed");
  assert.throws(() => cpu.disposeLstmCache(full.cache!), /twice/);
  for (const t of Object.values(grads)) cpu.dispose(t);
  for (const t of [full.h, full.hLast, full.cLast]) cpu.dispose(t);
  expectLive(cpu, base, "everything returned disposed");
  // The borrowed input is still the caller's.
  cpu.dispose(p.x);
  cpu.dispose(p.mask);
  expectLive(cpu, base - 2, "input and mask disposed by their owner");
});

Deno.test("CpuBackend debug mode counts the GRU's outputs and cache, released by disposeGruCache", () => {
  for (const linearBeforeReset of [true, false]) {
    const cpu = createCpuBackend({ debug: true });
    const [T, B, I, H] = [3, 2, 2, 3];
    const fill = (shape: number[], k: number) =>
      cpu.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * k) * 0.5),
        shape,
      );
    const x = fill([T, B, I], 1), h0 = fill([B, H], 2), dh = fill([T, B, H], 7);
    const weights = { w: fill([I, 3 * H], 4), u: fill([H, 3 * H], 5), bw: fill([3 * H], 6) };
    const all = { ...weights, bu: fill([3 * H], 8) };
    const mask = cpu.tensor([1, 1, 0, 1, 1, 0], [T, B]);
    const base = cpu.liveTensors;
    const what = `linearBeforeReset ${linearBeforeReset}`;
    // Without the cache, only h and hLast remain.
    const options = { mask, linearBeforeReset };
    const light = cpu.gruForward(x, h0, all, { ...options, keepCache: false });
    assert.equal(light.cache, undefined);
    expectLive(cpu, base + 2, `${what}: forward without cache`);
    for (const t of [light.h, light.hLast]) cpu.dispose(t);
    // With it: three cache tensors more (x and the mask are borrowed, not counted again).
    const full = cpu.gruForward(x, h0, all, options);
    expectLive(cpu, base + 5, `${what}: forward with cache`);
    const grads = cpu.gruBackward(full.cache!, all, dh, full.hLast);
    expectLive(cpu, base + 11, `${what}: backward returns six gradients`);
    cpu.disposeGruCache(full.cache!);
    expectLive(cpu, base + 8, `${what}: cache disposed`);
    assert.throws(() => cpu.disposeGruCache(full.cache!), /twice/);
    for (const t of [...Object.values(grads), full.h, full.hLast]) cpu.dispose(t);
    expectLive(cpu, base, `${what}: everything returned disposed`);
    // An op that refuses its input allocates nothing.
    cpu.dispose(weights.u);
    assert.throws(() => cpu.gruForward(x, h0, all, options), /Cannot use a disposed tensor/);
    expectLive(cpu, base - 1, `${what}: refused forward`);
  }
});

/** Disposes a model's forward or backward state. */
function disposeState(backend: Backend, state: (Tensor[] | undefined)[]): void {
  for (const s of state) s?.forEach((t) => backend.dispose(t));
}

Deno.test("CpuBackend debug mode: a Sequential LSTM model's forward, backward and clearCache leak nothing", () => {
  const cpu = createCpuBackend({ debug: true });
  const model = new Sequential(cpu, {
    inputSize: 2,
    layers: [
      new LSTM({ units: 4 }),
      new Dense({ units: 3, activation: "tanh" }),
      new Dense({ units: 1 }),
    ],
    seed: 1,
  });
  const params = model.parameters.length;
  expectLive(cpu, params, "parameters");
  const x = cpu.tensor(new Float32Array(5 * 2 * 2).fill(0.3), [5, 2, 2]);
  const mask = cpu.tensor([1, 1, 1, 0, 1, 1, 0, 1, 1, 1], [5, 2]);
  const base = params + 2;
  for (let round = 0; round < 3; round++) {
    const { output, state } = model.forward(x, { training: true, mask });
    const target = cpu.zeros(output.shape);
    const { loss, grad } = cpu.mseLoss(output, target);
    const backward = model.backward(grad);
    for (const t of [output, target, loss, grad, backward.dInput]) cpu.dispose(t);
    disposeState(cpu, state);
    disposeState(cpu, backward.dState);
    assert.ok(cpu.liveTensors > base + params, "the layers keep their caches until cleared");
    // Each names the op and the line in lib/nn that made it.
    const sites = cpu.listLiveTensors().map((t) => t.createdBy);
    assert.ok(sites.some((s) => /^matmul at lib\/nn\/\w+\.ts:\d+:\d+$/.test(s)), sites.join("\n"));
    model.clearCache();
    // Left: the parameters and one gradient each (a round's gradients replace the last ones).
    expectLive(cpu, base + params, `round ${round} after clearCache`);
  }
  // Inference keeps nothing; the initial state stays the caller's.
  const initial = model.initialState(2);
  const step = model.forward(x, { state: initial });
  cpu.dispose(step.output);
  disposeState(cpu, step.state);
  expectLive(cpu, base + params + 2, "inference");
  model.disposeState(initial);
  expectLive(cpu, base + params, "initial state disposed");
  assert.throws(() => model.disposeState(initial), /twice/);
});

Deno.test("CpuBackend debug mode: Sequential GRU models (with an LSTM, and single steps) leak nothing", () => {
  for (const linearBeforeReset of [true, false]) {
    const cpu = createCpuBackend({ debug: true });
    const model = new Sequential(cpu, {
      inputSize: 2,
      layers: [
        new GRU({ units: 4, linearBeforeReset }),
        new LSTM({ units: 3 }),
        new GRU({ units: 3, linearBeforeReset }),
        new Dense({ units: 1 }),
      ],
      seed: 1,
    });
    const params = model.parameters.length;
    const x = cpu.tensor(new Float32Array(5 * 2 * 2).fill(0.3), [5, 2, 2]);
    const mask = cpu.tensor([1, 1, 1, 0, 1, 1, 0, 1, 1, 1], [5, 2]);
    const base = params + 2;
    const optimizer = new Adam({ learningRate: 0.01 });
    for (let round = 0; round < 3; round++) {
      const { output, state } = model.forward(x, { training: true, mask });
      const target = cpu.zeros(output.shape);
      const { loss, grad } = cpu.mseLoss(output, target);
      const backward = model.backward(grad, state);
      for (const t of [output, target, loss, grad, backward.dInput]) cpu.dispose(t);
      disposeState(cpu, state);
      disposeState(cpu, backward.dState);
      model.clearCache();
      optimizer.step(model);
      // Left: the parameters, one gradient each, and Adam's two moments each.
      expectLive(cpu, base + 3 * params, `lbr ${linearBeforeReset} round ${round}`);
    }
    // Acting one step at a time, the state passed in and returned: nothing stays behind.
    let state = model.initialState(2);
    for (let t = 0; t < 4; t++) {
      const observation = cpu.tensor([t, 1, -t, 0], [1, 2, 2]);
      const step = model.forward(observation, { state });
      model.disposeState(state);
      state = step.state;
      cpu.dispose(step.output);
      cpu.dispose(observation);
    }
    // The state: h of the first GRU, h and c of the LSTM, h of the second GRU.
    expectLive(cpu, base + 3 * params + 4, "stepping keeps only the state");
    model.disposeState(state);
    expectLive(cpu, base + 3 * params, "state disposed");
  }
});

Deno.test("CpuBackend debug mode: optimizer steps allocate their slots once, clipping returns one tensor", () => {
  for (
    const [name, optimizer, slots] of [
      ["Adam", new Adam({ learningRate: 0.01 }), 2],
      ["RMSprop", new RMSprop(), 1],
      ["SGD", new SGD(), 0],
    ] as const
  ) {
    const cpu = createCpuBackend({ debug: true });
    const model = new Sequential(cpu, { inputSize: 3, layers: [new Dense({ units: 2 })], seed: 2 });
    const params = model.parameters.length;
    const x = cpu.tensor([1, 2, 3, -1, 0, 1], [2, 3]);
    for (let step = 1; step <= 3; step++) {
      const { output } = model.forward(x, { training: true });
      const target = cpu.zeros(output.shape);
      const { loss, grad } = cpu.mseLoss(output, target);
      const { dInput } = model.backward(grad);
      for (const t of [output, target, loss, grad, dInput]) cpu.dispose(t);
      model.clearCache();
      const norm = clipGradients(model, 1);
      expectLive(cpu, 1 + 2 * params + 1 + (step === 1 ? 0 : slots * params), `${name} clip`);
      cpu.dispose(norm);
      optimizer.step(model);
      expectLive(cpu, 1 + 2 * params + slots * params, `${name} step ${step}`);
    }
  }
});

Deno.test("CpuBackend without debug counts nothing and lets dispose be a no-op", () => {
  const cpu = createCpuBackend();
  assert.equal(cpu.debug, false);
  assert.throws(() => cpu.liveTensors, /debug: true/);
  assert.throws(() => cpu.listLiveTensors(), /debug: true/);
  const t = cpu.tensor([1, 2], [2]);
  cpu.dispose(t);
  cpu.dispose(t);
  assert.deepEqual(Array.from(cpu.readSync(t)), [1, 2]);
  assert.equal(createCpuBackend({ debug: true, precision: "float64" }).debug, true);
});
