import assert from "node:assert/strict";
import { ROOT, runTask, taskCommand } from "./helpers/mod.ts";

const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
const tasks: Record<string, string> = config.tasks;

Deno.test("deno.json tasks never grant all permissions", () => {
  assert.ok(Object.keys(tasks).length >= 5);
  for (const [name, command] of Object.entries(tasks)) {
    const words = command.split(/\s+/);
    assert.ok(!words.includes("-A"), `task ${name} uses -A`);
    assert.ok(!words.includes("--allow-all"), `task ${name} uses --allow-all`);
    assert.ok(!words.some((w) => /^-[a-zA-Z]*A[a-zA-Z]*$/.test(w)), `task ${name} bundles -A`);
  }
});

Deno.test("deno.json tasks that train or evaluate get no network access", () => {
  for (const name of ["train", "eval", "report", "bandit-testbed", "export", "benchmark"]) {
    const command = tasks[name];
    if (command === undefined) continue;
    assert.ok(!/--allow-net\b/.test(command), `task ${name} may use the network: ${command}`);
  }
});

Deno.test("deno task sweep and deno task worker add to train's grants only the network (--queue, a host the user names)", () => {
  for (const name of ["sweep", "worker"]) {
    const words = tasks[name].replace(`tasks/${name}.ts`, "").split(/\s+/).filter(Boolean);
    assert.ok(words.includes("--allow-net"), `task ${name}: ${tasks[name]}`);
    assert.equal(
      words.filter((word) => word !== "--allow-net").join(" "),
      tasks.train.replace("tasks/train.ts", "").trim(),
    );
  }
});

Deno.test("deno task demo may listen on 127.0.0.1 (its --serve) and reach nothing else", () => {
  const words = tasks.demo.split(/\s+/).filter((w) => w.startsWith("--allow-net"));
  assert.deepEqual(words, ["--allow-net=127.0.0.1"]);
});

Deno.test("deno.json has every CLI task, and only the test task may start subprocesses", async () => {
  for (
    const name of [
      "train",
      "eval",
      "export",
      "report",
      "bandit-testbed",
      "benchmark",
      "sweep",
      "worker",
      "demo",
    ]
  ) {
    const command = tasks[name];
    assert.ok(command !== undefined, `deno.json has no task ${name}`);
    const script = command.split(/\s+/).find((word) => word.endsWith(".ts"));
    assert.ok(script !== undefined, `task ${name} runs no script: ${command}`);
    assert.ok((await Deno.stat(new URL(`../${script}`, import.meta.url))).isFile, script);
  }
  for (const [name, command] of Object.entries(tasks)) {
    if (name === "test") continue;
    assert.ok(!/--allow-run\b/.test(command), `task ${name} may start subprocesses: ${command}`);
  }
});

Deno.test("deno.json tasks grant environment variables by name only, and never prompt", () => {
  for (
    const name of [
      "train",
      "eval",
      "report",
      "bandit-testbed",
      "export",
      "benchmark",
      "sweep",
      "worker",
      "demo",
    ]
  ) {
    const words = tasks[name].split(/\s+/);
    assert.ok(words.includes("--no-prompt"), `task ${name} may prompt: ${tasks[name]}`);
    for (const word of words.filter((w) => w.startsWith("--allow-env"))) {
      assert.match(word, /^--allow-env=[A-Z_][A-Z0-9_]*(,[A-Z_][A-Z0-9_]*)*$/, `task ${name}`);
    }
  }
  // eval writes nothing and reads no variable; it may set the one the Vulkan driver reads.
  assert.ok(/--allow-env=XDG_RUNTIME_DIR\s/.test(tasks.eval), tasks.eval);
  for (const name of ["train", "benchmark", "sweep", "worker", "eval"]) {
    assert.ok(/--allow-env=\S*XDG_RUNTIME_DIR/.test(tasks[name]), `task ${name} quiets the driver`);
  }
  // The benchmark's workers train as train does, with the grants they inherit.
  for (const name of ["benchmark"]) {
    assert.equal(
      tasks[name].replace(`tasks/${name}.ts`, ""),
      tasks.train.replace("tasks/train.ts", ""),
    );
  }
});

Deno.test("deno task train runs identically with --deny-env", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_deny_env_" });
  try {
    const args = [
      ...["--backend", "cpu", "--steps", "600", "--hidden", "8", "--checkpoint-every", "300"],
      "--eval-episodes",
      "3",
    ];
    const normal = await runTask("train", [...args, "--out", `${root}/normal`]);
    assert.equal(normal.code, 0, normal.stderr);
    const { flags, script } = taskCommand("train");
    const denied = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...flags,
        "--deny-env",
        `${ROOT}/${script}`,
        ...args,
        "--out",
        `${root}/denied`,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(denied.stderr);
    assert.equal(denied.code, 0, stderr);
    for (const file of ["metrics.jsonl", "replay.json"]) {
      assert.deepEqual(
        await Deno.readFile(`${root}/denied/${file}`),
        await Deno.readFile(`${root}/normal/${file}`),
        file,
      );
    }
    const evaluation = async (dir: string) => {
      const { wallTimeSeconds: _, ...rest } = JSON.parse(
        await Deno.readTextFile(`${dir}/eval.json`),
      );
      return rest;
    };
    assert.deepEqual(await evaluation(`${root}/denied`), await evaluation(`${root}/normal`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
