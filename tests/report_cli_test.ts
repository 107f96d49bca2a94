import assert from "node:assert/strict";
import { main } from "../tasks/report.ts";
import { makeRunDir } from "./helpers/report_fixture.ts";

/** Runs the CLI in-process and collects what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** Every file under a directory with its contents, to prove nothing else changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) { for (const [k, v] of await snapshot(path)) files.set(k, v); }
    else files.set(path, await Deno.readTextFile(path));
  }
  return files;
}

async function withRuns(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_report_cli_" });
  try {
    for (const [name, seed] of [["a", 1], ["b", 2]] as const) {
      await Deno.mkdir(`${root}/${name}`);
      await makeRunDir(`${root}/${name}`, { env: "cartpole", seed, episodes: 40 });
    }
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("main writes runs/A/report.html for one run and touches nothing else", async () => {
  await withRuns(async (root) => {
    const before = await snapshot(root);
    const result = await run([`${root}/a/`]);
    assert.deepEqual(result, { code: 0, out: [`wrote ${root}/a/report.html`], err: [] });
    const after = await snapshot(root);
    const html = after.get(`${root}/a/report.html`)!;
    assert.match(html, /^<!doctype html>/);
    after.delete(`${root}/a/report.html`);
    assert.deepEqual(after, before);
  });
});

Deno.test("main writes several runs to --out with a title", async () => {
  await withRuns(async (root) => {
    const out = `${root}/both.html`;
    const result = await run([`${root}/a`, `${root}/b`, "--out", out, "--title", "A & B"]);
    assert.equal(result.code, 0);
    const html = await Deno.readTextFile(out);
    assert.match(html, /<h1>A &amp; B<\/h1>/);
    assert.match(html, /data-chart="compare"/);
  });
});

Deno.test("main reports user errors in one line with exit code 2", async () => {
  await withRuns(async (root) => {
    await Deno.mkdir(`${root}/empty`);
    const cases: [string[], RegExp][] = [
      [[`${root}/missing`], /^error: Cannot read run: .*\/missing does not exist$/],
      [
        [`${root}/empty`],
        /^error: Cannot read run: .*\/empty is not a run directory \(no config\.json\)$/,
      ],
      [
        [`${root}/a`, "--bogus"],
        /^error: unknown flag --bogus \(valid: --out, --title, --window, --help\)$/,
      ],
      [[`${root}/a`, "--out", `${root}/a/metrics.jsonl`], /does not end in \.html$/],
      [[`${root}/a`, "--out", `${root}/nowhere/r.html`], /folder .*\/nowhere does not exist$/],
      [[`${root}/a`, "--out", `${root}/a`], /does not end in \.html$/],
      [[`${root}/a`, "--window=-3"], /--window must be a positive integer, got "-3"$/],
      [[], /expected at least 1 <run> argument, got 0$/],
    ];
    const before = await snapshot(root);
    for (const [args, pattern] of cases) {
      const result = await run(args);
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.err.length, 1, args.join(" "));
      assert.match(result.err[0], pattern);
    }
    assert.deepEqual(await snapshot(root), before);
  });
});

Deno.test("main renders a bandit testbed directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_report_cli_" });
  try {
    const testbed = {
      runs: 3,
      steps: 4,
      methods: { "epsilon=0.1": { reward: [0, 0.5, 1, 1.2], optimal: [0.1, 0.3, 0.6, 0.8] } },
    };
    await Deno.writeTextFile(`${dir}/testbed.json`, JSON.stringify(testbed));
    const result = await run([dir]);
    assert.equal(result.code, 0);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /data-chart="testbed-optimal"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
