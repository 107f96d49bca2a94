/**
 * The sequence replay of recurrent Q-learning (DRQN, Hausknecht and Stone, 2015; R2D2,
 * Kapturowski et al., 2019): fixed-length sequences cut from episodes as they are played, each
 * stored with the recurrent state the actor had at its first step.
 *
 * Layout of one sequence, for `burnIn` B₀, `length` L, `lookahead` n and anchor p (an episode
 * step):
 *
 *     position k = 0 … B₀−1          burn-in: episode steps p−B₀ … p−1, run only to warm the state
 *     position k = B₀ … B₀+L−1       trained: episode steps p … p+L−1
 *     position k = B₀+L … B₀+L+n−1   look-ahead: the steps after them, for n-step targets
 *
 * Actions, rewards and flags are kept for the L + n − 1 steps from p on (step j at index j), so
 * the n-step target of every trained step can be formed, and its bootstrap observation (n steps
 * later, or the final one) is among the positions.
 *
 * Sequences are padded per episode, never crossing an episode boundary: where the window reaches
 * before the episode's first step, the missing positions are zeros and the reset mask is 0 at the
 * first step (so the state entering it is the zero state the actor had); where the episode ends
 * early, the position after its last step holds the true final observation (so a truncated
 * episode bootstraps from it) and the rest is zeros with `valid` 0. Anchors are placed every
 * `length − overlap` steps from each episode's start, so with `overlap` 0 every step is trained in
 * exactly one sequence, and the burn-in of a sequence is the end of the previous one.
 *
 * Action masks: once a step comes with the masks of its observation and of its next observation
 * (a masked game), every position also keeps the mask of its observation, so that a target's max
 * can run over the valid actions only; padding positions allow every action.
 *
 * @module
 */

import type { Rng } from "../io/rng.ts";
import { nonNegativeInteger, positiveInteger } from "./_options.ts";
import type { Transition } from "./replay.ts";
import { type AgentArray, findArray, type NamedArrays } from "./state.ts";

/** Options of {@linkcode SequenceReplay}. */
export interface SequenceReplayOptions {
  /** The most sequences kept; the oldest are overwritten first. */
  capacity: number;
  /** The length of every observation. */
  observationSize: number;
  /** The floats of recurrent state stored per sequence (`[h, c]` of every LSTM layer). */
  stateSize: number;
  /** Steps run before the trained part to warm up the state (no loss on them). */
  burnIn: number;
  /** Trained steps per sequence. */
  length: number;
  /** Trained steps shared by consecutive sequences of an episode (0 ≤ overlap < length). */
  overlap: number;
  /** Steps kept after the trained ones, for n-step targets (default 1: the next observation). */
  lookahead?: number;
}

/** One environment step, as the actor adds it: a one-step transition and the actor's state. */
export interface SequenceStep extends Omit<Transition, "steps"> {
  /**
   * The recurrent state before this step, flat `[stateSize]`; required when
   * {@linkcode SequenceReplay.needsState} is true, ignored otherwise.
   */
  state?: Float32Array;
  /** The action mask of `observation` (1 valid), in a masked game. */
  mask?: Uint8Array;
  /** The action mask of `nextObservation`, in a masked game. */
  nextMask?: Uint8Array;
}

/** A sampled batch, time-major, as flat typed arrays ready to upload as tensors. */
export interface SequenceBatch {
  /** The number of sequences B. */
  batchSize: number;
  /** `[positions, B, observationSize]`: the inputs. */
  observations: Float32Array;
  /** `[positions, B]`: 0 where the state resets before that position. */
  resetMask: Float32Array;
  /** `[steps, B]` with steps = length + lookahead − 1 (floats, as the backend's ops take them). */
  actions: Float32Array;
  /** `[steps, B]`. */
  rewards: Float32Array;
  /** `[steps, B]`: 1 where the transition was terminal. */
  terminated: Float32Array;
  /** `[steps, B]`: 1 where the episode was truncated there. */
  truncated: Float32Array;
  /** `[steps, B]`: 1 for real steps, 0 for padding after an episode's end. */
  valid: Float32Array;
  /** `[B, stateSize]`: the actor's state at each sequence's first position. */
  startStates: Float32Array;
  /** `[B]`: the slots sampled. */
  indices: Int32Array;
  /** `[positions, B, A]`: the action mask of each position's observation, in a masked game. */
  masks: Uint8Array | null;
}

interface StepRecord {
  observation: Float32Array;
  action: number;
  reward: number;
  nextObservation: Float32Array;
  terminated: boolean;
  truncated: boolean;
  state: Float32Array | null;
  mask: Uint8Array | null;
  nextMask: Uint8Array | null;
}

