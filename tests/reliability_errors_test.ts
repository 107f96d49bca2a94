/**
 * The table of bad inputs of docs/errors.md, run through the real CLIs as subprocesses (with the
 * permissions deno.json grants each task): every row must end with exactly one line on stderr,
 * nothing on stdout, exit code 2, and every file of the run directory byte for byte as before.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Checkpoint,
  CHECKPOINT_FILE,
  decodeCheckpoint,
  encodeCheckpoint,
} from "../lib/io/checkpoint.ts";
import { Rng } from "../lib/io/rng.ts";
import { createCpuBackend, Dense, Sequential } from "../mod.ts";
import { exportOnnx } from "../lib/onnx/export.ts";
import { OnnxGraphBuilder } from "../lib/onnx/graph.ts";
import { decodeOnnxModel } from "../lib/onnx/onnx_proto.ts";
import { presetFor } from "../lib/run/presets.ts";
import { train } from "../lib/run/trainer.ts";
import { copyTree, fingerprint, lines, runTask, type TaskName } from "./helpers/mod.ts";

/** One row of the table: a command, how its run directory is damaged first, the message. */
interface BadInput {
  /** The CLI. */
  task: TaskName;
  /** What the user did, as docs/errors.md words it. */
  input: string;
  /** The arguments; `{run}` is a copy of a finished tiny run, `{root}` the folder holding it. */
  args: string[];
  /** Damages the copy before the command runs. */
  setup?: (run: string, root: string) => Promise<void>;
  /** The one stderr line; "…" stands for any text (sizes, byte counts, lists of names). */
  message: string;
  /** Set where the CLI is known not to fail cleanly yet: the reason (the row is skipped). */
  knownBug?: string;
}

/** A new tiny run's flags, `args` last; a flag `args` gives replaces the default one. */
function fresh(...args: string[]): string[] {
  const defaults: [string, string][] = [
    ["--backend", "cpu"],
    ["--steps", "300"],
    ["--hidden", "8"],
    ["--out", "{root}/new"],
  ];
  const named = new Set(args.map((a) => a.split("=")[0]));
  return [...defaults.filter(([flag]) => !named.has(flag)).flat(), ...args];
}
const CKPT = `{run}/${CHECKPOINT_FILE}`;

async function editCheckpoint(run: string, edit: (c: Checkpoint) => void): Promise<void> {
  const path = join(run, CHECKPOINT_FILE);
  const checkpoint = decodeCheckpoint(await Deno.readFile(path));
  edit(checkpoint);
  await Deno.writeFile(path, encodeCheckpoint(checkpoint));
}

async function editBytes(run: string, edit: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  const path = join(run, CHECKPOINT_FILE);
  await Deno.writeFile(path, edit(await Deno.readFile(path)));
}

function arrayNamed(checkpoint: Checkpoint, name: string) {
  const array = checkpoint.arrays.find((a) => a.name === name);
  if (!array) throw new Error(`the fixture checkpoint has no ${name}`);
  return array;
}

/** Damage done to a run's checkpoint, shared by the --resume and eval rows. */
const DAMAGE: {
  what: string;
  setup: (run: string) => Promise<void>;
  message: string;
  knownBug?: string;
}[] = [
  {
    what: "checkpoint.bin truncated to half",
    setup: (run) => editBytes(run, (b) => b.slice(0, b.length >> 1)),
    message: `Cannot read checkpoint ${CKPT}: truncated: …`,
  },
  {
    what: "checkpoint.bin replaced by random bytes",
    setup: (run) =>
      editBytes(run, (b) => {
        const rng = new Rng(7);
        return b.map(() => rng.int(256));
      }),
    message: `Cannot read checkpoint ${CKPT}: not an rnnrl checkpoint (wrong magic bytes)`,
  },
  {
    what: "checkpoint.bin with one byte flipped",
    setup: (run) =>
      editBytes(run, (b) => {
        b[b.length >> 1] ^= 0x10;
        return b;
      }),
    message: `Cannot read checkpoint ${CKPT}: checksum mismatch …`,
  },
  {
    what: "checkpoint.bin of format version 2",
    setup: (run) =>
      editBytes(run, (b) => {
        new DataView(b.buffer).setUint32(8, 2, true);
        return b;
      }),
    message:
      `Cannot read checkpoint ${CKPT}: unsupported format version 2 (this build reads version 1)`,
  },
  {
    what: "checkpoint.bin whose weights have another size than the model's",
    setup: (run) =>
      editCheckpoint(run, (c) => {
        const w = arrayNamed(c, "online.layers.0.w");
        w.shape = [4, 4];
        w.data = new Float32Array(16);
      }),
    message: 'Cannot restore the agent: "online.layers.0.w" has 16 values, expected 32 ' +
      `(in ${CKPT})`,
  },
  {
    what: "checkpoint.bin whose weights have the model's size but another shape",
    setup: (run) =>
      editCheckpoint(run, (c) => void (arrayNamed(c, "online.layers.0.w").shape = [8, 4])),
    message: 'Cannot restore the agent: "online.layers.0.w" has shape [8,4], expected [4,8] …',
  },
  {
    what: "checkpoint.bin holding NaN weights",
    setup: (run) =>
      editCheckpoint(run, (c) => void (arrayNamed(c, "online.layers.0.w").data[3] = NaN)),
    message: `Cannot read checkpoint ${CKPT}: array "online.layers.0.w" holds NaN at index 3`,
  },
  {
    what: "checkpoint.bin holding an infinite Adam moment",
    setup: (run) =>
      editCheckpoint(run, (c) => void (arrayNamed(c, "adam.layers.1.b.v").data[0] = Infinity)),
    message: `Cannot read checkpoint ${CKPT}: array "adam.layers.1.b.v" holds Infinity at index 0`,
  },
  {
    what: "no checkpoint.bin (killed before its first checkpoint)",
    setup: (run) => Deno.remove(join(run, CHECKPOINT_FILE)),
    message:
      "Cannot use run directory {run}: it has no checkpoint.bin (no checkpoint was saved yet)",
  },
  {
    what: "config.json that is not JSON",
    setup: (run) => Deno.writeTextFile(join(run, "config.json"), "{"),
    message: "Cannot read {run}/config.json: invalid JSON …",
  },
];

