/**
 * File-system faults that no flag can cause, through the real tasks as subprocesses:
 *
 * - a full disk, made real with a file-size limit (`ulimit -f`, with SIGXFSZ ignored so that a
 *   write beyond it fails with EFBIG, as on a full disk it fails with ENOSPC): training stops with
 *   one line and exit code 1, keeps its last two checkpoints readable, and resumed without the
 *   limit ends byte for byte like a run that never stopped, with no temporary file left;
 * - a read-only run directory: report, export and train --resume refuse in one line (exit 2) and
 *   change nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CHECKPOINT_FILE,
  decodeCheckpoint,
  PREVIOUS_CHECKPOINT_FILE,
} from "../lib/io/checkpoint.ts";
import { fingerprint, lines, ROOT, runTask, taskCommand, type TaskOutput } from "./helpers/mod.ts";

const ARGS = [
  ...["--backend", "cpu", "--seed", "2", "--steps", "3000", "--checkpoint-every", "1000"],
  ...["--hidden", "8", "--eval-episodes", "2"],
];

/** Runs a task's `deno run` command under `prefix` (a shell with limits, setpriv), and waits. */
async function runWrapped(
  prefix: string[],
  task: "train" | "export" | "report",
  args: string[],
): Promise<TaskOutput> {
  const { flags, script } = taskCommand(task);
  const argv = [...prefix, Deno.execPath(), "run", ...flags, join(ROOT, script), ...args];
  const command = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
  const { code, signal, stdout, stderr } = await command.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, signal, stdout: decode(stdout), stderr: decode(stderr) };
}

/** `bash -c 'ulimit -f KIB; trap "" XFSZ; exec "$@"'`: files may grow to `kib` KiB, no further. */
function sizeLimit(kib: number): string[] {
  return ["bash", "-c", `ulimit -f ${kib}; trap '' XFSZ; exec "$@"`, "limited"];
}

const hasBash = await new Deno.Command("bash", { args: ["-c", "true"] }).output()
  .then((out) => out.success, () => false);

async function checkpointStep(path: string): Promise<number> {
  return decodeCheckpoint(await Deno.readFile(path), { finiteOnly: true, source: path }).header
    .step as number;
}

