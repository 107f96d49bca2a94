import assert from "node:assert/strict";
import { join } from "node:path";
import {
  defineCli,
  fromUserInput,
  HelpRequest,
  helpText,
  parseCli,
  runCli,
} from "../lib/io/cli.ts";
import { CheckpointError, RunDirError, UsageError } from "../lib/io/errors.ts";

const TRAIN = defineCli({
  name: "deno task train",
  summary: "Trains an agent and writes a run directory.",
  flags: {
    env: {
      type: "choice",
      choices: ["cartpole", "cartpole-masked", "bandit", "minesweeper"],
      default: "cartpole",
      description: "The environment",
    },
    algo: {
      type: "choice",
      choices: ["dqn", "drqn", "a2c"],
      required: true,
      description: "The agent",
    },
    steps: { type: "integer", min: 1, default: 100000, description: "Environment steps" },
    seed: { type: "integer", min: 0, max: 4294967295, default: 0, description: "The seed" },
    epsilon: { type: "number", min: 0, max: 1, default: 0.1, description: "Exploration rate" },
    gamma: {
      type: "number",
      min: 0,
      max: 1,
      maxExclusive: true,
      default: 0.99,
      description: "Discount",
    },
    "learning-rate": {
      type: "number",
      min: 0,
      minExclusive: true,
      default: 0.001,
      description: "Adam's step size",
    },
    out: { type: "string", placeholder: "dir", description: "The run directory" },
    resume: { type: "boolean", description: "Continue the run in --out" },
  },
});

const REPORT = defineCli({
  name: "deno task report",
  summary: "Writes an HTML report of runs.",
  flags: { out: { type: "string", description: "The HTML file" } },
  positionals: { name: "run", description: "A run directory", min: 1 },
});

const VALID =
  "valid: --env, --algo, --steps, --seed, --epsilon, --gamma, --learning-rate, --out, " +
  "--resume, --help";

Deno.test("parseCli types, defaults and camelCase names", () => {
  const { flags, positionals } = parseCli(TRAIN, [
    "--algo",
    "drqn",
    "--env=cartpole-masked",
    "--steps",
    "2e5",
    "--seed=-0",
    "--learning-rate",
    ".0005",
    "--gamma",
    "0",
    "--resume",
  ]);
  assert.deepStrictEqual(flags, {
    env: "cartpole-masked",
    algo: "drqn",
    steps: 200000,
    seed: 0,
    epsilon: 0.1,
    gamma: 0,
    learningRate: 0.0005,
    out: undefined,
    resume: true,
  });
  assert.deepStrictEqual(positionals, []);
  assert.equal(parseCli(TRAIN, ["--algo", "dqn"]).flags.resume, false);
  assert.equal(parseCli(TRAIN, ["--algo", "dqn", "--epsilon", "1"]).flags.epsilon, 1);
  assert.equal(parseCli(TRAIN, ["--algo", "dqn", "--seed", "4294967295"]).flags.seed, 4294967295);
});

Deno.test("parseCli result types follow the specification", () => {
  // Checked by the type checker only; never run.
  const typed = (): void => {
    const { flags } = parseCli(TRAIN, []);
    const env: "cartpole" | "cartpole-masked" | "bandit" | "minesweeper" = flags.env;
    const steps: number = flags.steps;
    const resume: boolean = flags.resume;
    const out: string | undefined = flags.out;
    const rate: number = flags.learningRate;
    // @ts-expect-error a flag without default may be undefined
    const sure: string = flags.out;
    // @ts-expect-error a choice is one of its values
    const other: "pendulum" = flags.env;
    void [env, steps, resume, out, rate, sure, other];
  };
  void typed;
});