/** Edits the run's config.json, as a user might. */
async function editConfig(run: string, edit: (config: Record<string, unknown>) => void) {
  const path = join(run, "config.json");
  const config = JSON.parse(await Deno.readTextFile(path));
  edit(config);
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2) + "\n");
}

/** Puts a symbolic link to a file of the user's ({root}/mine.txt) in place of a run's file. */
async function linkToUsersFile(run: string, root: string, file: string): Promise<void> {
  await Deno.writeTextFile(join(root, "mine.txt"), "the user's own file\n");
  await Deno.remove(join(run, file)).catch(() => {});
  await Deno.symlink(join(root, "mine.txt"), join(run, file));
}

const LINK = "it is a symbolic link (rnnrl never writes through a link or replaces one)";
/** A path component longer than any file system allows (255 bytes). */
const LONG = "n".repeat(300);

async function editPolicy(run: string, edit: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  const path = join(run, "policy.onnx");
  await Deno.writeFile(path, edit(await Deno.readFile(path)));
}

/** Flips one bit inside the largest weight tensor of policy.onnx, where protobuf still decodes. */
function flipWeightBit(bytes: Uint8Array): Uint8Array {
  const model = decodeOnnxModel(bytes);
  const largest =
    [...model.graph!.initializer!].sort((a, b) =>
      (b.rawData?.length ?? 0) - (a.rawData?.length ?? 0)
    )[0];
  const raw = largest.rawData!;
  for (let at = 0; at + raw.length <= bytes.length; at++) {
    if (raw.every((b, i) => bytes[at + i] === b)) {
      bytes[at + (raw.length >> 1)] ^= 1;
      return bytes;
    }
  }
  throw new Error("the weights are not in the file");
}

/** A model with rnnrl's input and output names, exported without saying where it came from. */
async function unsourcedPolicy(): Promise<Uint8Array> {
  const model = new Sequential(createCpuBackend(), {
    inputSize: 4,
    layers: [new Dense({ units: 2 })],
    seed: 3,
  });
  return await exportOnnx(model, { output: "q-values" });
}

/** A valid ONNX model that is not a policy: one Relu from "x" to "y". */
function foreignModel(): Uint8Array {
  const g = new OnnxGraphBuilder();
  g.addOutput(g.relu(g.addInput("x", ["batch", 4]), { output: "y" }), ["batch", 4]);
  return g.encodeModel();
}

const makeNotRun = (_run: string, root: string) =>
  Deno.mkdir(join(root, "notrun")).then(() => Deno.writeTextFile(join(root, "notrun/x.txt"), "x"));

/** Edits of config.json, with the line --resume and eval give (the same unless `resume`). */
const CONFIG_EDITS: {
  what: string;
  setup: (run: string) => Promise<void>;
  message: string;
  resume?: string;
}[] = [
  ...([
    ["checkpointEvery", 0, "a positive integer"],
    ["checkpointEvery", -100, "a positive integer"],
    ["steps", -300, "a positive integer"],
    ["steps", 300.5, "a positive integer"],
    ["evalEpisodes", 0, "a positive integer"],
    ["evalSeed", -1, "an integer in [0, 4294967295]"],
  ] as const).map(([key, value, expected]) => ({
    what: `config.json has ${key} ${value}`,
    setup: (run: string) => editConfig(run, (c) => void (c[key] = value)),
    message: `Cannot load {run}: its config.json has "${key}" ${value}, expected ${expected}`,
  })),
  {
    what: "config.json has an environment option cartpole does not take",
    setup: (run) => editConfig(run, (c) => void (c.envOptions = { width: 5 })),
    message: 'Cannot load {run}: its config.json has "envOptions" {"width":5}, but cartpole has ' +
      'no option "width"',
  },
  {
    what: "config.json has other agent options than its checkpoint",
    setup: (run) =>
      editConfig(run, (c) => void ((c.agent as Record<string, unknown>).learningRate = 0.5)),
    message: "Cannot load {run}: its checkpoint was written for another configuration " +
      "(config.json was changed after training)",
    resume: "Cannot resume {run}: its checkpoint was written for another configuration",
  },
  {
    what: "config.json is not rnnrl's",
    setup: (run) => Deno.writeTextFile(join(run, "config.json"), '{"name": "my-app"}\n'),
    message: 'Cannot load {run}: its config.json has no "env"',
  },
  {
    what: "config.json names an unknown environment",
    setup: (run) => editConfig(run, (c) => void (c.env = "pong")),
    message: 'Cannot load {run}: its config.json has "env" "pong", expected one of cartpole, …',
  },
];

