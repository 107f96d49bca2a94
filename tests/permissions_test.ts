import assert from "node:assert/strict";

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
  for (const name of ["train", "eval", "report", "bandit-testbed", "export"]) {
    const command = tasks[name];
    if (command === undefined) continue;
    assert.ok(!/--allow-net\b/.test(command), `task ${name} may use the network: ${command}`);
  }
});

Deno.test("deno.json has every CLI task, and only the test task may start subprocesses", async () => {
  for (const name of ["train", "eval", "export", "report", "bandit-testbed"]) {
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
