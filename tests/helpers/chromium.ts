/**
 * Headless Chromium for tests, driven over the DevTools protocol on 127.0.0.1.
 *
 * The browser runs with networking blocked (a dead proxy and a resolver that finds nothing), a
 * fresh profile in a temporary directory, and `--remote-debugging-port=0`; its port is read from
 * the profile's `DevToolsActivePort` file. Tests need `--allow-run`, `--allow-read`,
 * `--allow-write` (the profile), `--allow-env` (CHROMIUM_PATH) and `--allow-net=127.0.0.1`.
 *
 * @module
 */

/** Where Chromium is looked for, after the CHROMIUM_PATH environment variable. */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/**
 * Finds a Chromium executable: CHROMIUM_PATH if set, else the usual Debian paths.
 *
 * @returns The path, or null when there is none.
 */
export function findChromium(): string | null {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  for (const path of fromEnv ? [fromEnv] : CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** Chromium flags that make a quiet, offline, headless browser. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--mute-audio",
  "--proxy-server=127.0.0.1:9",
  "--host-resolver-rules=MAP * ~NOTFOUND",
  "--remote-debugging-port=0",
  "--remote-allow-origins=*",
];

/** Options of {@linkcode ChromiumPage.launch}. */
export interface LaunchOptions {
  /** The window's width in CSS pixels (default 1200). */
  width?: number;
  /** The window's height in CSS pixels (default 900). */
  height?: number;
  /**
   * Give pages WebGPU (default false): the GPU process stays on (without a GPU it runs
   * SwiftShader, a software Vulkan on which Dawn offers a fallback adapter).
   */
  webgpu?: boolean;
  /** Let pages reach 127.0.0.1, a test's own server (default false: no host at all). */
  loopback?: boolean;
}

/** The flags of a launch. */
function flagsOf(options: LaunchOptions): string[] {
  let flags = FLAGS;
  if (options.webgpu) {
    flags = [...flags.filter((flag) => flag !== "--disable-gpu"), "--enable-unsafe-webgpu"];
  }
  if (options.loopback) {
    flags = flags.map((flag) =>
      flag.startsWith("--host-resolver-rules=") ? `${flag}, EXCLUDE 127.0.0.1` : flag
    );
  }
  return flags;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One page in a headless Chromium, controlled over the DevTools protocol. */
export class ChromiumPage {
  #child: Deno.ChildProcess;
  #profile: string;
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners: ((method: string, params: Record<string, unknown>) => void)[] = [];
  /** Every URL the page requested, in order (recorded from Network.requestWillBeSent). */
  readonly requests: string[] = [];
  /**
   * Every error the page reported, in order: uncaught exceptions, `console.error` calls and the
   * browser's own error entries (a blocked resource, a violation of the page's CSP).
   */
  readonly errors: string[] = [];

  private constructor(child: Deno.ChildProcess, profile: string, socket: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (typeof message.id === "number") {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (!pending) return;
        if (message.error) pending.reject(new Error(`DevTools: ${message.error.message}`));
        else pending.resolve(message.result ?? {});
      } else if (typeof message.method === "string") {
        if (message.method === "Network.requestWillBeSent") {
          this.requests.push(String(message.params?.request?.url));
        }
        const params = message.params ?? {};
        if (message.method === "Runtime.exceptionThrown") {
          const details = params.exceptionDetails ?? {};
          this.errors.push(String(details.exception?.description ?? details.text));
        } else if (message.method === "Runtime.consoleAPICalled" && params.type === "error") {
          this.errors.push((params.args ?? []).map((a: { value?: unknown }) => a.value).join(" "));
        } else if (message.method === "Log.entryAdded" && params.entry?.level === "error") {
          this.errors.push(String(params.entry.text));
        }
        for (const listener of this.#listeners) listener(message.method, message.params ?? {});
      }
    };
  }

  /**
   * Starts Chromium and connects to its first page.
   *
   * @param executable The Chromium executable.
   * @param options The window size, WebGPU, and access to 127.0.0.1.
   * @returns The page, with the Page, Runtime and Network domains enabled.
   */
  static async launch(
    executable: string,
    options: LaunchOptions = {},
  ): Promise<ChromiumPage> {
    const profile = await Deno.makeTempDir({ prefix: "rnnrl_chromium_" });
    const child = new Deno.Command(executable, {
      args: [
        ...flagsOf(options),
        `--user-data-dir=${profile}`,
        `--window-size=${options.width ?? 1200},${options.height ?? 900}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const port = await waitForPort(profile, child);
      const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      const target = targets.find((t: { type: string }) => t.type === "page");
      if (!target) throw new Error("Cannot drive Chromium: it opened no page");
      const socket = new WebSocket(target.webSocketDebuggerUrl);
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error("Cannot drive Chromium: WebSocket failed"));
      });
      const page = new ChromiumPage(child, profile, socket);
      await page.send("Page.enable");
      await page.send("Runtime.enable");
      await page.send("Network.enable");
      await page.send("Log.enable");
      return page;
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /**
   * Sends one DevTools command and waits for its result.
   *
   * @param method The command, e.g. "Page.navigate".
   * @param params Its parameters.
   * @returns The command's result.
   */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Waits for the next DevTools event of a kind.
   *
   * @param method The event, e.g. "Page.loadEventFired".
   * @param timeoutMs How long to wait.
   * @returns A promise of its parameters.
   */
  waitFor(method: string, timeoutMs = 20000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        reject(new Error(`Cannot drive Chromium: no ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (m: string, params: Record<string, unknown>) => {
        if (m !== method) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        resolve(params);
      };
      this.#listeners.push(listener);
    });
  }

  /**
   * Opens a URL and waits for its load event.
   *
   * @param url The URL, e.g. a file: URL.
   */
  async goto(url: string): Promise<void> {
    const loaded = this.waitFor("Page.loadEventFired");
    const result = await this.send("Page.navigate", { url });
    if (result.errorText) throw new Error(`Cannot open ${url}: ${result.errorText}`);
    await loaded;
  }

  /**
   * Evaluates a JavaScript expression in the page (awaiting a promise) and returns its value.
   *
   * @param expression The expression.
   * @returns Its value, passed through JSON.
   */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const details = result.exceptionDetails as {
      text?: string;
      exception?: { description?: string };
    };
    if (details) {
      throw new Error(`Page threw: ${details.exception?.description ?? details.text}`);
    }
    return (result.result as { value: T }).value;
  }

  /**
   * Takes a PNG screenshot of the whole page.
   *
   * @returns The PNG bytes.
   */
  async screenshot(): Promise<Uint8Array> {
    const metrics = await this.send("Page.getLayoutMetrics");
    const size = metrics.cssContentSize as { width: number; height: number };
    const result = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: size.width, height: size.height, scale: 1 },
    });
    return Uint8Array.from(atob(result.data as string), (c) => c.charCodeAt(0));
  }

  /** Closes the connection, stops Chromium and removes its profile. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.#socket.readyState === WebSocket.CLOSED) resolve();
      this.#socket.onclose = () => resolve();
    });
    this.#socket.close();
    await closed;
    this.#child.kill("SIGTERM");
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

async function waitForPort(profile: string, child: Deno.ChildProcess): Promise<number> {
  let exited = false;
  child.status.then(() => (exited = true));
  for (let i = 0; i < 300; i++) {
    try {
      const text = await Deno.readTextFile(`${profile}/DevToolsActivePort`);
      const port = Number(text.split("\n")[0]);
      if (port > 0) return port;
    } catch {
      // not written yet
    }
    if (exited) throw new Error("Cannot drive Chromium: it exited at start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("Cannot drive Chromium: no DevTools port after 30 s");
}