/** The table; docs/errors.md lists the same rows. */
const BAD_INPUTS: BadInput[] = [
  // deno task train: flags.
  {
    task: "train",
    input: "unknown flag",
    args: fresh("--stepz", "300"),
    message: "unknown flag --stepz (did you mean --steps? valid: --env, …",
  },
  {
    task: "train",
    input: "flag without its value",
    args: fresh("--seed"),
    message: "--seed needs a value",
  },
  {
    task: "train",
    input: "not a number",
    args: fresh("--steps", "abc"),
    message: '--steps must be a positive integer, got "abc"',
  },
  {
    task: "train",
    input: "not an integer",
    args: fresh("--batch-size", "1.5"),
    message: '--batch-size must be a positive integer, got "1.5"',
  },
  {
    task: "train",
    input: "zero where positive",
    args: fresh("--steps", "0"),
    message: '--steps must be a positive integer, got "0"',
  },
  {
    task: "train",
    input: "negative where positive",
    args: fresh("--checkpoint-every=-5"),
    message: '--checkpoint-every must be a positive integer, got "-5"',
  },
  {
    task: "train",
    input: "negative value written as a separate word",
    args: fresh("--seed", "-1"),
    message: '--seed needs a value (write --seed=-1 for a value that starts with "-")',
  },
  {
    task: "train",
    input: "learning rate zero",
    args: fresh("--learning-rate", "0"),
    message: '--learning-rate must be a positive number, got "0"',
  },
  {
    task: "train",
    input: "learning rate NaN",
    args: fresh("--learning-rate", "NaN"),
    message: '--learning-rate must be a positive number, got "NaN"',
  },
  {
    task: "train",
    input: "gamma above 1",
    args: fresh("--gamma", "1.5"),
    message: '--gamma must be a number in [0, 1], got "1.5"',
  },
  {
    task: "train",
    input: "gamma below 0",
    args: fresh("--gamma=-0.1"),
    message: '--gamma must be a number in [0, 1], got "-0.1"',
  },
  {
    task: "train",
    input: "hidden size zero",
    args: fresh("--hidden", "8,0"),
    message: '--hidden must be positive integers separated by commas, got "8,0"',
  },
  {
    task: "train",
    input: "seed beyond 2^32 - 1",
    args: fresh("--seed", "4294967296"),
    message: '--seed must be an integer in [0, 4294967295], got "4294967296"',
  },
  {
    task: "train",
    input: "unknown environment",
    args: fresh("--env", "pong"),
    message: '--env must be one of cartpole, cartpole-masked, …; got "pong"',
  },
  {
    task: "train",
    input: "unknown algorithm",
    args: fresh("--algo", "sac"),
    message: '--algo must be one of dqn, …; got "sac"',
  },
  {
    task: "train",
    input: "unknown backend",
    args: fresh("--backend", "tpu"),
    message: '--backend must be one of auto, cpu, webgpu; got "tpu"',
  },
  {
    task: "train",
    input: "a stray argument",
    args: fresh("300"),
    message: 'unexpected argument "300" (deno task train takes only flags)',
  },
  {
    task: "train",
    input: "a flag the environment does not have: --width for cartpole",
    args: fresh("--width", "5"),
    message: "--width does not apply to --env cartpole (only to minesweeper, minesweeper-memory)",
  },
  {
    task: "train",
    input: "a flag the environment does not have: --difficulty for minesweeper",
    args: fresh("--env", "minesweeper", "--difficulty", "easy"),
    message: "--difficulty does not apply to --env minesweeper (only to minesweeper-memory)",
  },
  {
    task: "train",
    input: "a network the preset lacks: --network cnn for cartpole",
    args: fresh("--network", "cnn"),
    message: "--network cnn is not offered for dqn on cartpole; offered: mlp",
  },
  {
    task: "train",
    input: "--hidden in hexadecimal",
    args: fresh("--hidden", "0x10"),
    message: '--hidden must be positive integers separated by commas, got "0x10"',
  },
  {
    task: "train",
    input: "--hidden with a space",
    args: fresh("--hidden", " 8"),
    message: '--hidden must be positive integers separated by commas, got " 8"',
  },
  {
    task: "train",
    input: "--hidden with an empty size",
    args: fresh("--hidden", "8,,8"),
    message: '--hidden must be positive integers separated by commas, got "8,,8"',
  },
  {
    task: "train",
    input: "--out with a name longer than the file system allows",
    args: fresh("--out", `{root}/${LONG}/run`),
    message: `Cannot create run directory {root}/${LONG}/run: File name too long`,
  },
  // deno task train: run directories.
  {
    task: "train",
    input: "--resume without --out",
    args: ["--resume"],
    message: "--resume needs --out, the run directory to continue",
  },
  {
    task: "train",
    input: "--resume of a missing directory",
    args: ["--resume", "--out", "{root}/missing"],
    message: "Cannot open run directory {root}/missing: it does not exist",
  },
  {
    task: "train",
    input: "--resume of a directory that is not a run",
    args: ["--resume", "--out", "{root}/notrun"],
    setup: makeNotRun,
    message: "Cannot open run directory {root}/notrun: it has no config.json",
  },
  {
    task: "train",
    input: "--resume with another --seed",
    args: ["--resume", "--out", "{run}", "--seed", "1"],
    message: "Cannot resume {run}: it was started with seed 0, not 1",
  },
  {
    task: "train",
    input: "--resume with other --hidden sizes",
    args: ["--resume", "--out", "{run}", "--hidden", "16"],
    message: 'Cannot resume {run}: it was started with agent {"batchSize":64,…',
  },
  {
    task: "train",
    input: "--resume from a checkpoint of another configuration",
    args: ["--resume", "--out", "{run}"],
    setup: (run) => editCheckpoint(run, (c) => void (c.header.configHash = "0".repeat(64))),
    message: "Cannot resume {run}: its checkpoint was written for another configuration",
  },
  {
    task: "train",
    input: "--resume with metrics.jsonl shorter than the checkpoint says",
    args: ["--resume", "--out", "{run}"],
    setup: (run) => Deno.writeTextFile(join(run, "metrics.jsonl"), ""),
    message: "Cannot resume {run}/metrics.jsonl: it holds 0 bytes, fewer than the …",
  },
  {
    task: "train",
    input: "--out an existing run, without --resume (default backend)",
    args: ["--steps", "300", "--out", "{run}"],
    message: "Cannot create run directory {run}: it exists and is not empty " +
      "(pass --resume to continue that run, or choose another --out)",
  },
  {
    task: "train",
    input: "--out a non-empty directory that is not a run",
    args: fresh("--out", "{root}/notrun"),
    setup: makeNotRun,
    message: "Cannot create run directory {root}/notrun: it exists and is not empty " +
      "(choose another --out)",
  },
  {
    task: "train",
    input: "--out a file",
    args: fresh("--out", "{run}/config.json"),
    message: "Cannot create run directory {run}/config.json: a file of that name exists",
  },
  {
    task: "train",
    input: "--resume with a flag the run's environment does not have",
    args: ["--resume", "--out", "{run}", "--mines", "3"],
    message: "--mines does not apply to --env cartpole (only to minesweeper, minesweeper-memory)",
  },
  {
    task: "train",
    input: "--resume of a directory whose name is too long",
    args: ["--resume", "--out", `{root}/${LONG}`],
    message: `Cannot open run directory {root}/${LONG}: File name too long`,
  },
  // Saved work is never restarted over.
  {
    task: "train",
    input: "--resume with checkpoint.bin deleted and checkpoint.prev.bin there",
    args: ["--resume", "--out", "{run}"],
    setup: (run) => Deno.remove(join(run, CHECKPOINT_FILE)),
    message: "Cannot resume {run}: it has no checkpoint.bin but has checkpoint.prev.bin, the " +
      "checkpoint before it (copy that to checkpoint.bin to resume from there)",
  },
  {
    task: "train",
    input: "--resume with both checkpoints deleted and eval.json there",
    args: ["--resume", "--out", "{run}"],
    setup: async (run) => {
      await Deno.remove(join(run, CHECKPOINT_FILE));
      await Deno.remove(join(run, "checkpoint.prev.bin"));
    },
    message: "Cannot resume {run}: it has no checkpoint.bin, yet it holds eval.json of a run " +
      "that went further; starting again from step 0 would overwrite it (train into another --out)",
  },
  // Nothing is written through a link.
  ...["metrics.jsonl", "eval.json", "report.html", "replay.json", "checkpoint.prev.bin"].map((
    file,
  ) => ({
    task: "train" as const,
    input: `--resume with ${file} a symbolic link to a file of the user's`,
    args: ["--resume", "--out", "{run}"],
    setup: (run: string, root: string) => linkToUsersFile(run, root, file),
    message: `Cannot write {run}/${file}: ${LINK}`,
  })),
  {
    task: "train",
    input: "--resume with the lock file a symbolic link to a file of the user's",
    args: ["--resume", "--out", "{run}"],
    setup: (run, root) => linkToUsersFile(run, root, ".lock"),
    message: `Cannot write {run}/.lock: ${LINK}`,
  },
  // A damaged metrics log is refused before it is cut.
  {
    task: "train",
    input: "--resume with a damaged line in metrics.jsonl",
    args: ["--resume", "--out", "{run}"],
    setup: async (run) => {
      const path = join(run, "metrics.jsonl");
      const lines = (await Deno.readTextFile(path)).split("\n");
      lines[1] = "#".repeat(lines[1].length);
      await Deno.writeTextFile(path, lines.join("\n"));
    },
    message: "Cannot resume {run}/metrics.jsonl: line 2 is not valid JSON",
  },
  {
    task: "train",
    input: "--resume with bytes of metrics.jsonl that are not UTF-8",
    args: ["--resume", "--out", "{run}"],
    setup: async (run) => {
      const path = join(run, "metrics.jsonl");
      const bytes = await Deno.readFile(path);
      bytes[10] = 0xff;
      await Deno.writeFile(path, bytes);
    },
    message: "Cannot resume {run}/metrics.jsonl: it is not valid UTF-8",
  },
  {
    task: "train",
    input: "--resume with metrics.jsonl deleted",
    args: ["--resume", "--out", "{run}"],
    setup: (run) => Deno.remove(join(run, "metrics.jsonl")),
    message: "Cannot resume {run}/metrics.jsonl: it does not exist, but the checkpoint recorded " +
      "… bytes of it",
  },
  {
    task: "train",
    input: "--resume with a directory in place of metrics.jsonl",
    args: ["--resume", "--out", "{run}"],
    setup: async (run) => {
      await Deno.remove(join(run, "metrics.jsonl"));
      await Deno.mkdir(join(run, "metrics.jsonl"));
    },
    message: "Cannot write {run}/metrics.jsonl: it is a directory",
  },
  // (A run without any checkpoint is not damage for --resume: it starts again, tested below.)
  ...DAMAGE.filter((d) => !d.what.startsWith("no checkpoint")).map((d) => ({
    task: "train" as const,
    input: `--resume from a run with ${d.what}`,
    args: ["--resume", "--out", "{run}"],
    setup: d.setup,
    message: d.message,
    knownBug: d.knownBug,
  })),
  // A config.json edited by hand is checked before anything is written (--resume and eval alike).
  ...CONFIG_EDITS.flatMap((edit) => [
    {
      task: "train" as const,
      input: `--resume of a run whose ${edit.what}`,
      args: ["--resume", "--out", "{run}"],
      setup: edit.setup,
      message: edit.resume ?? edit.message,
    },
    {
      task: "eval" as const,
      input: `--run of a run whose ${edit.what}`,
      args: ["--run", "{run}", "--episodes", "1"],
      setup: edit.setup,
      message: edit.message,
    },
  ]),
  // deno task eval.
  { task: "eval", input: "no flags", args: [], message: "--env (or --run) is required" },
  {
    task: "eval",
    input: "--episodes 0",
    args: ["--run", "{run}", "--episodes", "0"],
    message: '--episodes must be a positive integer, got "0"',
  },
  {
    task: "eval",
    input: "--run with --env",
    args: ["--run", "{run}", "--env", "cartpole"],
    message: "--env does not apply with --run: the run fixes it",
  },
  {
    task: "eval",
    input: "--env without --agent",
    args: ["--env", "cartpole"],
    message: "--agent is required with --env",
  },
  {
    task: "eval",
    input: "the solver on CartPole",
    args: ["--env", "cartpole", "--agent", "solver"],
    message: 'Cannot run the solver on "cartpole": it plays "minesweeper" only',
  },
  {
    task: "eval",
    input: "--run of a missing directory",
    args: ["--run", "{root}/missing"],
    message: "Cannot open run directory {root}/missing: it does not exist",
  },
  {
    task: "eval",
    input: "--run of a directory that is not a run",
    args: ["--run", "{root}/notrun"],
    setup: makeNotRun,
    message: "Cannot open run directory {root}/notrun: it has no config.json",
  },
  {
    task: "eval",
    input: "--run of a run whose config.json lacks a field",
    args: ["--run", "{run}"],
    setup: async (run) => {
      const path = join(run, "config.json");
      const config = JSON.parse(await Deno.readTextFile(path));
      delete config.seed;
      await Deno.writeTextFile(path, JSON.stringify(config));
    },
    message: 'Cannot load {run}: its config.json has no "seed"',
  },
  ...DAMAGE.map((d) => ({
    task: "eval" as const,
    input: `--run of a run with ${d.what}`,
    args: ["--run", "{run}", "--episodes", "1"],
    setup: d.setup,
    message: d.message,
    knownBug: d.knownBug,
  })),
  {
    task: "eval",
    input: "a flag the environment does not have, for a baseline",
    args: ["--env", "cartpole", "--agent", "random", "--width", "5"],
    message: "--width does not apply to --env cartpole (only to minesweeper, minesweeper-memory)",
  },
  {
    task: "eval",
    input: "--run of a directory whose name is too long",
    args: ["--run", `{root}/${LONG}`],
    message: `Cannot open run directory {root}/${LONG}: File name too long`,
  },
  // eval --onnx plays only the run's current, intact policy.onnx.
  ...([
    [
      "from an older checkpoint (the run went on after the export)",
      (run: string) => Deno.copyFile(join(run, "checkpoint.prev.bin"), join(run, CHECKPOINT_FILE)),
      "Cannot play {run}/policy.onnx: it was exported from the checkpoint of step 300, but the " +
      "run's checkpoint is now of step 200; export it again with deno task export",
    ],
    [
      "copied from another run",
      (run: string) =>
        Deno.copyFile(join(fixture!.root, "other", "policy.onnx"), join(run, "policy.onnx")),
      "Cannot play {run}/policy.onnx: it was exported from another run (run …), not this one " +
      "(run …); export it again with deno task export",
    ],
    [
      "exported without saying where it came from",
      async (run: string) => Deno.writeFile(join(run, "policy.onnx"), await unsourcedPolicy()),
      "Cannot play {run}/policy.onnx: it does not say which run and checkpoint it was exported " +
      "from (not exported by deno task export); export it again with deno task export",
    ],
    [
      "with one bit of its weights flipped",
      (run: string) => editPolicy(run, flipWeightBit),
      "Cannot load {run}/policy.onnx: its checksum does not match its bytes (the file is damaged, " +
      "or was changed after rnnrl wrote it); export it again with deno task export --run {run}",
    ],
    [
      "truncated to half",
      (run: string) => editPolicy(run, (b) => b.slice(0, b.length >> 1)),
      "Cannot load {run}/policy.onnx: it is not a valid ONNX file (…); export it again with " +
      "deno task export --run {run}",
    ],
    [
      "replaced by random bytes",
      (run: string) =>
        editPolicy(run, (b) => {
          const rng = new Rng(11);
          return b.map(() => rng.int(256));
        }),
      "Cannot load {run}/policy.onnx: it is not a valid ONNX file (…); export it again with " +
      "deno task export --run {run}",
    ],
    [
      "empty",
      (run: string) => Deno.writeFile(join(run, "policy.onnx"), new Uint8Array(0)),
      'Cannot load {run}/policy.onnx: expected an input "observation" and an output "output", ' +
      "got inputs [] and outputs []; export it again with deno task export --run {run}",
    ],
    [
      "a model that is not a policy",
      (run: string) => Deno.writeFile(join(run, "policy.onnx"), foreignModel()),
      'Cannot load {run}/policy.onnx: expected an input "observation" and an output "output", ' +
      "got inputs [x] and outputs [y]; export it again with deno task export --run {run}",
    ],
    [
      "a directory",
      async (run: string) => {
        await Deno.remove(join(run, "policy.onnx"));
        await Deno.mkdir(join(run, "policy.onnx"));
      },
      "Cannot read {run}/policy.onnx: it is a directory",
    ],
  ] as const).map(([what, setup, message]) => ({
    task: "eval" as const,
    input: `--run --onnx with a policy.onnx ${what}`,
    args: ["--run", "{run}", "--onnx", "--episodes", "1"],
    setup,
    message,
  })),
  // deno task export.
  { task: "export", input: "no --run", args: [], message: "--run is required" },
  {
    task: "export",
    input: "--run of a missing directory",
    args: ["--run", "{root}/missing"],
    message: "Cannot open run directory {root}/missing: it does not exist",
  },
  {
    task: "export",
    input: "--run of a run with checkpoint.bin truncated to half",
    args: ["--run", "{run}"],
    setup: DAMAGE[0].setup,
    message: DAMAGE[0].message,
  },
  {
    task: "export",
    input: "--run of a DQN run with a dueling head (no single policy network)",
    args: ["--run", "{root}/dueling"],
    setup: (_run, root) => copyTree(duelingRun(), join(root, "dueling")),
    message: "Cannot export the dqn agent: it has no single network whose output's argmax is " +
      "the action",
  },
  {
    task: "export",
    input: "--run with policy.onnx a symbolic link to a file of the user's",
    args: ["--run", "{run}"],
    setup: (run, root) => linkToUsersFile(run, root, "policy.onnx"),
    message: `Cannot write {run}/policy.onnx: ${LINK}`,
  },
  {
    task: "export",
    input: "--run --web with web/ a symbolic link to a folder of the user's",
    args: ["--run", "{run}", "--web"],
    setup: async (run, root) => {
      await Deno.mkdir(join(root, "mine"));
      await Deno.symlink(join(root, "mine"), join(run, "web"));
    },
    message: "Cannot write web player: {run}/web is a symbolic link",
  },
  {
    task: "export",
    input: "--run of a directory whose name is too long",
    args: ["--run", `{root}/${LONG}`],
    message: `Cannot open run directory {root}/${LONG}: File name too long`,
  },
  // deno task report.
  {
    task: "report",
    input: "a missing run directory",
    args: ["{root}/missing"],
    message: "error: Cannot read run: {root}/missing does not exist",
  },
  {
    task: "report",
    input: "--window 0",
    args: ["{run}", "--window", "0"],
    message: 'error: --window must be a positive integer, got "0"',
  },
  {
    task: "report",
    input: "a file instead of a run directory",
    args: ["{run}/config.json"],
    message: "error: Cannot read run: {run}/config.json is not a directory",
  },
  {
    task: "report",
    input: "a run directory whose name is too long",
    args: [`{root}/${LONG}`],
    message: `error: Cannot read {root}/${LONG}/config.json: File name too long`,
  },
  {
    task: "report",
    input: "a run whose report.html is a symbolic link to a file of the user's",
    args: ["{run}"],
    setup: (run, root) => linkToUsersFile(run, root, "report.html"),
    message: `error: Cannot write {run}/report.html: ${LINK}`,
  },
  {
    task: "report",
    input: "--out a symbolic link to a file of the user's",
    args: ["{run}", "--out", "{root}/out.html"],
    setup: async (_run, root) => {
      await Deno.writeTextFile(join(root, "mine.txt"), "the user's own file\n");
      await Deno.symlink(join(root, "mine.txt"), join(root, "out.html"));
    },
    message: `error: Cannot write {root}/out.html: ${LINK}`,
  },
  // deno task bandit-testbed.
  {
    task: "bandit-testbed",
    input: "--runs 0",
    args: ["--runs", "0", "--out", "{root}/testbed"],
    message: '--runs must be an integer in [1, 1000000], got "0"',
  },
  {
    task: "bandit-testbed",
    input: "no --out",
    args: ["--runs", "10"],
    message: "--out is required",
  },
  {
    task: "bandit-testbed",
    input: "--out with a name longer than the file system allows",
    args: ["--runs", "10", "--out", `{root}/${LONG}/testbed`],
    message: `Cannot write {root}/${LONG}/testbed/testbed.json: File name too long`,
  },
  // deno task benchmark.
  ...([
    [
      "--suite tiny",
      'error: --suite must be one of easy, medium, hard, popgym-easy, memory; got "tiny"',
    ],
    ["--cells none,rnn", '--cells: "rnn" is not one of lstm, gru, none; separate them by commas'],
    ["--algos dqn", '--algos: "dqn" is not one of ppo, a2c, reinforce; separate them by commas'],
    ["--envs cartpole", '--envs: "cartpole" is not a benchmark environment (…'],
    ["--seeds 0.5", '--seeds must be integers in [0, 4294967295] separated by commas, got "0.5"'],
    ["--jobs 0", '--jobs must be a positive integer, got "0"'],
  ] as const).map(([input, message]): BadInput => ({
    task: "benchmark",
    input,
    args: [...input.split(" "), "--out", "{root}/bench"],
    message: message.replace(/^error: /, ""),
  })),
  // deno task sweep: a grid is checked in deno task train's words before anything trains.
  ...([
    [
      "--grid learning-rate=fast",
      '--grid learning-rate=fast: --learning-rate must be a positive number, got "fast"',
    ],
    ["--grid nosuch=1", "--grid nosuch=1: unknown flag --nosuch (valid: …"],
    [
      "--grid learning-rate",
      '--grid must be FLAG=V1,V2,... (a deno task train flag), got "learning-rate"',
    ],
    ["--grid env=cartpole", "--grid env=cartpole: --env is set by the sweep itself, not by a grid"],
    ["--grid hidden=8,8", "--grid hidden=8,8 names 8 twice"],
    [
      "--seeds 3-1",
      '--seeds must be seeds in [0, 4294967295] or ranges like 1-10, separated by commas, got "3-1"',
    ],
    ["--workers 0", '--workers must be a positive integer, got "0"'],
    [
      "--queue http://127.0.0.1:4222",
      '--queue must be nats://HOST:PORT, got "http://127.0.0.1:4222"',
    ],
    [
      "--queue nats://127.0.0.1:1 --workers 2",
      "--workers counts the runs trained here; with --queue the deno task worker processes " +
      "train them",
    ],
    ["--redeliver-after 5", "--redeliver-after needs --queue: it is the work queue's wait"],
    [
      "--queue nats://127.0.0.1:1",
      "Cannot reach the work queue at nats://127.0.0.1:1: connection refused",
    ],
  ] as const).map(([input, message]): BadInput => ({
    task: "sweep",
    input,
    args: ["--steps", "300", ...input.split(" "), "--out", "{root}/sweep"],
    message,
  })),
  // deno task worker: its queue is checked, and reached, before it makes its scratch directory.
  ...([
    ["", "deno task worker needs --queue nats://HOST:PORT, the sweep's queue"],
    ["--queue 127.0.0.1:4222", '--queue must be nats://HOST:PORT, got "127.0.0.1:4222"'],
    [
      "--queue nats://127.0.0.1:1",
      "Cannot reach the work queue at nats://127.0.0.1:1: connection refused",
    ],
    [
      "--queue nats://127.0.0.1:1 --name a/b",
      '--name must be 1 to 64 letters, digits or ._- , got "a/b"',
    ],
  ] as const).map(([input, message]): BadInput => ({
    task: "worker",
    input: input || "no flags",
    args: [...(input ? input.split(" ") : []), "--work-dir", "{root}/worker"],
    message,
  })),
];

