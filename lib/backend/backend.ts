/**
 * The `Backend` interface: the handful of primitives every layer, optimizer and agent is built on.
 *
 * Tensors are float32 and opaque: on the CPU they wrap a `Float32Array`, on WebGPU a GPU buffer.
 * Ops enqueue work and return new tensors (or update a tensor in place where the name says so);
 * only {@linkcode Backend.read} brings data back to the CPU. Whoever creates a tensor disposes it.
 *
 * Layouts are row-major. Sequences are time-major: `[T, B, features]`. The LSTM packs its four
 * gates along the last axis in the order input, forget, cell candidate, output (i, f, g, o):
 * `w` is `[I, 4H]`, `u` is `[H, 4H]` and the single bias `b` is `[4H]`. The GRU packs its three
 * in ONNX's order, update, reset, candidate (z, r, h): `w` is `[I, 3H]`, `u` is `[H, 3H]`, and it
 * keeps two biases, `bw` (input) and `bu` (recurrent), each `[3H]`, because the reset gate acts on
 * the recurrent side alone.
 *
 * @module
 */

import type { CartPoleStepParams } from "./cartpole_f32.ts";
import type { CardGameStepParams } from "./cards_f32.ts";
import type { PendulumStepParams } from "./pendulum_f32.ts";
import type { ConvGeometry, PoolGeometry } from "./conv_geometry.ts";

/** Elementwise activations that layers and matmul epilogues can apply. */
export type Activation = "linear" | "relu" | "tanh" | "sigmoid";

/** The activations {@linkcode Activation} allows, for validation and help text. */
export const ACTIVATIONS: readonly Activation[] = ["linear", "relu", "tanh", "sigmoid"];

/** The names of the available backends. */
export type BackendName = "cpu" | "webgpu";

/** A float32 tensor owned by one backend. */
export interface Tensor {
  /** The dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The number of elements (the product of `shape`). */
  readonly size: number;
}

/** Options of {@linkcode Backend.matmul}: `C = act(op(A) · op(B) + bias)`. */
export interface MatmulOptions {
  /** Use Aᵀ: A is stored `[K, M]` instead of `[M, K]`. */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored `[N, K]` instead of `[K, N]`. */
  transposeB?: boolean;
  /** A `[N]` bias added to every row of the product. */
  bias?: Tensor;
  /** The activation applied after the bias (default "linear"). */
  activation?: Activation;
}

/** The parameters of one LSTM layer, gates packed (i, f, g, o). */
export interface LstmWeights {
  /** Input weights, `[I, 4H]`. */
  w: Tensor;
  /** Recurrent weights, `[H, 4H]`. */
  u: Tensor;
  /** Bias, `[4H]`. */
  b: Tensor;
}

/**
 * What the LSTM forward keeps for its backward pass. The fields are backend tensors that the
 * caller disposes through {@linkcode Backend.disposeLstmCache} once backward has run.
 */
export interface LstmCache {
  /** The input sequence `[T, B, I]` (borrowed, not owned: the caller keeps it alive). */
  x: Tensor;
  /** The masked previous hidden state at each step, `[T, B, H]` (the recurrent matmul's input). */
  hPrev: Tensor;
  /** The masked previous cell state at each step, `[T, B, H]`. */
  cPrev: Tensor;
  /** The activated gates at each step, `[T, B, 4H]` in order (i, f, g, o). */
  gates: Tensor;
  /** tanh of the new cell state at each step, `[T, B, H]`. */
  cTanh: Tensor;
  /** The mask `[T, B]` used, or undefined for none (borrowed). */
  mask?: Tensor;
}

/** The outputs of {@linkcode Backend.lstmForward}. */
export interface LstmForwardResult {
  /** The hidden state after every step, `[T, B, H]`. */
  h: Tensor;
  /** The final hidden state, `[B, H]`. */
  hLast: Tensor;
  /** The final cell state, `[B, H]`. */
  cLast: Tensor;
  /** What backward needs; undefined when forward ran with `keepCache: false`. */
  cache?: LstmCache;
}

/** The gradients returned by {@linkcode Backend.lstmBackward}. */
export interface LstmGradients {
  /** Gradient with respect to the input sequence, `[T, B, I]`. */
  dx: Tensor;
  /** Gradient with respect to `w`, `[I, 4H]`. */
  dw: Tensor;
  /** Gradient with respect to `u`, `[H, 4H]`. */
  du: Tensor;
  /** Gradient with respect to `b`, `[4H]`. */
  db: Tensor;
  /** Gradient with respect to the initial hidden state, `[B, H]`. */
  dh0: Tensor;
  /** Gradient with respect to the initial cell state, `[B, H]`. */
  dc0: Tensor;
}

