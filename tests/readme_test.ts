import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./helpers/mod.ts";

const README = await Deno.readTextFile(join(ROOT, "README.md"));
const CONFIG = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));

/** The README's TypeScript examples, in order, with the line each starts on. */
function examples(): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  for (const match of README.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    found.push({ line: README.slice(0, match.index).split("\n").length, code: match[1] });
  }
  return found;
}

Deno.test("the README says how to install the package, after its two first commands", () => {
  const commands = README.match(/```sh\n([\s\S]*?)```/)![1].trim().split("\n");
  assert.match(commands[0], /^deno task train\b/);
  assert.match(commands[1], /^deno task test\b/);
  assert.match(README, /^deno add jsr:@rnnrl\/rnnrl\b/m);
  assert.match(README, /^npx jsr add @rnnrl\/rnnrl\b/m);
  for (const entry of ["@rnnrl/rnnrl/onnx", "@rnnrl/rnnrl/report", "@rnnrl/rnnrl/run"]) {
    assert.ok(README.includes(`\`${entry}\``), `the README names ${entry}`);
  }
});

// Each example runs in a folder of its own outside the repository, whose deno.json has the
// package as `deno add jsr:@rnnrl/rnnrl` adds it; `links` stands in for the JSR registry, so the
// package resolves through its deno.json's name and exports, as published.
for (const { line, code } of examples()) {
  Deno.test(`README example at line ${line} runs as written from outside the repository`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnrl_readme_" });
    try {
      const config = {
        imports: { "@rnnrl/rnnrl": `jsr:@rnnrl/rnnrl@^${CONFIG.version}` },
        links: [ROOT],
      };
      await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config, null, 2));
      await Deno.writeTextFile(join(dir, "main.ts"), code);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-env", "main.ts"],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `README line ${line}:\n${stderr}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the README has TypeScript examples of the core, onnx and run entry points", () => {
  const code = examples().map((e) => e.code).join("\n");
  assert.ok(examples().length >= 3);
  for (const entry of ['"@rnnrl/rnnrl"', '"@rnnrl/rnnrl/onnx"', '"@rnnrl/rnnrl/run"']) {
    assert.ok(code.includes(entry), `an example imports ${entry}`);
  }
});