let fixture: { root: string; run: string; dueling: string } | undefined;
const duelingRun = () => fixture!.dueling;

/** Trains the tiny runs every row copies: DQN on CartPole, 300 steps, checkpoints every 100. */
async function makeFixture(): Promise<{ root: string; run: string; dueling: string }> {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_errors_" });
  const run = join(root, "run");
  const made = await runTask("train", [
    ...["--backend", "cpu", "--steps", "300", "--hidden", "8", "--checkpoint-every", "100"],
    ...["--eval-episodes", "2", "--out", run],
  ]);
  assert.equal(made.code, 0, made.stderr);
  // Another run (another seed) with its policy, for the rows that copy it into the fixture run.
  const other = join(root, "other");
  const otherMade = await runTask("train", [
    ...["--backend", "cpu", "--steps", "300", "--hidden", "8", "--checkpoint-every", "100"],
    ...["--eval-episodes", "2", "--seed", "1", "--out", other],
  ]);
  assert.equal(otherMade.code, 0, otherMade.stderr);
  for (const dir of [run, other]) {
    const exported = await runTask("export", ["--run", dir]);
    assert.equal(exported.code, 0, exported.stderr);
  }
  const preset = presetFor("cartpole", "dqn");
  const dueling = join(root, "dueling");
  await train({
    env: "cartpole",
    algo: "dqn",
    seed: 0,
    steps: 300,
    backend: "cpu",
    envOptions: {},
    agent: { ...preset.options, hiddenSizes: [8], dueling: true },
    checkpointEvery: 300,
    evalEpisodes: 2,
    evalSeed: 1000,
  }, { out: dueling, log: () => {} });
  return { root, run, dueling };
}