async function dotFiles(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

async function evalWithoutTime(dir: string) {
  const { wallTimeSeconds: _, ...rest } = JSON.parse(
    await Deno.readTextFile(join(dir, "eval.json")),
  );
  return rest;
}

Deno.test({
  name:
    "deno task train on a full disk stops with one line, keeps its last two checkpoints, and resumes to the same end with no temporary file left",
  ignore: !hasBash || Deno.build.os === "windows",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_full_disk_" });
    try {
      const reference = join(root, "reference");
      const full = await runTask("train", [...ARGS, "--out", reference]);
      assert.equal(full.code, 0, full.stderr);
      // A limit between the sizes of the last two checkpoints: the one of step 3000 cannot be
      // written (the replay buffer grows with the steps, and with it the checkpoint).
      const last = (await Deno.stat(join(reference, CHECKPOINT_FILE))).size;
      const before = (await Deno.stat(join(reference, PREVIOUS_CHECKPOINT_FILE))).size;
      const kib = Math.floor((last + before) / 2 / 1024);
      assert.ok(before < kib * 1024 && kib * 1024 < last, `${before} < ${kib} KiB < ${last}`);

      const dir = join(root, "full");
      const out = await runWrapped(sizeLimit(kib), "train", [...ARGS, "--out", dir]);
      assert.equal(out.code, 1, out.stderr);
      assert.equal(
        lines(out.stderr).at(-1),
        `error: Training stopped at step 3000: Cannot save checkpoint ${dir}/checkpoint.bin: a ` +
          "file-size limit was reached (File too large); its checkpoint of step 2000 and the one " +
          `before it are kept in ${dir} (continue with deno task train --resume --out ${dir})`,
      );
      assert.ok(!out.stderr.includes("    at "), "no stack trace");
      assert.equal(await checkpointStep(join(dir, CHECKPOINT_FILE)), 2000);
      assert.equal(await checkpointStep(join(dir, PREVIOUS_CHECKPOINT_FILE)), 1000);
      assert.deepEqual(await dotFiles(dir), [], "no temporary file, no lock left");
      await assert.rejects(Deno.stat(join(dir, "eval.json")), Deno.errors.NotFound);

      // Temporary files that writes killed half-way could leave: a successful resume removes them.
      const stale = [
        ".checkpoint.prev.bin.tmp-4242-abc-link",
        ".checkpoint.bin.tmp-4242-def",
        ".replay.json.tmp-4242-ghi",
        ".eval.json.tmp-4242-jkl",
        ".report.html.tmp-4242-mno",
      ];
      for (const name of stale) await Deno.writeTextFile(join(dir, name), "torn");
      const resumed = await runTask("train", ["--resume", "--out", dir]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`resuming ${dir} at step 2000 of 3000`));
      assert.deepEqual(await dotFiles(dir), []);
      assert.deepEqual(
        await Deno.readFile(join(dir, "metrics.jsonl")),
        await Deno.readFile(join(reference, "metrics.jsonl")),
      );
      assert.deepEqual(await evalWithoutTime(dir), await evalWithoutTime(reference));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task train on a disk full before its first checkpoint says no checkpoint was saved",
  ignore: !hasBash || Deno.build.os === "windows",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_full_disk_early_" });
    try {
      const dir = join(root, "full");
      const out = await runWrapped(sizeLimit(16), "train", [...ARGS, "--out", dir]);
      assert.equal(out.code, 1, out.stderr);
      assert.match(
        lines(out.stderr).at(-1)!,
        new RegExp(
          "^error: Training stopped at step 1000: Cannot save checkpoint .*: a file-size limit " +
            "was reached \\(File too large\\); no checkpoint was saved yet in ",
        ),
      );
      assert.deepEqual(await dotFiles(dir), []);
      await assert.rejects(Deno.stat(join(dir, CHECKPOINT_FILE)), Deno.errors.NotFound);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

/**
 * How to run a task so that a directory of mode 0555 is read-only to it: directly, or, for root
 * (whom modes do not stop), with the capabilities that override them dropped (util-linux's
 * setpriv); null when neither works.
 */
async function readOnlyPrefix(): Promise<string[] | null> {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_ro_probe_" });
  try {
    await Deno.chmod(dir, 0o555);
    const writable = await Deno.writeTextFile(join(dir, "x"), "x").then(() => true, () => false);
    if (!writable) return [];
    const caps = "-dac_override,-dac_read_search";
    const prefix = ["setpriv", `--inh-caps=${caps}`, `--bounding-set=${caps}`, "--"];
    const probe = await new Deno.Command(prefix[0], {
      args: [...prefix.slice(1), "sh", "-c", `: > ${join(dir, "y")}`],
      stderr: "null",
    }).output().catch(() => null);
    return probe !== null && !probe.success ? prefix : null;
  } finally {
    await Deno.chmod(dir, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
}

const readOnly = Deno.build.os === "windows" ? null : await readOnlyPrefix();

Deno.test({
  name:
    "deno task report, export and train --resume in a read-only run directory refuse in one line and change nothing" +
    (readOnly === null ? " (skipped: running as root without setpriv to drop the override)" : ""),
  ignore: readOnly === null,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_read_only_" });
    const dir = join(root, "run");
    try {
      const made = await runTask("train", [...ARGS.slice(0, 4), "--steps", "300", "--out", dir]);
      assert.equal(made.code, 0, made.stderr);
      await Deno.chmod(dir, 0o555);
      const before = await fingerprint(root);
      const denied = `error: Cannot write to run directory ${dir}: Permission denied`;
      for (
        const [task, args] of [
          ["report", [dir]],
          ["export", ["--run", dir]],
          ["train", ["--resume", "--out", dir]],
        ] as const
      ) {
        const out = await runWrapped(readOnly!, task, [...args]);
        assert.equal(out.code, 2, `${task}: ${out.stderr}`);
        assert.deepEqual(lines(out.stderr), [denied], task);
        assert.equal(out.stdout, "", task);
        assert.deepEqual(await fingerprint(root), before, `${task}: nothing changed`);
      }
    } finally {
      await Deno.chmod(dir, 0o755).catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});