/**
 * A ring of fixed-length sequences with their start states, built from the steps of whole
 * episodes as they are played, and sampled uniformly with replacement.
 *
 * @example
 * ```ts
 * import { Rng, SequenceReplay } from "@rnnrl/rnnrl";
 * const replay = new SequenceReplay({
 *   capacity: 10, observationSize: 1, stateSize: 2, burnIn: 2, length: 3, overlap: 0,
 * });
 * for (let t = 0; t < 4; t++) {
 *   replay.add({
 *     observation: Float32Array.of(t), action: 0, reward: 1,
 *     nextObservation: Float32Array.of(t + 1), terminated: t === 3, truncated: false,
 *     state: replay.needsState() ? Float32Array.of(t, -t) : undefined,
 *   });
 * }
 * // Anchors 0 and 3: [pad, pad | 0, 1, 2 | 3] and [1, 2 | 3, final, pad | pad].
 * if (replay.size !== 2) throw new Error("two sequences");
 * const batch = replay.sample(1, new Rng(0));
 * if (batch.observations.length !== 6) throw new Error("burn-in + length + 1 positions");
 * ```
 */
export class SequenceReplay {
  /** The most sequences kept. */
  readonly capacity: number;
  /** The observation length. */
  readonly observationSize: number;
  /** Floats of recurrent state per sequence. */
  readonly stateSize: number;
  /** Burn-in positions per sequence. */
  readonly burnIn: number;
  /** Trained steps per sequence. */
  readonly length: number;
  /** Trained steps shared by consecutive sequences. */
  readonly overlap: number;
  /** Steps kept after the trained ones. */
  readonly lookahead: number;
  /** Input positions per sequence: burnIn + length + lookahead. */
  readonly positions: number;
  /** Steps with actions and rewards per sequence: length + lookahead − 1. */
  readonly stepSlots: number;
  /** `[capacity, positions, observationSize]`. */
  readonly observations: Float32Array;
  /** `[capacity, positions]`: 0 where the state resets (an episode starts). */
  readonly resetMask: Uint8Array;
  /** `[capacity, stepSlots]`. */
  readonly actions: Int32Array;
  /** `[capacity, stepSlots]`. */
  readonly rewards: Float32Array;
  /** `[capacity, stepSlots]`. */
  readonly terminated: Uint8Array;
  /** `[capacity, stepSlots]`. */
  readonly truncated: Uint8Array;
  /** `[capacity, stepSlots]`: 1 for real steps. */
  readonly valid: Uint8Array;
  /** `[capacity, stateSize]`. */
  readonly startStates: Float32Array;
  /** `[capacity, positions, A]`: each position's action mask, once masks are in use. */
  masks: Uint8Array | null = null;
  #actionCount = 0;
  #size = 0;
  #position = 0;
  // The episode being played: its steps from `#windowStart` on, and the next anchor.
  #window: StepRecord[] = [];
  #windowStart = 0;
  #count = 0;
  #nextAnchor = 0;

  /** Allocates the arrays. */
  constructor(options: SequenceReplayOptions) {
    this.capacity = positiveInteger(options.capacity, "capacity");
    this.observationSize = positiveInteger(options.observationSize, "observationSize");
    this.length = positiveInteger(options.length, "length");
    nonNegativeInteger(options.stateSize, "stateSize");
    nonNegativeInteger(options.burnIn, "burnIn");
    if (
      !(Number.isInteger(options.overlap) && options.overlap >= 0 && options.overlap < this.length)
    ) {
      throw new RangeError(
        `Cannot use overlap ${options.overlap}: expected an integer in [0, ${this.length - 1}]`,
      );
    }
    this.stateSize = options.stateSize;
    this.burnIn = options.burnIn;
    this.overlap = options.overlap;
    this.lookahead = positiveInteger(options.lookahead ?? 1, "lookahead");
    this.positions = this.burnIn + this.length + this.lookahead;
    this.stepSlots = this.length + this.lookahead - 1;
    const n = this.capacity, m = n * this.stepSlots;
    this.observations = new Float32Array(n * this.positions * this.observationSize);
    this.resetMask = new Uint8Array(n * this.positions);
    this.actions = new Int32Array(m);
    this.rewards = new Float32Array(m);
    this.terminated = new Uint8Array(m);
    this.truncated = new Uint8Array(m);
    this.valid = new Uint8Array(m);
    this.startStates = new Float32Array(n * this.stateSize);
  }