/** Checks `line` against `pattern`, where each "…" matches any text. */
function assertMatches(line: string, pattern: string): void {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const regex = new RegExp(`^${pattern.split("…").map(escape).join(".*")}$`);
  assert.ok(regex.test(line), `stderr line\n  ${line}\ndoes not match\n  ${pattern}`);
}

function fill(text: string, root: string): string {
  return text.replaceAll("{run}", join(root, "run")).replaceAll("{root}", root);
}

Deno.test("deno tasks refuse each bad input of docs/errors.md with one line, exit code 2, and no file changed", async (t) => {
  fixture = await makeFixture();
  try {
    for (const row of BAD_INPUTS) {
      await t.step({
        name: `deno task ${row.task}: ${row.input}` +
          (row.knownBug === undefined ? "" : ` (skipped, known bug: ${row.knownBug})`),
        ignore: row.knownBug !== undefined,
        fn: async () => {
          const root = await Deno.makeTempDir({ prefix: "rnnrl_bad_input_" });
          try {
            await copyTree(fixture!.run, join(root, "run"));
            await row.setup?.(join(root, "run"), root);
            const before = await fingerprint(root);
            const out = await runTask(row.task, row.args.map((a) => fill(a, root)));
            const stderr = lines(out.stderr);
            const expected = "error: " + fill(row.message, root);
            const wanted = row.task === "report" ? expected.slice("error: ".length) : expected;
            assert.equal(stderr.length, 1, `one line on stderr, got:\n${out.stderr}`);
            assertMatches(stderr[0], wanted);
            assert.equal(out.code, 2, "exit code");
            assert.equal(out.stdout, "", "nothing on stdout");
            assert.deepEqual(await fingerprint(root), before, "every file as it was");
          } finally {
            await Deno.remove(root, { recursive: true });
          }
        },
      });
    }
  } finally {
    await Deno.remove(fixture.root, { recursive: true });
  }
});

