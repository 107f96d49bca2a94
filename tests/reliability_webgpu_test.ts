/**
 * WebGPU faults: asking for the WebGPU backend where no adapter exists is one clear error (in the
 * library, and in `deno task train` and `deno task eval` as one line with exit code 2), "auto"
 * falls back to the CPU and says so, and a lost device makes the next operation throw.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createBackend } from "../lib/backend/create.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/backend.ts";
import { isWebGpuAvailable } from "../lib/backend/webgpu/device.ts";
import { fingerprint, lines, runTask } from "./helpers/mod.ts";

const NO_ADAPTER =
  "Cannot use the WebGPU backend: no adapter found (navigator.gpu.requestAdapter() returned null)";

/** Deno picks its WebGPU backend from this variable; DirectX 12 does not exist on Linux/macOS. */
const HIDE_ADAPTER = { DENO_WEBGPU_BACKEND: "dx12" };

const gpu = (globalThis.navigator as { gpu?: GPU }).gpu;
const hasAdapter = await isWebGpuAvailable();

/** Runs `fn` while navigator.gpu.requestAdapter finds nothing, then restores it. */
async function withoutAdapter<T>(fn: () => Promise<T>): Promise<T> {
  if (gpu === undefined) return await fn();
  const own = Object.getOwnPropertyDescriptor(gpu, "requestAdapter");
  Object.defineProperty(gpu, "requestAdapter", {
    value: () => Promise.resolve(null),
    configurable: true,
    writable: true,
  });
  try {
    return await fn();
  } finally {
    if (own) Object.defineProperty(gpu, "requestAdapter", own);
    else delete (gpu as { requestAdapter?: unknown }).requestAdapter;
  }
}

/** Whether a Deno subprocess with {@linkcode HIDE_ADAPTER} finds no adapter. */
async function subprocessAdapterHidden(): Promise<boolean> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "console.log(String(await navigator.gpu?.requestAdapter() ?? null))"],
    env: HIDE_ADAPTER,
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).trim() === "null";
}
const canHide = await subprocessAdapterHidden();

/** A suffix for the name of a test that is skipped, saying why. */
function skipReason(skipped: boolean, reason: string): string {
  return skipped ? ` (skipped: ${reason})` : "";
}

Deno.test({
  name: "createBackend webgpu without an adapter throws one clear error" +
    skipReason(gpu === undefined, "navigator.gpu is not defined in this runtime"),
  ignore: gpu === undefined,
  async fn() {
    await withoutAdapter(async () => {
      await assert.rejects(createBackend("webgpu"), { name: "Error", message: NO_ADAPTER });
      await assert.rejects(createWebGpuBackend(), { message: NO_ADAPTER });
    });
    // Restored: the real requestAdapter answers again.
    assert.equal(typeof gpu!.requestAdapter, "function");
    assert.equal(await isWebGpuAvailable(), hasAdapter);
  },
});

Deno.test({
  name: "createBackend auto without an adapter takes the CPU and says so" +
    skipReason(gpu === undefined, "navigator.gpu is not defined in this runtime"),
  ignore: gpu === undefined,
  async fn() {
    const logged: string[] = [];
    const backend = await withoutAdapter(() =>
      createBackend("auto", { log: (line) => logged.push(line) })
    );
    assert.equal(backend.name, "cpu");
    assert.deepEqual(logged, ["backend auto: using cpu (no WebGPU adapter found)"]);
  },
});

Deno.test({
  name: "deno task train --backend webgpu without an adapter fails with one line and exit code 2" +
    skipReason(!canHide, "DENO_WEBGPU_BACKEND=dx12 does not hide the adapter from a subprocess"),
  ignore: !canHide,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_no_gpu_" });
    try {
      const out = join(root, "run");
      const result = await runTask(
        "train",
        ["--backend", "webgpu", "--steps", "300", "--hidden", "8", "--out", out],
        { env: HIDE_ADAPTER },
      );
      assert.deepEqual(lines(result.stderr), [`error: ${NO_ADAPTER}`]);
      assert.equal(result.code, 2);
      assert.deepEqual(await fingerprint(root), {}, "no run directory is created");

      // "auto" trains on the CPU instead, and says so once the run directory is settled.
      const auto = await runTask(
        "train",
        ["--steps", "300", "--hidden", "8", "--eval-episodes", "2", "--out", out],
        { env: HIDE_ADAPTER },
      );
      assert.equal(auto.code, 0, auto.stderr);
      const stderr = lines(auto.stderr);
      assert.equal(stderr[0], "backend auto: using cpu (no WebGPU adapter found)");
      const config = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
      assert.equal(config.backendUsed, "cpu");

      // A run that asked for WebGPU cannot be evaluated where there is none: one line, exit 2.
      config.backend = "webgpu";
      await Deno.writeTextFile(join(out, "config.json"), JSON.stringify(config));
      const before = await fingerprint(root);
      const evaluated = await runTask("eval", ["--run", out], { env: HIDE_ADAPTER });
      assert.deepEqual(lines(evaluated.stderr), [`error: ${NO_ADAPTER}`]);
      assert.equal(evaluated.code, 2);
      assert.deepEqual(await fingerprint(root), before);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "WebGpuBackend throws WebGPU device lost on the first operation after its device is destroyed" +
    skipReason(!hasAdapter, "no WebGPU adapter here"),
  ignore: !hasAdapter,
  async fn() {
    const backend = await createWebGpuBackend();
    const a = backend.tensor([1, 2, 3, 4], [2, 2]);
    assert.deepEqual([...await backend.read(backend.matmul(a, a))], [7, 10, 15, 22]);
    backend.gpu.destroy();
    await backend.gpu.lost;
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the backend's handler run
    assert.throws(() => backend.tensor([1, 2], [2]), /^Error: WebGPU device lost: /);
    assert.throws(() => backend.matmul(a, a), /WebGPU device lost/);
    await assert.rejects(backend.read(a), /WebGPU device lost/);
  },
});