  /** The number of complete sequences held. */
  get size(): number {
    return this.#size;
  }

  /** The slot the next sequence is written to. */
  get position(): number {
    return this.#position;
  }

  /** The distance between consecutive anchors of an episode. */
  get period(): number {
    return this.length - this.overlap;
  }

  /** True when the next step added must carry the actor's state (a sequence starts there). */
  needsState(): boolean {
    const s = this.#count;
    return this.stateSize > 0 && (s + this.burnIn) % this.period === 0;
  }

  /** Adds one step of the current episode; a terminated or truncated step ends the episode. */
  add(step: SequenceStep): void {
    const d = this.observationSize;
    if (step.observation.length !== d || step.nextObservation.length !== d) {
      throw new TypeError(`Cannot store a step: observations must have ${d} values`);
    }
    let state: Float32Array | null = null;
    if (this.needsState()) {
      if (!step.state || step.state.length !== this.stateSize) {
        throw new TypeError(
          `Cannot store a step: a sequence starts here, so it needs the ${this.stateSize}-value state`,
        );
      }
      state = step.state.slice();
    }
    const masked = step.mask !== undefined || step.nextMask !== undefined;
    if (masked) this.#useMasks(step.mask?.length ?? step.nextMask!.length);
    this.#window.push({
      observation: step.observation.slice(),
      action: step.action,
      reward: step.reward,
      nextObservation: step.nextObservation.slice(),
      terminated: step.terminated,
      truncated: step.truncated,
      state,
      mask: step.mask?.slice() ?? null,
      nextMask: step.nextMask?.slice() ?? null,
    });
    this.#count++;
    while (this.#nextAnchor + this.stepSlots <= this.#count) {
      this.#emit(this.#nextAnchor);
      this.#nextAnchor += this.period;
    }
    if (step.terminated || step.truncated) {
      while (this.#nextAnchor < this.#count) {
        this.#emit(this.#nextAnchor);
        this.#nextAnchor += this.period;
      }
      this.#window = [];
      this.#windowStart = 0;
      this.#count = 0;
      this.#nextAnchor = 0;
      return;
    }
    // Keep only what the next sequence needs: from its burn-in on.
    const keepFrom = Math.max(0, this.#nextAnchor - this.burnIn);
    if (keepFrom > this.#windowStart) {
      this.#window.splice(0, keepFrom - this.#windowStart);
      this.#windowStart = keepFrom;
    }
  }

  /** Forgets the episode in progress (its unfinished sequences are not stored). */
  abandonEpisode(): void {
    this.#window = [];
    this.#windowStart = 0;
    this.#count = 0;
    this.#nextAnchor = 0;
  }

  /** Starts keeping masks of `actions` values (every stored position allows every action). */
  #useMasks(actions: number): void {
    if (this.masks) {
      if (actions !== this.#actionCount) {
        throw new TypeError(
          `Cannot store a step: its mask has ${actions} values, the replay's ${this.#actionCount}`,
        );
      }
      return;
    }
    this.#actionCount = actions;
    this.masks = new Uint8Array(this.capacity * this.positions * actions).fill(1);
  }

  #record(s: number): StepRecord {
    return this.#window[s - this.#windowStart];
  }

  #emit(anchor: number): void {
    const slot = this.#position, d = this.observationSize, P = this.positions;
    const L = this.stepSlots;
    const first = anchor - this.burnIn;
    const obs = this.observations.subarray(slot * P * d, (slot + 1) * P * d).fill(0);
    const mask = this.resetMask.subarray(slot * P, (slot + 1) * P).fill(1);
    for (let k = 0; k < P; k++) {
      const s = first + k;
      if (s < 0 || s > this.#count) continue;
      if (s === 0) mask[k] = 0;
      const input = s < this.#count
        ? this.#record(s).observation
        : this.#record(s - 1).nextObservation;
      obs.set(input, k * d);
    }
    if (this.masks) {
      const A = this.#actionCount;
      const masks = this.masks.subarray(slot * P * A, (slot + 1) * P * A).fill(1);
      for (let k = 0; k < P; k++) {
        const s = first + k;
        if (s < 0 || s > this.#count) continue;
        const mask = s < this.#count ? this.#record(s).mask : this.#record(s - 1).nextMask;
        if (mask) masks.set(mask, k * A);
      }
    }
    for (let j = 0; j < L; j++) {
      const s = anchor + j, i = slot * L + j;
      const real = s < this.#count;
      const r = real ? this.#record(s) : null;
      this.actions[i] = r ? r.action : 0;
      this.rewards[i] = r ? r.reward : 0;
      this.terminated[i] = r?.terminated ? 1 : 0;
      this.truncated[i] = r?.truncated ? 1 : 0;
      this.valid[i] = real ? 1 : 0;
    }
    const states = this.startStates.subarray(slot * this.stateSize, (slot + 1) * this.stateSize);
    if (first >= 0 && this.stateSize > 0) states.set(this.#record(first).state!);
    else states.fill(0);
    this.#position = (slot + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** Draws `batchSize` sequences uniformly with replacement, laid out time-major. */
  sample(batchSize: number, rng: Rng): SequenceBatch {
    if (this.#size === 0) throw new RangeError("Cannot sample: the sequence replay is empty");
    positiveInteger(batchSize, "batchSize");
    const B = batchSize, d = this.observationSize, P = this.positions, L = this.stepSlots;
    const S = this.stateSize;
    const batch: SequenceBatch = {
      batchSize: B,
      observations: new Float32Array(P * B * d),
      resetMask: new Float32Array(P * B),
      actions: new Float32Array(L * B),
      rewards: new Float32Array(L * B),
      terminated: new Float32Array(L * B),
      truncated: new Float32Array(L * B),
      valid: new Float32Array(L * B),
      startStates: new Float32Array(B * S),
      indices: new Int32Array(B),
      masks: this.masks ? new Uint8Array(P * B * this.#actionCount) : null,
    };
    const A = this.#actionCount;
    for (let b = 0; b < B; b++) {
      const slot = rng.int(this.#size);
      batch.indices[b] = slot;
      for (let k = 0; k < P; k++) {
        const from = (slot * P + k) * d;
        batch.observations.set(this.observations.subarray(from, from + d), (k * B + b) * d);
        batch.resetMask[k * B + b] = this.resetMask[slot * P + k];
        if (batch.masks) {
          const at = (slot * P + k) * A;
          batch.masks.set(this.masks!.subarray(at, at + A), (k * B + b) * A);
        }
      }
      for (let j = 0; j < L; j++) {
        const i = slot * L + j, o = j * B + b;
        batch.actions[o] = this.actions[i];
        batch.rewards[o] = this.rewards[i];
        batch.terminated[o] = this.terminated[i];
        batch.truncated[o] = this.truncated[i];
        batch.valid[o] = this.valid[i];
      }
      batch.startStates.set(this.startStates.subarray(slot * S, (slot + 1) * S), b * S);
    }
    return batch;
  }

  /** The stored sequences and the episode in progress as named arrays, for checkpoints. */
  getState(prefix: string): NamedArrays<SequenceReplayJson> {
    const n = this.#size, d = this.observationSize, P = this.positions, L = this.stepSlots;
    const S = this.stateSize, w = this.#window.length;
    const window = {
      observations: new Float32Array(w * d),
      nextObservations: new Float32Array(w * d),
      actions: new Int32Array(w),
      rewards: new Float32Array(w),
      flags: new Uint8Array(3 * w),
      states: new Float32Array(w * S),
    };
    this.#window.forEach((r, i) => {
      window.observations.set(r.observation, i * d);
      window.nextObservations.set(r.nextObservation, i * d);
      window.actions[i] = r.action;
      window.rewards[i] = r.reward;
      window.flags[3 * i] = r.terminated ? 1 : 0;
      window.flags[3 * i + 1] = r.truncated ? 1 : 0;
      window.flags[3 * i + 2] = r.state ? 1 : 0;
      if (r.state) window.states.set(r.state, i * S);
    });
    const arrays: AgentArray[] = [
      { name: "observations", shape: [n, P, d], data: this.observations.slice(0, n * P * d) },
      { name: "resetMask", shape: [n, P], data: this.resetMask.slice(0, n * P) },
      { name: "actions", shape: [n, L], data: this.actions.slice(0, n * L) },
      { name: "rewards", shape: [n, L], data: this.rewards.slice(0, n * L) },
      { name: "terminated", shape: [n, L], data: this.terminated.slice(0, n * L) },
      { name: "truncated", shape: [n, L], data: this.truncated.slice(0, n * L) },
      { name: "valid", shape: [n, L], data: this.valid.slice(0, n * L) },
      { name: "startStates", shape: [n, S], data: this.startStates.slice(0, n * S) },
      { name: "window.observations", shape: [w, d], data: window.observations },
      { name: "window.nextObservations", shape: [w, d], data: window.nextObservations },
      { name: "window.actions", shape: [w], data: window.actions },
      { name: "window.rewards", shape: [w], data: window.rewards },
      { name: "window.flags", shape: [w, 3], data: window.flags },
      { name: "window.states", shape: [w, S], data: window.states },
    ];
    if (this.masks) {
      const A = this.#actionCount;
      const windowMasks = new Uint8Array(2 * w * A).fill(1);
      this.#window.forEach((r, i) => {
        if (r.mask) windowMasks.set(r.mask, 2 * i * A);
        if (r.nextMask) windowMasks.set(r.nextMask, (2 * i + 1) * A);
      });
      arrays.push(
        { name: "masks", shape: [n, P, A], data: this.masks.slice(0, n * P * A) },
        { name: "window.masks", shape: [w, 2, A], data: windowMasks },
      );
    }
    return {
      json: {
        size: n,
        position: this.#position,
        window: w,
        windowStart: this.#windowStart,
        count: this.#count,
        nextAnchor: this.#nextAnchor,
        actionCount: this.masks ? this.#actionCount : 0,
      },
      arrays: arrays.map((a) => ({ ...a, name: prefix + a.name })),
    };
  }

  /** Restores what {@linkcode SequenceReplay.getState} saved. */
  setState(state: NamedArrays<unknown>, prefix: string, json: SequenceReplayJson): void {
    const n = json.size, d = this.observationSize, P = this.positions, L = this.stepSlots;
    const S = this.stateSize, w = json.window;
    const A = json.actionCount;
    const ints = [n, json.position, w, json.windowStart, json.count, json.nextAnchor, A];
    if (!ints.every((x) => Number.isInteger(x) && x >= 0) || n > this.capacity) {
      throw new RangeError("Cannot restore the sequence replay: its counters are invalid");
    }
    const get = <T extends AgentArray["data"]>(
      name: string,
      type: new (k: number) => T,
      size: number,
    ) => findArray(state, prefix + name, type, size);
    this.observations.fill(0).set(get("observations", Float32Array, n * P * d));
    this.resetMask.fill(0).set(get("resetMask", Uint8Array, n * P));
    this.actions.fill(0).set(get("actions", Int32Array, n * L));
    this.rewards.fill(0).set(get("rewards", Float32Array, n * L));
    this.terminated.fill(0).set(get("terminated", Uint8Array, n * L));
    this.truncated.fill(0).set(get("truncated", Uint8Array, n * L));
    this.valid.fill(0).set(get("valid", Uint8Array, n * L));
    this.startStates.fill(0).set(get("startStates", Float32Array, n * S));
    const obs = get("window.observations", Float32Array, w * d);
    const next = get("window.nextObservations", Float32Array, w * d);
    const actions = get("window.actions", Int32Array, w);
    const rewards = get("window.rewards", Float32Array, w);
    const flags = get("window.flags", Uint8Array, 3 * w);
    const states = get("window.states", Float32Array, w * S);
    this.masks = null;
    let windowMasks: Uint8Array | null = null;
    if (A > 0) {
      this.#useMasks(A);
      this.masks!.set(get("masks", Uint8Array, n * P * A));
      windowMasks = get("window.masks", Uint8Array, 2 * w * A);
    }
    const maskOf = (i: number, k: number) =>
      windowMasks ? windowMasks.slice((2 * i + k) * A, (2 * i + k + 1) * A) : null;
    this.#window = Array.from({ length: w }, (_, i) => ({
      observation: obs.slice(i * d, (i + 1) * d),
      nextObservation: next.slice(i * d, (i + 1) * d),
      action: actions[i],
      reward: rewards[i],
      terminated: flags[3 * i] === 1,
      truncated: flags[3 * i + 1] === 1,
      state: flags[3 * i + 2] === 1 ? states.slice(i * S, (i + 1) * S) : null,
      mask: maskOf(i, 0),
      nextMask: maskOf(i, 1),
    }));
    this.#size = n;
    this.#position = json.position;
    this.#windowStart = json.windowStart;
    this.#count = json.count;
    this.#nextAnchor = json.nextAnchor;
  }
}

/** The counters of a {@linkcode SequenceReplay} saved with its arrays. */
export interface SequenceReplayJson {
  /** Sequences held. */
  size: number;
  /** The slot written next. */
  position: number;
  /** Steps of the episode in progress that are kept. */
  window: number;
  /** The episode step of the first kept step. */
  windowStart: number;
  /** Steps of the episode in progress. */
  count: number;
  /** The episode step where the next sequence's trained part starts. */
  nextAnchor: number;
  /** The actions per stored mask, or 0 when the replay keeps no masks. */
  actionCount: number;
  /** Any other counter (none yet); lets the object be stored as JSON. */
  [key: string]: number;
}