Deno.test("deno task eval of the intact fixture run succeeds, so the table's failures are the damage", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_errors_ok_" });
  try {
    const run = join(root, "run");
    const made = await runTask("train", [
      ...["--backend", "cpu", "--steps", "300", "--hidden", "8", "--checkpoint-every", "100"],
      ...["--eval-episodes", "2", "--out", run],
    ]);
    assert.equal(made.code, 0, made.stderr);
    const out = await runTask("eval", ["--run", run, "--episodes", "2"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, "");
    const result = JSON.parse(out.stdout);
    assert.equal(result.episodes, 2);
    assert.equal(result.seed, 1000);
    const resumed = await runTask("train", ["--resume", "--out", run]);
    assert.equal(resumed.code, 0, resumed.stderr);

    // A run killed before its first checkpoint left config.json and some metrics: --resume
    // starts it again from step 0 and it ends as the uninterrupted run did.
    const early = join(root, "early");
    await Deno.mkdir(early);
    await Deno.copyFile(join(run, "config.json"), join(early, "config.json"));
    const metrics = await Deno.readTextFile(join(run, "metrics.jsonl"));
    await Deno.writeTextFile(join(early, "metrics.jsonl"), metrics.slice(0, 200));
    const restarted = await runTask("train", ["--resume", "--out", early]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stderr, /no checkpoint was saved yet, so it starts again from step 0/);
    assert.equal(await Deno.readTextFile(join(early, "metrics.jsonl")), metrics);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
