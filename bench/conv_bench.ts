/**
 * A convolutional training step, rnnrl (cpu, webgpu) against TensorFlow.js's `conv2d` (cpu,
 * webgpu), in one run: Conv2D(F, 3×3, same, ReLU), MaxPool2D(2), Conv2D(2F, 3×3, same, ReLU),
 * MaxPool2D(2), Dense(10) on a batch of single-channel images (MNIST's 28×28), mean squared
 * error, Adam. Every step ends by reading the loss back.
 *
 *     deno task bench bench/conv_bench.ts
 *
 * @module
 */

import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { Conv2D, MaxPool2D } from "../lib/nn/conv2d.ts";
import { Dense } from "../lib/nn/dense.ts";
import { Adam } from "../lib/nn/optimizers.ts";
import { Sequential } from "../lib/nn/sequential.ts";
import { type ConvWorkload, createTfjsConvTrainStep, hasWebGpuAdapter } from "./peers.ts";
import { lazyBench, randomData } from "./_workloads.ts";

const gpuAvailable = await hasWebGpuAdapter();
const backends: Backend[] = [createCpuBackend()];
if (gpuAvailable) backends.push(await createWebGpuBackend());

const SHAPES: ConvWorkload[] = [
  { batch: 32, size: 28, filters: 8 },
  { batch: 64, size: 28, filters: 16 },
];

/** rnnrl's step of the same network as {@linkcode createTfjsConvTrainStep}. */
function rnnrlConvTrainStep(backend: Backend, s: ConvWorkload): () => Promise<void> {
  const model = new Sequential(backend, {
    inputSize: s.size * s.size,
    layers: [
      new Conv2D({
        filters: s.filters,
        kernelSize: 3,
        activation: "relu",
        height: s.size,
        width: s.size,
      }),
      new MaxPool2D({ size: 2 }),
      new Conv2D({ filters: 2 * s.filters, kernelSize: 3, activation: "relu" }),
      new MaxPool2D({ size: 2 }),
      new Dense({ units: 10 }),
    ],
    seed: 1,
  });
  const optimizer = new Adam({ learningRate: 1e-3 });
  const x = backend.tensor(randomData(s.batch * s.size * s.size, 2), [s.batch, s.size * s.size]);
  const y = backend.tensor(randomData(s.batch * 10, 3), [s.batch, 10]);
  return async () => {
    const { output } = model.forward(x, { training: true });
    const { loss, grad } = backend.mseLoss(output, y);
    const { dInput } = model.backward(grad);
    optimizer.step(model);
    await backend.read(loss); // waits for the whole step
    for (const t of [output, loss, grad, dInput]) backend.dispose(t);
  };
}

for (const shape of SHAPES) {
  const group = `conv_train_step B=${shape.batch} S=${shape.size} F=${shape.filters}`;
  for (const backend of backends) {
    lazyBench(
      group,
      `rnnrl ${backend.name}`,
      10,
      () => Promise.resolve(rnnrlConvTrainStep(backend, shape)),
    );
  }
  for (const tfBackend of gpuAvailable ? ["cpu", "webgpu"] as const : ["cpu"] as const) {
    lazyBench(group, `tfjs ${tfBackend}`, 5, async () => {
      const peer = await createTfjsConvTrainStep(tfBackend, shape);
      return () => peer.run();
    });
  }
}