Deno.test("parseCli turns each mistake into one clear line", () => {
  const cases: [string[], string][] = [
    [["--steps", "abc"], '--steps must be a positive integer, got "abc"'],
    [["--steps", "0"], '--steps must be a positive integer, got "0"'],
    [["--steps", "1.5"], '--steps must be a positive integer, got "1.5"'],
    [["--steps", "0x10"], '--steps must be a positive integer, got "0x10"'],
    [["--steps", " 5"], '--steps must be a positive integer, got " 5"'],
    [["--steps="], '--steps must be a positive integer, got ""'],
    [["--steps", "1e300"], '--steps must be a positive integer, got "1e300"'],
    [["--seed=-1"], '--seed must be an integer in [0, 4294967295], got "-1"'],
    [["--seed", "-1"], '--seed needs a value (write --seed=-1 for a value that starts with "-")'],
    [["--epsilon", "1.5"], '--epsilon must be a number in [0, 1], got "1.5"'],
    [["--epsilon", "NaN"], '--epsilon must be a number in [0, 1], got "NaN"'],
    [["--epsilon", "Infinity"], '--epsilon must be a number in [0, 1], got "Infinity"'],
    [["--gamma", "1"], '--gamma must be a number in [0, 1), got "1"'],
    [["--learning-rate", "0"], '--learning-rate must be a positive number, got "0"'],
    [
      ["--env", "x"],
      '--env must be one of cartpole, cartpole-masked, bandit, minesweeper; got "x"',
    ],
    [
      ["--env", "CartPole"],
      '--env must be one of cartpole, cartpole-masked, bandit, minesweeper; got "CartPole"',
    ],
    [["--foo"], `unknown flag --foo (${VALID})`],
    [["--stpes", "5"], `unknown flag --stpes (did you mean --steps? ${VALID})`],
    [
      ["--learning_rate", "5"],
      `unknown flag --learning_rate (did you mean --learning-rate? ${VALID})`,
    ],
    [["-x"], `unknown flag -x (${VALID})`],
    [["--resume=yes"], '--resume takes no value, got "yes"'],
    [["--steps"], "--steps needs a value"],
    [
      ["--steps", "--resume"],
      '--steps needs a value (write --steps=--resume for a value that starts with "-")',
    ],
    [["foo"], 'unexpected argument "foo" (deno task train takes only flags)'],
    [["--", "--steps"], 'unexpected argument "--steps" (deno task train takes only flags)'],
    [["--steps", "5", "--steps", "6"], "--steps is given more than once"],
    [["--resume", "--resume"], "--resume is given more than once"],
    [["--out="], "--out needs a non-empty value"],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCli(TRAIN, ["--algo", "dqn", ...args]), (error: Error) => {
      assert.ok(error instanceof UsageError, `${args}: ${error}`);
      assert.equal(error.message, message, args.join(" "));
      return true;
    });
  }
  assert.throws(() => parseCli(TRAIN, []), { name: "UsageError", message: "--algo is required" });
});

Deno.test("parseCli counts positional arguments", () => {
  assert.deepStrictEqual(parseCli(REPORT, ["runs/a", "runs/b", "--out", "r.html"]), {
    flags: { out: "r.html" },
    positionals: ["runs/a", "runs/b"],
  });
  assert.deepStrictEqual(parseCli(REPORT, ["--", "--odd-name"]).positionals, ["--odd-name"]);
  assert.throws(() => parseCli(REPORT, []), {
    name: "UsageError",
    message: "expected at least 1 <run> argument, got 0",
  });
  const one = defineCli({ ...REPORT, positionals: { name: "run", description: "", max: 1 } });
  assert.throws(() => parseCli(one, ["a", "b"]), {
    message: "expected at most 1 <run> argument, got 2",
  });
});

Deno.test("parseCli answers --help before judging other arguments", () => {
  for (const args of [["--help"], ["-h"], ["--bogus", "--help"], ["--steps", "x", "-h"]]) {
    assert.throws(() => parseCli(TRAIN, args), (error: Error) => {
      assert.ok(error instanceof HelpRequest);
      assert.equal(error.text, helpText(TRAIN));
      return true;
    });
  }
  // After "--", --help is an argument like any other.
  assert.throws(() => parseCli(TRAIN, ["--", "--help"]), UsageError);
  const reserved = {
    name: "x",
    summary: "",
    flags: { help: { type: "boolean" as const, description: "" } },
  };
  assert.throws(() => parseCli(reserved, []), TypeError);
});

Deno.test("helpText lists every flag with its kind, constraint and default", () => {
  const text = helpText(TRAIN);
  const lines = text.split("\n");
  assert.equal(lines[0], "Usage: deno task train [flags]");
  assert.ok(text.includes("Trains an agent and writes a run directory."));
  const line = (flag: string) => lines.find((l) => l.trimStart().startsWith(flag)) ?? "";
  assert.match(
    line("--steps <integer>"),
    /Environment steps \(a positive integer; default: 100000\)/,
  );
  assert.match(line("--gamma <number>"), /a number in \[0, 1\); default: 0\.99/);
  assert.match(line("--algo <name>"), /one of dqn, drqn, a2c; required/);
  assert.match(line("--out <dir>"), /The run directory$/);
  assert.match(line("--resume"), /Continue the run in --out$/);
  assert.match(line("-h, --help"), /Show this help/);
  assert.ok(text.endsWith("\n"));
  const report = helpText(REPORT);
  assert.match(report, /^Usage: deno task report \[flags\] <run>\.\.\./);
  assert.match(report, /<run> {2}A run directory/);
});

Deno.test("parseCli collects a repeatable flag's values in order", () => {
  const spec = defineCli({
    name: "deno task sweep",
    summary: "Sweeps settings.",
    flags: {
      grid: { type: "string", multiple: true, placeholder: "FLAG=V,...", description: "A grid" },
      seed: { type: "integer", min: 0, description: "Seed" },
    },
  });
  const { flags } = parseCli(spec, ["--grid", "hidden=8,16", "--seed", "1", "--grid=gamma=0.9"]);
  assert.deepStrictEqual(flags, { grid: ["hidden=8,16", "gamma=0.9"], seed: 1 });
  const absent: string[] = parseCli(spec, []).flags.grid;
  assert.deepStrictEqual(absent, []);
  assert.throws(() => parseCli(spec, ["--grid="]), { message: "--grid needs a non-empty value" });
  assert.throws(() => parseCli(spec, ["--grid"]), { message: "--grid needs a value" });
  assert.throws(() => parseCli(spec, ["--seed", "1", "--seed", "2"]), {
    message: "--seed is given more than once",
  });
  assert.match(helpText(spec), /--grid <FLAG=V,\.\.\.> +A grid \(repeatable\)/);
});

