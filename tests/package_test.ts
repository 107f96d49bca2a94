import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers/mod.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The package's entry points, as deno.json exports them. */
const ENTRIES: Record<string, string> = {
  "@rnnrl/rnnrl": "mod.ts",
  "@rnnrl/rnnrl/onnx": "onnx.ts",
  "@rnnrl/rnnrl/report": "report.ts",
  "@rnnrl/rnnrl/run": "run.ts",
};

/** Runs `deno <args>` in `cwd` and returns what it printed; fails on a non-zero exit. */
async function deno(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = { stdout: decode(out.stdout), stderr: decode(out.stderr) };
  assert.equal(out.code, 0, `deno ${args.join(" ")} failed:\n${result.stderr}`);
  return result;
}

Deno.test("deno.json exports the four entry points", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(config.name, "@rnnrl/rnnrl");
  assert.deepEqual(
    config.exports,
    Object.fromEntries(
      Object.entries(ENTRIES).map(([name, file]) => [
        name.replace("@rnnrl/rnnrl", "."),
        `./${file}`,
      ]),
    ),
  );
  assert.equal(config.imports?.vega, undefined, "lib/ needs no import map of the package's own");
});

Deno.test("a script outside the repository imports mod.ts by absolute path, with no config and no permissions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_outside_" });
  try {
    await Deno.writeTextFile(
      join(dir, "core.ts"),
      `import { A2C, CartPole, evaluate } from ${JSON.stringify(join(ROOT, "mod.ts"))};
const env = new CartPole({ seed: 1, maskVelocity: true });
const agent = new A2C(env, { cellUnits: 8, hiddenSizes: [], seed: 1 });
await agent.learn(env, { steps: 256 });
const result = await evaluate(new CartPole({ maskVelocity: true }), agent, { episodes: 2, seed: 3 });
const copy = A2C.load(await agent.save());
console.log(JSON.stringify({ steps: agent.steps, copy: copy.steps, episodes: result.episodes }));
`,
    );
    const { stdout } = await deno(["run", "--no-prompt", "core.ts"], dir);
    assert.deepEqual(JSON.parse(stdout), { steps: 256, copy: 256, episodes: 2 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a script outside the repository imports the onnx entry point by URL, with no config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_outside_" });
  try {
    await Deno.writeTextFile(
      join(dir, "onnx.ts"),
      `import { CartPole, DQN, evaluate } from ${
        JSON.stringify(pathToFileURL(join(ROOT, "mod.ts")).href)
      };
import { exportPolicy, OnnxPolicy, onnxPolicy } from ${
        JSON.stringify(pathToFileURL(join(ROOT, "onnx.ts")).href)
      };
const agent = new DQN(new CartPole(), { hiddenSizes: [8], seed: 2 });
await agent.learn(new CartPole({ seed: 1 }), { steps: 300 });
const session = await OnnxPolicy.load(await exportPolicy(agent));
const viaOrt = await evaluate(new CartPole(), onnxPolicy(session), { episodes: 3, seed: 5 });
const own = await evaluate(new CartPole(), agent, { episodes: 3, seed: 5 });
await session.release();
console.log(JSON.stringify({ same: viaOrt.returns.join() === own.returns.join() }));
`,
    );
    // onnxruntime-web reads its wasm binary from Deno's npm cache.
    const { stdout } = await deno(["run", "--no-prompt", "--allow-read", "onnx.ts"], dir);
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), { same: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the core bundled for the browser has no node: import, no vega or onnxruntime code, and runs without Deno, WebGPU or permissions (and in Node)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_bundle_" });
  try {
    const bundle = join(dir, "rnnrl.js");
    await deno(["bundle", "--platform", "browser", "-o", bundle, "mod.ts"], ROOT);
    const text = await Deno.readTextFile(bundle);
    // Statements only: esbuild keeps some doc comments, whose examples import the package.
    const code = text.split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    const imports = [...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g)].map((m) =>
      m[1]
    );
    assert.deepEqual(imports, [], "the core imports nothing: everything is in the bundle");
    assert.ok(!/["']node:/.test(text), "no node: module");
    // esbuild names each bundled module's file in a comment: none is an npm package's.
    assert.ok(!text.includes("registry.npmjs.org"), "no npm package at all");
    for (const name of [/\bvega\b/i, /\bvega-lite\b/i, /onnxruntime/i, /protobuf/i]) {
      assert.ok(!name.test(text), `nothing of ${name}`);
    }
    assert.ok(text.length < 1_000_000, `${text.length} characters`);
    // As in a browser without WebGPU: no Deno global, no GPU* globals, and no permission either.
    await Deno.writeTextFile(
      join(dir, "browserlike.ts"),
      `const globals = globalThis as Record<string, unknown>;
for (const name of Object.getOwnPropertyNames(globals)) {
  if (name === "Deno" || name.startsWith("GPU")) delete globals[name];
}
const lib = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const env = new lib.CartPole({ seed: 1, maskVelocity: true });
const agent = new lib.DRQN(env, { cellUnits: 8, hiddenSizes: [], seed: 1, learningStarts: 100 });
await agent.learn(env, { steps: 300 });
const copy = lib.DRQN.load(await agent.save());
console.log(JSON.stringify({ deno: typeof (globalThis as { Deno?: unknown }).Deno, steps: copy.steps }));
`,
    );
    const { stdout } = await deno([
      "run",
      "--no-prompt",
      `--allow-read=${bundle}`,
      "browserlike.ts",
    ], dir);
    assert.deepEqual(JSON.parse(stdout), { deno: "undefined", steps: 300 });
    // And in Node, where there is one.
    await Deno.writeTextFile(
      join(dir, "node.mjs"),
      `const lib = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const env = new lib.CartPole({ seed: 1, maskVelocity: true });
const agent = new lib.A2C(env, { cellUnits: 8, hiddenSizes: [], seed: 1 });
await agent.learn(env, { steps: 256 });
console.log(JSON.stringify({ steps: lib.A2C.load(await agent.save()).steps }));
`,
    );
    const node = await new Deno.Command("node", { args: [join(dir, "node.mjs")] }).output()
      .catch(() => null);
    if (node === null) {
      console.log("package_test: no node on PATH; the bundle's run in Node is skipped");
    } else {
      assert.equal(node.code, 0, decode(node.stderr));
      assert.deepEqual(JSON.parse(decode(node.stdout)), { steps: 256 });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface DocNode {
  name: string;
  declarations: { location: { filename: string } }[];
}

/** Every string under `doc` or an example tag in a `deno doc --json` tree. */
function docTexts(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const item of node) docTexts(item, out);
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "doc" && typeof value === "string") out.push(value);
      else docTexts(value, out);
    }
  }
  return out;
}

Deno.test("the public surface: curated names, documented with examples that import @rnnrl/rnnrl", async () => {
  const exported = new Map<string, string>();
  let examples = 0;
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const { stdout } = await deno(["doc", "--json", file], ROOT);
    const doc = JSON.parse(stdout);
    const module = doc.nodes[pathToFileURL(join(ROOT, file)).href] as {
      module_doc?: unknown;
      symbols: DocNode[];
    };
    assert.match(JSON.stringify(module.module_doc ?? ""), /```ts/, `${entry} has an example`);
    for (const symbol of module.symbols) {
      const other = exported.get(symbol.name);
      assert.equal(other, undefined, `${symbol.name} is exported by ${other} and ${entry}`);
      exported.set(symbol.name, entry);
    }
    for (const text of docTexts(module)) {
      for (const block of text.matchAll(/```ts[^\n]*\n([\s\S]*?)```/g)) {
        examples++;
        for (const [, specifier] of block[1].matchAll(/from\s+"([^"]+)"/g)) {
          assert.match(specifier, /^@rnnrl\/rnnrl(\/(onnx|report|run))?$/, `${entry}: ${block[1]}`);
        }
      }
    }
  }
  assert.ok(examples >= 100, `${examples} examples`);
  for (const helper of ["positiveInteger", "inRange", "findArray", "crc32", "writeFileAtomic"]) {
    assert.ok(!exported.has(helper), `${helper} stays internal`);
  }
  for (const helper of ["CamelCase", "defineCli", "parseCli", "sha256Hex", "canonicalJson"]) {
    assert.ok(!exported.has(helper), `${helper} stays internal`);
  }
  for (const name of ["DQN", "A2C", "LSTM", "CartPole", "createBackend", "evaluate"]) {
    assert.equal(exported.get(name), "@rnnrl/rnnrl", name);
  }
  for (const name of ["exportOnnx", "exportPolicy", "OnnxPolicy", "onnxPolicy", "writeWebPlayer"]) {
    assert.equal(exported.get(name), "@rnnrl/rnnrl/onnx", name);
  }
  for (const name of ["renderSvg", "episodeReturnSpec", "renderReport", "readRun"]) {
    assert.equal(exported.get(name), "@rnnrl/rnnrl/report", name);
  }
  for (const name of ["train", "saveAgent", "loadAgent", "createRunDir", "saveCheckpoint"]) {
    assert.equal(exported.get(name), "@rnnrl/rnnrl/run", name);
  }
});
