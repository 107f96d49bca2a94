// LSTM training steps and forward passes: rnnrl against TensorFlow.js and onnxruntime-web, in one run.
import { createCpuBackend } from "../lib/backend/cpu.ts";
import {
  FORWARD_SHAPE,
  rnnrlForward,
  rnnrlTrainStep,
  shapeName,
  TRAIN_SHAPES,
} from "./_workloads.ts";

const cpu = createCpuBackend();

for (const shape of TRAIN_SHAPES) {
  const group = `lstm_train_step ${shapeName(shape)}`;
  const step = rnnrlTrainStep(cpu, shape);
  Deno.bench({ name: "rnnrl cpu", group, baseline: true, n: 10, warmup: 2, fn: step });
}

{
  const group = `lstm_forward ${shapeName(FORWARD_SHAPE)}`;
  const forward = rnnrlForward(cpu, FORWARD_SHAPE);
  Deno.bench({ name: "rnnrl cpu", group, baseline: true, fn: forward });
}