/** The parameters of one GRU layer, gates packed (z, r, h) as ONNX packs them. */
export interface GruWeights {
  /** Input weights, `[I, 3H]` (ONNX's `W` transposed). */
  w: Tensor;
  /** Recurrent weights, `[H, 3H]` (ONNX's `R` transposed). */
  u: Tensor;
  /** Input bias, `[3H]` (ONNX's `Wb`). */
  bw: Tensor;
  /** Recurrent bias, `[3H]` (ONNX's `Rb`). */
  bu: Tensor;
}

/** Options of {@linkcode Backend.gruForward}. */
export interface GruForwardOptions {
  /** `[T, B]`: multiplies the carried state before step t; 0 resets it, 1 keeps it. */
  mask?: Tensor;
  /** Keep what backward needs (default true). */
  keepCache?: boolean;
  /**
   * Where the reset gate acts, as ONNX's `linear_before_reset` (default true):
   * `h̃ = tanh(x·W_h + bw_h + r ⊙ (h·U_h + bu_h))` when true (PyTorch's and cuDNN's GRU),
   * `h̃ = tanh(x·W_h + bw_h + (r ⊙ h)·U_h + bu_h)` when false (ONNX's default, the original GRU).
   */
  linearBeforeReset?: boolean;
}

/**
 * What the GRU forward keeps for its backward pass. The fields are backend tensors that the
 * caller disposes through {@linkcode Backend.disposeGruCache} once backward has run.
 */
export interface GruCache {
  /** The input sequence `[T, B, I]` (borrowed, not owned: the caller keeps it alive). */
  x: Tensor;
  /** The masked previous hidden state at each step, `[T, B, H]`. */
  hPrev: Tensor;
  /** The activated gates at each step, `[T, B, 3H]` in order (z, r, h̃). */
  gates: Tensor;
  /**
   * What the reset gate meets at each step, `[T, B, H]`: with `linearBeforeReset`, the
   * candidate's recurrent term `h·U_h + bu_h` that r scales; without, `r ⊙ h`, the input of the
   * candidate's recurrent matmul.
   */
  reset: Tensor;
  /** The mask `[T, B]` used, or undefined for none (borrowed). */
  mask?: Tensor;
  /** The forward pass's `linearBeforeReset`. */
  linearBeforeReset: boolean;
}

/** The outputs of {@linkcode Backend.gruForward}. */
export interface GruForwardResult {
  /** The hidden state after every step, `[T, B, H]`. */
  h: Tensor;
  /** The final hidden state, `[B, H]`. */
  hLast: Tensor;
  /** What backward needs; undefined when forward ran with `keepCache: false`. */
  cache?: GruCache;
}

/** The gradients returned by {@linkcode Backend.gruBackward}. */
export interface GruGradients {
  /** Gradient with respect to the input sequence, `[T, B, I]`. */
  dx: Tensor;
  /** Gradient with respect to `w`, `[I, 3H]`. */
  dw: Tensor;
  /** Gradient with respect to `u`, `[H, 3H]`. */
  du: Tensor;
  /** Gradient with respect to `bw`, `[3H]`. */
  dbw: Tensor;
  /** Gradient with respect to `bu`, `[3H]`. */
  dbu: Tensor;
  /** Gradient with respect to the initial hidden state, `[B, H]`. */
  dh0: Tensor;
}

/** Hyperparameters of one fused Adam update. */
export interface AdamStep {
  /** Learning rate. */
  lr: number;
  /** Decay of the first moment. */
  beta1: number;
  /** Decay of the second moment. */
  beta2: number;
  /** Added to the root of the second moment. */
  epsilon: number;
  /** The 1-based step count, for bias correction. */
  step: number;
}

/** Hyperparameters of one RMSprop update (PyTorch's form: eps outside the root, no momentum). */
export interface RmspropStep {
  /** Learning rate. */
  lr: number;
  /** Decay of the mean square. */
  rho: number;
  /** Added to the root of the mean square. */
  epsilon: number;
}

