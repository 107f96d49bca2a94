// A run directory packed into one archive and unpacked elsewhere is the same directory (its run
// files, never its lock), and resumes there; an archive cut short, with a damaged file or with a
// name that is not a run file, is refused before anything is written.
import assert from "node:assert/strict";
import { join } from "node:path";
import { packRunDir, readRunArchive, unpackRunArchive } from "../lib/run/run_archive.ts";
import { newTrainConfigFromArgs } from "../lib/run/train_cli.ts";
import { train, TrainingInterrupted } from "../lib/run/trainer.ts";
import { fingerprint, runTask } from "./helpers/mod.ts";

const TINY = [
  ...["--backend", "cpu", "--hidden", "8", "--checkpoint-every", "300", "--eval-episodes", "2"],
];

Deno.test("a run archive carries a run directory whole and only its run files", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_archive_" });
  try {
    const run = join(root, "run");
    const made = await runTask("train", [...TINY, "--steps", "600", "--out", run]);
    assert.equal(made.code, 0, made.stderr);
    await Deno.writeTextFile(join(run, "notes.txt"), "not a run file");
    const archive = await packRunDir(run, 600);

    await t.step("unpacked, it holds the same run files, without the lock or others", async () => {
      const copy = join(root, "copy");
      const header = await unpackRunArchive(archive, copy, "the archive");
      assert.equal(header.step, 600);
      const original = await fingerprint(run);
      delete original[".lock"];
      delete original["notes.txt"];
      assert.deepEqual(await fingerprint(copy), original);
    });

    await t.step(
      "a run stopped at a checkpoint, moved by archive, resumes to the same metrics",
      async () => {
        const config = newTrainConfigFromArgs([...TINY, "--steps", "900"]).config;
        const quiet = { log: () => {}, terminal: false };
        const whole = join(root, "whole");
        await train(config, { ...quiet, out: whole });
        const stopped = join(root, "stopped");
        const controller = new AbortController();
        let archived: Uint8Array | undefined;
        await assert.rejects(
          () =>
            train(config, {
              ...quiet,
              out: stopped,
              signal: controller.signal,
              onCheckpoint: async (step) => {
                archived = await packRunDir(stopped, step);
                controller.abort("SIGTERM");
              },
            }),
          TrainingInterrupted,
        );
        const moved = join(root, "moved");
        assert.equal((await unpackRunArchive(archived!, moved, "the archive")).step, 300);
        const said: string[] = [];
        await train(config, { ...quiet, out: moved, resume: true, log: (line) => said.push(line) });
        assert.ok(said.some((line) => line.endsWith("at step 300 of 900")), said.join("\n"));
        assert.deepEqual(
          await Deno.readFile(join(moved, "metrics.jsonl")),
          await Deno.readFile(join(whole, "metrics.jsonl")),
        );
      },
    );

    await t.step("a damaged archive is refused and writes nothing", async () => {
      const cases: [string, Uint8Array, RegExp][] = [
        ["cut short", archive.subarray(0, archive.length - 10), /cut short in /],
        ["a flipped byte", flipLast(archive), /report\.html|replay\.json|\w+ is damaged/],
        ["not an archive", new TextEncoder().encode("hello"), /header|not a run archive/],
        ["a foreign name", withName(archive, "../escape"), /which is not a run file/],
      ];
      for (const [what, bytes, message] of cases) {
        const target = join(root, `bad-${what.replaceAll(" ", "-")}`);
        await assert.rejects(() => unpackRunArchive(bytes, target, "the archive"), message, what);
        await assert.rejects(() => Deno.stat(target), Deno.errors.NotFound, what);
      }
      await readRunArchive(archive, "the archive"); // the intact one reads
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function flipLast(archive: Uint8Array): Uint8Array {
  const copy = archive.slice();
  copy[copy.length - 1] ^= 0xff;
  return copy;
}

/** The archive with its first file renamed in the header. */
function withName(archive: Uint8Array, name: string): Uint8Array {
  const length = new DataView(archive.buffer, archive.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(archive.subarray(4, 4 + length)));
  header.files[0].name = name;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + archive.length - 4 - length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(archive.subarray(4 + length), 4 + json.length);
  return out;
}