interface Captured {
  codes: number[];
  errors: string[];
  output: string[];
}

function capture(): [Captured, Parameters<typeof runCli>[1]] {
  const seen: Captured = { codes: [], errors: [], output: [] };
  return [seen, {
    exit: (code) => seen.codes.push(code),
    writeError: (line) => seen.errors.push(line),
    writeOutput: (text) => seen.output.push(text),
  }];
}

Deno.test("runCli exits 2 with one line for errors a user can cause", async () => {
  const userErrors = [
    new UsageError('--steps must be a positive integer, got "abc"'),
    new CheckpointError("Cannot read checkpoint runs/a/checkpoint.bin: checksum mismatch"),
    new RunDirError("Cannot open run directory runs/x: it does not exist"),
  ];
  for (const error of userErrors) {
    const [seen, options] = capture();
    await runCli(() => {
      throw error;
    }, options);
    assert.deepStrictEqual(seen, { codes: [2], errors: [`error: ${error.message}`], output: [] });
  }
  const [seen, options] = capture();
  await runCli(() => Promise.reject(new UsageError("first line\nsecond line")), options);
  assert.deepStrictEqual(seen.errors, ["error: first line"]);
});

Deno.test("runCli prints help on stdout and exits 0", async () => {
  const [seen, options] = capture();
  await runCli(() => parseCli(TRAIN, ["--help"]), options);
  assert.deepStrictEqual(seen, { codes: [0], errors: [], output: [helpText(TRAIN)] });
});

Deno.test("runCli lets bugs crash and leaves a clean run alone", async () => {
  for (const bug of [new Error("boom"), new RangeError("index out of range"), new TypeError("x")]) {
    const [seen, options] = capture();
    await assert.rejects(runCli(() => Promise.reject(bug), options), (e) => e === bug);
    assert.deepStrictEqual(seen, { codes: [], errors: [], output: [] });
  }
  const [seen, options] = capture();
  let ran = false;
  await runCli(async () => {
    await Promise.resolve();
    ran = true;
  }, options);
  assert.ok(ran);
  assert.deepStrictEqual(seen, { codes: [], errors: [], output: [] });
});

Deno.test("fromUserInput turns RangeError and TypeError into UsageError", async () => {
  const check = (width: number) => {
    if (width < 1) throw new RangeError(`Cannot create Minesweeper: width is ${width}`);
    return width;
  };
  assert.equal(fromUserInput(() => check(9)), 9);
  assert.throws(() => fromUserInput(() => check(0)), {
    name: "UsageError",
    message: "Cannot create Minesweeper: width is 0",
  });
  assert.throws(() => fromUserInput(() => null as unknown as { x: number }).x, TypeError);
  await assert.rejects(
    fromUserInput(() => Promise.reject(new TypeError("Cannot load: bad shape"))),
    { name: "UsageError", message: "Cannot load: bad shape" },
  );
  assert.equal(await fromUserInput(() => Promise.resolve(3)), 3);
  const other = new Error("a bug");
  assert.throws(() =>
    fromUserInput(() => {
      throw other;
    }), (e) => e === other);
});

const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

Deno.test({
  name: "runCli gives exit code 2 for a usage error and 1 for a bug in a real process",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const module = new URL("../lib/io/cli.ts", import.meta.url).href;
      const script = join(dir, "tool.ts");
      await Deno.writeTextFile(
        script,
        `import { parseCli, runCli } from "${module}";
const spec = { name: "tool", summary: "A tool.", flags: {
  steps: { type: "integer", min: 1, default: 1, description: "Steps" } } } as const;
await runCli(() => {
  const { flags } = parseCli(spec, Deno.args);
  if (flags.steps === 13) throw new Error("unlucky");
  console.log("steps", flags.steps);
});
`,
      );
      const run = async (...args: string[]) => {
        const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", script, ...args],
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const decode = (b: Uint8Array) => new TextDecoder().decode(b);
        return { code, stdout: decode(stdout), stderr: decode(stderr) };
      };
      const [ok, bad, help, bug] = await Promise.all([
        run("--steps", "5"),
        run("--steps", "abc"),
        run("--help"),
        run("--steps", "13"),
      ]);
      assert.deepStrictEqual(ok, { code: 0, stdout: "steps 5\n", stderr: "" });
      assert.deepStrictEqual(bad, {
        code: 2,
        stdout: "",
        stderr: 'error: --steps must be a positive integer, got "abc"\n',
      });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: tool \[flags\]/);
      assert.equal(bug.code, 1);
      assert.match(bug.stderr, /Error: unlucky/);
      assert.match(bug.stderr, /\n\s+at .*tool\.ts:\d+/, "with a stack");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