/**
 * The board geometry of {@linkcode Backend.unfoldPatches} and {@linkcode Backend.foldPatches}:
 * each of the `height × width` cells gets the square neighbourhood of side `2·radius + 1`.
 */
export interface PatchOptions {
  /** Rows of the board. */
  height: number;
  /** Columns of the board. */
  width: number;
  /** How far the neighbourhood reaches from the centre cell (0 is the cell alone). */
  radius: number;
}

/** The sizes of a patch op, as {@linkcode patchDims} derives and checks them. */
export interface PatchDims {
  /** The batch size B. */
  batch: number;
  /** The channels C per cell. */
  channels: number;
  /** Rows H. */
  height: number;
  /** Columns W. */
  width: number;
  /** The radius r. */
  radius: number;
  /** Features per patch, `(2r + 1)² · (C + 1)`. */
  features: number;
}

/**
 * Checks a board's height and width (positive integers) and a neighbourhood's radius (an integer
 * >= 0).
 *
 * @param what What is being done, for the message: "Cannot <what>: …".
 * @throws {RangeError} For a value out of range.
 */
export function checkPatchOptions(options: PatchOptions, what: string): void {
  const bounds = [["height", 1], ["width", 1], ["radius", 0]] as const;
  for (const [name, min] of bounds) {
    const value = options[name];
    if (!(Number.isSafeInteger(value) && value >= min)) {
      throw new RangeError(`Cannot ${what}: ${name} is ${value}, expected an integer >= ${min}`);
    }
  }
}

/**
 * Checks the geometry of a patch op and derives its sizes from the board input `[B, C·H·W]`
 * (`fold`: false) or from the patches `[B·H·W, (2r + 1)²·(C + 1)]` (`fold`: true).
 *
 * @throws {RangeError} For a height, width or radius that is not a positive (radius: >= 0) integer.
 * @throws {TypeError} For a tensor whose shape does not fit the board.
 */
export function patchDims(t: Tensor, options: PatchOptions, fold: boolean): PatchDims {
  checkPatchOptions(options, "use patches");
  const { height, width, radius } = options;
  const cells = height * width, side = 2 * radius + 1;
  if (t.shape.length !== 2) {
    throw new TypeError(`Cannot use patches: expected a matrix, got shape ${formatShape(t.shape)}`);
  }
  const [rows, cols] = t.shape;
  if (fold) {
    const channels = cols / (side * side) - 1;
    if (!(Number.isInteger(channels) && channels >= 1 && rows % cells === 0)) {
      throw new TypeError(
        `Cannot fold patches: shape ${formatShape(t.shape)} is not [B·${cells}, ${side}²·(C + 1)]`,
      );
    }
    return { batch: rows / cells, channels, height, width, radius, features: cols };
  }
  const channels = cols / cells;
  if (!(Number.isInteger(channels) && channels >= 1)) {
    throw new TypeError(
      `Cannot unfold patches: ${cols} features are not C·${height}·${width} for an integer C >= 1`,
    );
  }
  return { batch: rows, channels, height, width, radius, features: side * side * (channels + 1) };
}

/** The gradients returned by {@linkcode Backend.embeddingBackward}. */
export interface EmbeddingGradients {
  /** Gradient with respect to the table, `[V, E]`: each row the sum over that id's uses. */
  dTable: Tensor;
  /** Gradient with respect to the input `[R, I]`: 0 at the id columns, the passed-through part. */
  dInput: Tensor;
}

/** A loss value and its gradient with respect to the prediction. */
export interface LossResult {
  /** The mean loss, a tensor of shape `[1]`. */
  loss: Tensor;
  /** d(loss)/d(prediction), same shape as the prediction. */
  grad: Tensor;
}

/**
 * The primitives a backend provides. Everything in `nn/` and `rl/` is written against this
 * interface only, so layers and agents never know which backend runs them.
 */
