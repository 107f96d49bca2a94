/**
 * An exported policy belongs to one checkpoint, and a damaged one is never played:
 *
 * - `deno task eval --onnx` after `export` and a `--resume` that went on training refuses the stale
 *   policy.onnx in one line, and plays the one exported again exactly as the run's own forward
 *   pass does;
 * - the checksum an exported model carries finds every flipped byte;
 * - the ONNX loader, fuzzed as the checkpoint loader is: 1,600 mutated models, each loads or fails
 *   with a TypeError (the one-line error `deno task eval --onnx` prints), never anything else.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CHECKPOINT_FILE, decodeCheckpoint } from "../lib/io/checkpoint.ts";
import { Rng } from "../lib/io/rng.ts";
import { exportOnnx } from "../lib/onnx/export.ts";
import { OnnxPolicy } from "../lib/onnx/policy.ts";
import { checkOnnxSeal, ONNX_SEAL_KEY, sealOnnxModel } from "../lib/onnx/seal.ts";
import { decodeOnnxModel, encodeOnnxModel } from "../lib/onnx/onnx_proto.ts";
import { createCpuBackend, Dense, LSTM, Sequential } from "../mod.ts";
import { fingerprint, lines, runTask, spawnTask, waitFor } from "./helpers/mod.ts";

Deno.test("deno task eval --onnx refuses the policy of an older checkpoint after --resume, and plays the one exported again", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_stale_" });
  try {
    const run = join(root, "run");
    const args = [
      ...["--backend", "cpu", "--seed", "4", "--steps", "3000", "--hidden", "16"],
      ...["--checkpoint-every", "1000", "--eval-episodes", "2", "--out", run],
    ];
    // Stop the run after its first checkpoint, and export that.
    const child = spawnTask("train", args);
    const stepOf = async () => {
      const bytes = await Deno.readFile(join(run, CHECKPOINT_FILE)).catch(() => null);
      return bytes === null ? 0 : decodeCheckpoint(bytes).header.step as number;
    };
    assert.ok(await waitFor(async () => await stepOf() >= 1000, 60_000), "a checkpoint appeared");
    child.kill("SIGINT");
    assert.equal((await child.status).code, 130);
    const exportedAt = await stepOf();
    const exported = await runTask("export", ["--run", run]);
    assert.equal(exported.code, 0, exported.stderr);

    // The run goes on to its end: the policy.onnx is now the one of an older checkpoint.
    const resumed = await runTask("train", ["--resume", "--out", run]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const before = await fingerprint(root);
    const stale = await runTask("eval", ["--run", run, "--onnx", "--episodes", "4"]);
    assert.equal(stale.code, 2, stale.stderr);
    assert.deepEqual(lines(stale.stderr), [
      `error: Cannot play ${run}/policy.onnx: it was exported from the checkpoint of step ` +
      `${exportedAt}, but the run's checkpoint is now of step 3000; export it again with deno ` +
      "task export",
    ]);
    assert.equal(stale.stdout, "");
    assert.deepEqual(await fingerprint(root), before, "nothing changed");

    const again = await runTask("export", ["--run", run]);
    assert.equal(again.code, 0, again.stderr);
    const onnx = await runTask("eval", ["--run", run, "--onnx", "--episodes", "4"]);
    const native = await runTask("eval", ["--run", run, "--episodes", "4"]);
    assert.equal(onnx.code, 0, onnx.stderr);
    assert.equal(native.code, 0, native.stderr);
    assert.deepEqual(JSON.parse(onnx.stdout).returns, JSON.parse(native.stdout).returns);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const backend = createCpuBackend();

function recurrentModel(): Sequential {
  return new Sequential(backend, {
    inputSize: 4,
    layers: [new LSTM({ units: 4 }), new Dense({ units: 2 })],
    seed: 1,
  });
}

Deno.test("checkOnnxSeal finds every flipped byte of an exported model, and tells an unsealed one", async () => {
  const sealed = await exportOnnx(
    new Sequential(backend, { inputSize: 2, layers: [new Dense({ units: 2 })], seed: 1 }),
  );
  assert.equal(await checkOnnxSeal(sealed), "intact");
  for (let at = 0; at < sealed.length; at++) {
    const bytes = sealed.slice();
    bytes[at] ^= 0x20;
    let verdict: string;
    try {
      verdict = await checkOnnxSeal(bytes);
    } catch (error) {
      assert.ok(error instanceof TypeError, String(error));
      verdict = "not a model";
    }
    // "unsealed" where the flip hit the checksum's own key: eval --onnx requires the checksum.
    assert.notEqual(verdict, "intact", `byte ${at} flipped`);
  }
  const model = decodeOnnxModel(sealed);
  model.metadataProps = model.metadataProps!.filter((e) => e.key !== ONNX_SEAL_KEY);
  assert.equal(await checkOnnxSeal(encodeOnnxModel(model)), "unsealed");
});

Deno.test("OnnxPolicy.load fuzz: 1,600 mutated models load or throw TypeError", async () => {
  const rng = new Rng(20250611);
  const good = await exportOnnx(recurrentModel(), { output: "logits" });
  // The model without its checksum: mutations of it, sealed again, reach onnxruntime-web.
  const model = decodeOnnxModel(good);
  model.metadataProps = model.metadataProps!.filter((e) => e.key !== ONNX_SEAL_KEY);
  const body = encodeOnnxModel(model);
  const outcome: Record<string, { loaded: number; refused: number }> = {};
  for (let trial = 0; trial < 1600; trial++) {
    let bytes: Uint8Array = good.slice();
    let kind: string;
    switch (trial % 8) {
      case 0:
        kind = "truncate";
        bytes = bytes.slice(0, rng.int(bytes.length));
        break;
      case 1:
      case 2:
        kind = "bytes";
        for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
        break;
      case 3:
        kind = "bit";
        bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
        break;
      case 4: {
        kind = "splice";
        const at = rng.int(bytes.length);
        const insert = Uint8Array.from({ length: rng.int(9) }, () => rng.int(256));
        bytes = Uint8Array.from([
          ...bytes.subarray(0, at),
          ...insert,
          ...bytes.subarray(at + rng.int(9)),
        ]);
        break;
      }
      case 5:
        kind = "garbage";
        bytes = Uint8Array.from({ length: rng.int(400) }, () => rng.int(256));
        break;
      default: { // a few bytes of the model changed, then sealed again: onnxruntime-web judges it
        kind = "bytes+seal";
        const changed = body.slice();
        for (let n = 1 + rng.int(3); n > 0; n--) {
          changed[rng.int(changed.length)] ^= 1 << rng.int(8);
        }
        bytes = await sealOnnxModel(changed);
      }
    }
    if (bytes.length === good.length && bytes.every((b, i) => b === good[i])) kind = "unchanged";
    outcome[kind] ??= { loaded: 0, refused: 0 };
    let policy: OnnxPolicy | undefined;
    try {
      policy = await OnnxPolicy.load(bytes, { requireChecksum: true }); // as eval --onnx loads
      outcome[kind].loaded++;
    } catch (error) {
      assert.ok(
        error instanceof TypeError,
        `trial ${trial} (${kind}): ${error instanceof Error ? error.stack : error}`,
      );
      assert.ok(!error.message.includes("\n"), `trial ${trial}: one line, got ${error.message}`);
      outcome[kind].refused++;
    } finally {
      await policy?.release();
    }
  }
  // Damage that the checksum covers is always refused; only resealed changes can load.
  for (const kind of ["truncate", "bytes", "bit", "splice", "garbage"]) {
    assert.equal(outcome[kind].loaded, 0, `${kind}: ${JSON.stringify(outcome[kind])}`);
  }
  assert.ok(outcome["bytes+seal"].refused > 0, JSON.stringify(outcome));
  // The intact model still loads and acts.
  const policy = await OnnxPolicy.load(good);
  const { actions } = await policy.act(new Float32Array([0.1, 0, -0.1, 0]));
  assert.ok(actions[0] === 0 || actions[0] === 1);
  await policy.release();
});
