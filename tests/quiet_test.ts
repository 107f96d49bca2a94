import assert from "node:assert/strict";
import { join } from "node:path";
import { copyTree, ROOT, taskCommand } from "./helpers/mod.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The environment a container gives: no XDG_RUNTIME_DIR, no colours. */
function bareEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "DENO_WEBGPU_BACKEND", "VK_ICD_FILENAMES"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

const DRIVER_NOISE = /XDG_RUNTIME_DIR/;

Deno.test("deno task train --backend auto prints no driver warning where XDG_RUNTIME_DIR is unset", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_quiet_" });
  try {
    // What the driver says to a process that may not set the variable (where it says anything).
    const probe = join(root, "probe.ts");
    await Deno.writeTextFile(probe, "await navigator.gpu?.requestAdapter();\n");
    const control = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", probe],
      clearEnv: true,
      env: bareEnv(),
      stdout: "null",
      stderr: "piped",
    }).output();
    const driverSpeaks = DRIVER_NOISE.test(decode(control.stderr));

    const { flags, script } = taskCommand("train");
    const args = ["--backend", "auto", "--steps", "200", "--hidden", "8", "--eval-episodes", "2"];
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, join(ROOT, script), ...args, "--out", join(root, "run")],
      cwd: ROOT,
      clearEnv: true,
      env: bareEnv(),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, DRIVER_NOISE);
    assert.match(stderr, /^backend auto: using (cpu|webgpu)/m);
    if (!driverSpeaks) console.log("quiet_test: this machine's driver says nothing either way");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A copy of the package (its config, lock and code) in a new folder: a fresh clone, to Deno. */
async function freshCopy(root: string, config: (json: Record<string, unknown>) => void) {
  await Deno.mkdir(root, { recursive: true });
  for (const file of ["deno.lock", "mod.ts", "onnx.ts", "report.ts", "run.ts"]) {
    await Deno.copyFile(join(ROOT, file), join(root, file));
  }
  const json = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  config(json);
  await Deno.writeTextFile(join(root, "deno.json"), JSON.stringify(json, null, 2));
  await copyTree(join(ROOT, "lib"), join(root, "lib"));
}

Deno.test("the first command in a fresh clone prints no boxed warning about protobufjs's build script", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_fresh_" });
  try {
    const check = async (dir: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["check", "onnx.ts"],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      return stderr;
    };
    await freshCopy(join(root, "clone"), () => {});
    const stderr = await check(join(root, "clone"));
    assert.doesNotMatch(stderr, /Warning|build script|Ignored/i);
    // Without deno.json's allowScripts (protobufjs@7's postinstall only prints an advisory about
    // version schemes; onnxruntime-web depends on it), Deno would box a warning here.
    await freshCopy(join(root, "without"), (json) => delete json.allowScripts);
    assert.match(await check(join(root, "without")), /Ignored build scripts[\s\S]*protobufjs/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