export interface Backend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** A human-readable description of the device (the adapter on WebGPU). */
  readonly device: string;

  /** Copies numbers into a new tensor of the given shape. */
  tensor(data: ArrayLike<number>, shape: readonly number[]): Tensor;
  /** A new tensor filled with zeros. */
  zeros(shape: readonly number[]): Tensor;
  /** Reads a tensor back to the CPU. */
  read(t: Tensor): Promise<Float32Array>;
  /** Overwrites a tensor's contents with numbers from the CPU. */
  write(t: Tensor, data: ArrayLike<number>): void;
  /**
   * Copies `src` into `dst` (same size), or with `offset`, into `dst`'s elements from `offset` on
   * (a row block of a larger tensor: a rollout's step).
   */
  copy(dst: Tensor, src: Tensor, offset?: number): void;
  /**
   * The same elements under a new shape of equal size, sharing storage with `t` (no copy). The
   * storage is reference-counted: every handle, the original and each view, is disposed once, and
   * the storage is released with the last. Reshaping to the same shape is how a layer keeps a
   * tensor alive for its backward pass.
   */
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  /** Releases a tensor; it must not be used afterwards. */
  dispose(t: Tensor): void;
  /** Waits until all enqueued work has finished. */
  sync(): Promise<void>;
  /**
   * Submits what is pending and releases the device; the backend must not be used afterwards.
   * Call it when done: a WebGPU device still alive when the process exits can crash the driver's
   * teardown (seen with Mesa's llvmpipe).
   */
  destroy(): void;

  /** `act(op(A) · op(B) + bias)`, where A is `[M, K]` and B is `[K, N]` after the transposes. */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  /** `a + b` elementwise (same shape). */
  add(a: Tensor, b: Tensor): Tensor;
  /** `a * b` elementwise (same shape). */
  mul(a: Tensor, b: Tensor): Tensor;
  /** `s * a` elementwise. */
  scale(a: Tensor, s: number): Tensor;
  /** `a − b` elementwise (same shape). */
  sub(a: Tensor, b: Tensor): Tensor;
  /**
   * `a / b` elementwise (same shape). A zero divisor gives the IEEE answer, as in JavaScript:
   * ±Infinity, or NaN for `0 / 0`.
   */
  div(a: Tensor, b: Tensor): Tensor;
  /** The smaller of `a` and `b` elementwise (same shape); NaN where either is NaN. */
  minimum(a: Tensor, b: Tensor): Tensor;
  /** The larger of `a` and `b` elementwise (same shape); NaN where either is NaN. */
  maximum(a: Tensor, b: Tensor): Tensor;
  /** 1 where `a > b`, else 0 (same shape; 0 where either is NaN). */
  greater(a: Tensor, b: Tensor): Tensor;
  /** 1 where `a >= b`, else 0 (same shape; 0 where either is NaN). */
  greaterEqual(a: Tensor, b: Tensor): Tensor;
  /**
   * `a` where `condition` is non-zero, else `b`; all three of the same shape. NaN counts as
   * non-zero, as in JavaScript (`NaN !== 0`). Values are picked, not combined, so a NaN or an
   * infinity in the branch not taken does not reach the result.
   */
  where(condition: Tensor, a: Tensor, b: Tensor): Tensor;
  /** `eˣ` elementwise. */
  exp(x: Tensor): Tensor;
  /** The natural logarithm elementwise: −Infinity at 0 and NaN below it, as `Math.log`. */
  log(x: Tensor): Tensor;
  /** `|x|` elementwise. */
  abs(x: Tensor): Tensor;
  /**
   * `min(max(x, low), high)` elementwise, with scalar bounds that may be ±Infinity; NaN stays NaN.
   *
   * @throws {RangeError} Unless `low <= high` (a NaN bound included).
   */
  clamp(x: Tensor, low: number, high: number): Tensor;
  /** `x + s` elementwise. */
  addScalar(x: Tensor, s: number): Tensor;
  /** Adds `alpha * x` into `y` in place. */
  axpyInPlace(y: Tensor, x: Tensor, alpha: number): void;
  /** Applies an activation elementwise. */
  activate(x: Tensor, activation: Activation): Tensor;
  /** The gradient through an activation, given its output `y` and the upstream gradient `dy`. */
  activationGrad(y: Tensor, dy: Tensor, activation: Activation): Tensor;
  /** Sums a `[M, N]` matrix over its rows, giving `[N]` (a bias gradient). */
  sumRows(x: Tensor): Tensor;
  /** The sum of all elements, as a `[1]` tensor. */
  sum(x: Tensor): Tensor;
  /**
   * The neighbourhood of every cell of a board, as rows of a matrix (im2col). `x` is `[B, C·H·W]`
   * channel-major (channel c of cell i at `c·H·W + i`); the result is
   * `[B·H·W, (2r + 1)²·(C + 1)]`, row `b·H·W + i` holding cell i's neighbours in row-major order
   * (offsets −r..r in y, then x), each as its C channels followed by an "outside the board" flag:
   * 1 with zero channels for a neighbour beyond the edge, 0 for one on the board.
   */
  unfoldPatches(x: Tensor, options: PatchOptions): Tensor;
  /**
   * The adjoint of {@linkcode Backend.unfoldPatches}: `[B·H·W, (2r + 1)²·(C + 1)]` → `[B, C·H·W]`,
   * each input element receiving the sum of every patch entry copied from it (the outside flags
   * come from no input and are dropped). Computed as a gather, so the sums are deterministic.
   */
  foldPatches(patches: Tensor, options: PatchOptions): Tensor;

  /**
   * The patches of a convolution, as rows of a matrix (im2col; stride 1, zero padding). `x` is
   * `[B, H·W·C]`, channels-last, or channels-first with `geometry.channelsFirst`. The result is
   * `[B·H'·W', k²·C]` (`H' = H + 2p − k + 1`, likewise W'), row `b·H'·W' + y·W' + x` holding the
   * input pixels under the kernel placed at (y − p, x − p), kernel rows then columns, each as
   * its C channels; pixels in the padding are 0. Times a `[k²·C, F]` weight matrix, it gives the
   * convolution's output channels-last.
   */
  convPatches(x: Tensor, geometry: ConvGeometry): Tensor;
  /**
   * The adjoint of {@linkcode Backend.convPatches}: `[B·H'·W', k²·C]` → `[B, H·W·C]` in the
   * input's layout, each pixel receiving the sum of the patch entries copied from it, gathered
   * in a fixed order so that the sums are deterministic.
   */
  convPatchesAdjoint(patches: Tensor, geometry: ConvGeometry): Tensor;
  /**
   * Max pooling over `s×s` windows with stride s: `[B, H·W·C]` → `[B, H'·W'·C]`, channels-last,
   * `H' = floor(H / s)` (a remainder row or column is dropped, as ONNX's MaxPool does).
   */
  maxPool(x: Tensor, geometry: PoolGeometry): Tensor;
  /**
   * The gradient of {@linkcode Backend.maxPool} with respect to its input `x`, given the
   * upstream `dOutput` `[B, H'·W'·C]`: each window's gradient goes to its first maximal element
   * (row-major order), every other element gets 0.
   */
  maxPoolBackward(x: Tensor, dOutput: Tensor, geometry: PoolGeometry): Tensor;

  /**
   * Looks ids up in an embedding table (a gather). `x` is `[R, I]`, its first `ids` columns item
   * ids held as floats (whole numbers in `0..V−1`), the rest features passed through; `table` is
   * `[V, E]`. The result is `[R, ids·E + I − ids]`: row r holds the table rows of its ids, in
   * column order, then its passed-through features. An id that is not a whole number in range is
   * a RangeError on the CPU and gives NaN on the GPU (a shader cannot throw).
   */
  embeddingForward(x: Tensor, table: Tensor, ids: number): Tensor;
  /**
   * The gradients of {@linkcode Backend.embeddingForward} for the upstream gradient `dOutput`
   * (`[R, ids·E + I − ids]`): the table's, a scatter-add of every id's slice of `dOutput` into
   * its row, summed in the order of the ids (row by row, column by column) so that it is
   * deterministic; and the input's (ids have none).
   */
  embeddingBackward(
    x: Tensor,
    dOutput: Tensor,
    vocabulary: number,
    ids: number,
  ): EmbeddingGradients;

  /**
   * Runs an LSTM over a whole sequence. `x` is `[T, B, I]`, `h0` and `c0` are `[B, H]`.
   * `mask` (`[T, B]`, optional) multiplies the carried state before step t: 0 resets it
   * (an episode started at t), 1 keeps it.
   */
  lstmForward(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    weights: LstmWeights,
    options?: { mask?: Tensor; keepCache?: boolean },
  ): LstmForwardResult;
  /**
   * Back-propagates through time. `dh` is the gradient of the loss with respect to every output
   * `[T, B, H]`; `dhLast` and `dcLast` (optional, `[B, H]`) are gradients with respect to the
   * final state.
   */
  lstmBackward(
    cache: LstmCache,
    weights: LstmWeights,
    dh: Tensor,
    dhLast?: Tensor,
    dcLast?: Tensor,
  ): LstmGradients;
  /** Disposes the tensors an LSTM cache owns. */
  disposeLstmCache(cache: LstmCache): void;

  /**
   * Runs a GRU over a whole sequence, exactly as ONNX's `GRU` operator defines it (one direction,
   * sigmoid and tanh): with `x_t` `[B, I]` and the carried state `h` (`h0` `[B, H]` at t = 0)
   * multiplied by `mask[t]`,
   * `z = σ(x_t·W_z + bw_z + h·U_z + bu_z)`, `r = σ(x_t·W_r + bw_r + h·U_r + bu_r)`, the candidate
   * `h̃` as {@linkcode GruForwardOptions.linearBeforeReset} says, and `h_t = (1 − z) ⊙ h̃ + z ⊙ h`.
   */
  gruForward(
    x: Tensor,
    h0: Tensor,
    weights: GruWeights,
    options?: GruForwardOptions,
  ): GruForwardResult;
  /**
   * Back-propagates through time. `dh` is the gradient of the loss with respect to every output
   * `[T, B, H]`; `dhLast` (optional, `[B, H]`) is the gradient with respect to the final state.
   */
  gruBackward(cache: GruCache, weights: GruWeights, dh: Tensor, dhLast?: Tensor): GruGradients;
  /** Disposes the tensors a GRU cache owns. */
  disposeGruCache(cache: GruCache): void;

  /** The index of each row's largest value (lowest index on ties), `[B, A]` → `[B]`. */
  argmaxRows(q: Tensor): Tensor;
  /**
   * Epsilon-greedy actions for a batch of Q-value rows, `[B, A]` → `[B]`. The randomness is the
   * counter-based hash of {@linkcode counterUniform} keyed by `(seed, counter, row)`, so every
   * backend draws the same actions for the same call.
   */
  epsilonGreedy(q: Tensor, epsilon: number, seed: number, counter: number): Tensor;
  /**
   * An action per row drawn from its probabilities `[B, A]` → `[B]`: the first action whose
   * float32 running sum of probabilities exceeds `counterUniform(seed, counter, b)` (the last
   * action with a positive probability where rounding leaves the sum below it).
   */
  sampleRows(probs: Tensor, seed: number, counter: number): Tensor;
  /**
   * `count` standard normal draws, `[count]`: Box–Muller on the counter-based hash,
   * `√(−2 ln u₁)·cos(2π u₂)` with `u₁ = (counterBits(seed, counter, 2i) + 1) / 2^24` (never 0)
   * and `u₂ = counterBits(seed, counter, 2i + 1) / 2^24`. The CPU computes it in float64 and
   * rounds; WebGPU in float32, with its own `log`, `sqrt` and `cos` (within about 1e-5).
   */
  gaussianNoise(count: number, seed: number, counter: number): Tensor;
  /** Picks `q[b, actions[b]]` for every row: `[B, A]`, `[B]` → `[B]`. */
  gatherRows(q: Tensor, actions: Tensor): Tensor;
  /** The transpose of {@linkcode Backend.gatherRows}: puts `values[b]` at `[b, actions[b]]` of a zero `[B, A]`. */
  scatterRows(values: Tensor, actions: Tensor, actionCount: number): Tensor;
  /**
   * The (double) DQN target `r + γ · (1 − terminated) · qTarget[s', argmax_a qSelect[s', a]]`.
   * Pass the target network's values as both `qSelect` and `qTarget` for plain DQN. Truncated
   * transitions are not terminal: they bootstrap like any other.
   */
  dqnTarget(
    qSelect: Tensor,
    qTarget: Tensor,
    rewards: Tensor,
    terminated: Tensor,
    gamma: number,
  ): Tensor;
  /** Softmax over each row of `[B, A]`. */
  softmaxRows(logits: Tensor): Tensor;
  /**
   * Log-softmax over each row of `[B, A]`: `x − m − log Σ_j exp(x_j − m)` with `m` the row's
   * maximum, so large logits do not overflow. A logit of −Infinity (a masked action) gives
   * −Infinity, as long as its row has a finite one.
   */
  logSoftmaxRows(logits: Tensor): Tensor;
  /**
   * The policy-gradient loss `mean_b(−w_b · log π(a_b) − β · H(π_b))` over rows of logits, and
   * its gradient with respect to the logits. `weights` are the advantages (or returns).
   */
  policyLoss(logits: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): LossResult;

  /** Mean squared error `mean((p − t)²)` and its gradient. */
  mseLoss(prediction: Tensor, target: Tensor): LossResult;
  /** Mean Huber loss (quadratic within `delta`, linear beyond) and its gradient. */
  huberLoss(prediction: Tensor, target: Tensor, delta: number): LossResult;

  /** One fused Adam update of every parameter, in place. `m` and `v` are the moment buffers. */
  adamStep(params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], step: AdamStep): void;
  /** One RMSprop update in place; `meanSquare` holds the running averages. */
  rmspropStep(params: Tensor[], grads: Tensor[], meanSquare: Tensor[], step: RmspropStep): void;
  /** One plain gradient-descent update in place: `p -= lr * g`. */
  sgdStep(params: Tensor[], grads: Tensor[], lr: number): void;
  /**
   * Scales the gradients in place so their global L2 norm is at most `maxNorm`, and returns the
   * norm before clipping as a `[1]` tensor.
   */
  clipByGlobalNorm(grads: Tensor[], maxNorm: number): Tensor;

  /**
   * Steps N copies of CartPole in float32, the state `[N, 6]` in place (x, ẋ, θ, θ̇, steps taken,
   * episode number; see `cartpole_f32.ts`), with `actions` `[N]` of 0 (push left) or 1, and
   * resets the copies whose episode ended from counter-based draws. Every backend computes the
   * same float32 operations in the same order.
   */
  cartPoleStep(state: Tensor, actions: Tensor, params: CartPoleStepParams): CartPoleStepTensors;
  /**
   * Steps N copies of Pendulum in float32, the state `[N, 4]` in place (θ wrapped into [−π, π],
   * θ̇, steps taken, episode number; see `pendulum_f32.ts`), with `torques` `[N]` clipped to ±2,
   * and resets the copies that reach the time limit from counter-based draws.
   */
  pendulumStep(state: Tensor, torques: Tensor, params: PendulumStepParams): PendulumStepTensors;
  /**
   * Steps N copies of POPGym's RepeatPrevious or CountRecall, the state `[N, stateSize]` in place
   * (steps taken, episode number, counts, shoes; see `cards_f32.ts`), with `actions` `[N]`, and
   * reshuffles the copies whose shoe runs out from counter-based draws.
   */
  cardGameStep(state: Tensor, actions: Tensor, params: CardGameStepParams): CardGameStepTensors;
}

/** What {@linkcode Backend.cardGameStep} returns: new tensors, which the caller disposes. */
export interface CardGameStepTensors {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Tensor;
  /** `[N]`: the rewards. */
  rewards: Tensor;
  /** `[N]`: 1 where the shoe ran out on this step. */
  terminated: Tensor;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Tensor;
}

/** What {@linkcode Backend.pendulumStep} returns: new tensors, which the caller disposes. */
export interface PendulumStepTensors {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Tensor;
  /** `[N]`: the rewards, −(θ² + 0.1·θ̇² + 0.001·u²) of the state before the step. */
  rewards: Tensor;
  /** `[N]`: 1 where the episode reached its time limit on this step. */
  truncated: Tensor;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Tensor;
}

/** What {@linkcode Backend.cartPoleStep} returns: new tensors, which the caller disposes. */
export interface CartPoleStepTensors {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Tensor;
  /** `[N]`: 1 where the pole fell or the cart left the track on this step. */
  terminated: Tensor;
  /** `[N]`: 1 where the episode reached its time limit on this step. */
  truncated: Tensor;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Tensor;
}

/**
 * A counter-based uniform draw in [0, 1) with 24 bits, identical on every backend: the PCG hash
 * (Jarzynski and Olano, 2020) applied twice, keyed by a seed, a call counter and a lane.
 */
export function counterUniform(seed: number, counter: number, lane: number): number {
  return counterBits(seed, counter, lane) / 16777216;
}

/** The 24 random bits behind {@linkcode counterUniform}: an integer in `0 .. 2^24)`. */
export function counterBits(seed: number, counter: number, lane: number): number {
  return pcgHash((pcgHash((seed ^ Math.imul(counter, 0x9e3779b9)) >>> 0) + lane) >>> 0) >>> 8;
}

/** The 32-bit PCG hash (RXS-M-XS output of one LCG step). */
export function pcgHash(x: number): number {
  const state = (Math.imul(x, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot use shape [${shape.join(", ")}]: dimensions must be integers >= 0`,
      );
    }
    size *= d;
  }
  return size;
}

/** Formats a shape for error messages: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
