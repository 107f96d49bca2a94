/**
 * A tiny WebAssembly binary emitter: just enough of the format (function types, an imported
 * memory, exported functions, i32/f32 scalar ops, simd128 loads/stores, f32x4 arithmetic,
 * comparisons and rounding, bitwise v128 ops, a few i32x4 ops, structured control flow) to
 * assemble the CPU backend's kernels from readable TypeScript.
 *
 * Reference: the WebAssembly core specification 2.0, "Binary format" (and the fixed-width SIMD
 * proposal merged into it) for section ids and opcodes.
 *
 * @module
 */

/** A WebAssembly value type. */
export type ValType = "i32" | "f32" | "v128";

const VALTYPE_CODE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Appends the unsigned LEB128 encoding of `value` (a non-negative integer below 2^32). */
function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

/** Appends the signed LEB128 encoding of `value` (a 32-bit integer). */
function sleb(out: number[], value: number): void {
  let v = value | 0;
  while (true) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

/** Appends a length-prefixed vector of already-encoded bytes. */
function withLength(out: number[], bytes: readonly number[]): void {
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** Appends a UTF-8 name. */
function name(out: number[], text: string): void {
  withLength(out, Array.from(new TextEncoder().encode(text)));
}

/** A handle on one local variable (or parameter) of a function under construction. */
export interface Local {
  /** The local's index in the function. */
  readonly index: number;
  /** The local's type. */
  readonly type: ValType;
}

/**
 * The body of one function: a stream of instructions. Methods append one instruction each and
 * return `this`, so short sequences read left to right; control flow takes callbacks that emit
 * the nested body.
 */
export class FunctionBody {
  /** The encoded instructions so far. */
  readonly code: number[] = [];
  readonly #params: readonly ValType[];
  readonly #locals: ValType[] = [];

  /**
   * Starts a function with the given parameter types; parameters are locals 0..params.length-1.
   *
   * @param params The parameter types, in order.
   */
  constructor(params: readonly ValType[]) {
    this.#params = params;
  }

  /** The parameters as locals. */
  get params(): Local[] {
    return this.#params.map((type, index) => ({ index, type }));
  }

  /** The types of the declared (non-parameter) locals, in order. */
  get localTypes(): readonly ValType[] {
    return this.#locals;
  }

  /** Declares a new local of the given type. */
  local(type: ValType): Local {
    this.#locals.push(type);
    return { index: this.#params.length + this.#locals.length - 1, type };
  }

  #op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  #simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(this.code, opcode);
    return this;
  }

  #memarg(alignLog2: number, offset: number): this {
    uleb(this.code, alignLog2);
    uleb(this.code, offset);
    return this;
  }

  /** `local.get`. */
  get(l: Local): this {
    this.code.push(0x20);
    uleb(this.code, l.index);
    return this;
  }

  /** `local.set`. */
  set(l: Local): this {
    this.code.push(0x21);
    uleb(this.code, l.index);
    return this;
  }

  /** `local.tee`. */
  tee(l: Local): this {
    this.code.push(0x22);
    uleb(this.code, l.index);
    return this;
  }

  /** `i32.const`. */
  i32Const(value: number): this {
    this.code.push(0x41);
    sleb(this.code, value);
    return this;
  }

  /** `i32.add`. */
  i32Add(): this {
    return this.#op(0x6a);
  }

  /** `i32.sub`. */
  i32Sub(): this {
    return this.#op(0x6b);
  }

  /** `i32.mul`. */
  i32Mul(): this {
    return this.#op(0x6c);
  }

  /** `i32.and`. */
  i32And(): this {
    return this.#op(0x71);
  }

  /** `i32.shl`. */
  i32Shl(): this {
    return this.#op(0x74);
  }

  /** `i32.shr_u`. */
  i32ShrU(): this {
    return this.#op(0x76);
  }

  /** `i32.eqz`. */
  i32Eqz(): this {
    return this.#op(0x45);
  }

  /** `i32.eq`. */
  i32Eq(): this {
    return this.#op(0x46);
  }

  /** `i32.le_u`. */
  i32LeU(): this {
    return this.#op(0x4d);
  }

  /** `i32.lt_u`. */
  i32LtU(): this {
    return this.#op(0x49);
  }

  /** `local += delta` for an i32 local. */
  addTo(l: Local, delta: number | Local): this {
    this.get(l);
    if (typeof delta === "number") this.i32Const(delta);
    else this.get(delta);
    return this.i32Add().set(l);
  }

  /** `f32.load` with a constant byte offset. */
  f32Load(offset = 0): this {
    return this.#op(0x2a).#memarg(2, offset);
  }

  /** `f32.store` with a constant byte offset. */
  f32Store(offset = 0): this {
    return this.#op(0x38).#memarg(2, offset);
  }

  /** `i64.load` with a constant byte offset (moves two floats bit for bit). */
  i64Load(offset = 0): this {
    return this.#op(0x29).#memarg(3, offset);
  }

  /** `i64.store` with a constant byte offset. */
  i64Store(offset = 0): this {
    return this.#op(0x37).#memarg(3, offset);
  }

  /** `f32.add`: IEEE single-precision addition. */
  f32Add(): this {
    return this.#op(0x92);
  }

  /** `f32.const`. */
  f32Const(value: number): this {
    this.code.push(0x43);
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** `v128.load` with a constant byte offset (alignment hint 16 bytes). */
  v128Load(offset = 0): this {
    return this.#simd(0x00).#memarg(4, offset);
  }

  /** `v128.load32_splat`: loads one 32-bit lane and copies it to all four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.#simd(0x09).#memarg(2, offset);
  }

  /** `v128.load64_zero`: 8 bytes into the low 64-bit lane, the high lane zero. */
  v128Load64Zero(offset = 0): this {
    return this.#simd(0x5d).#memarg(3, offset);
  }

  /** `v128.store64_lane`: stores 64-bit lane `lane` (0 or 1) of the vector on the stack. */
  v128Store64Lane(offset: number, lane: 0 | 1): this {
    this.#simd(0x5b).#memarg(3, offset);
    this.code.push(lane);
    return this;
  }

  /** `v128.store` with a constant byte offset (alignment hint 16 bytes). */
  v128Store(offset = 0): this {
    return this.#simd(0x0b).#memarg(4, offset);
  }

  /** `v128.const` of all-zero bits (four `+0` floats). */
  v128Zero(): this {
    this.#simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }

  /** `v128.const` of four f32 lanes, lane 0 first (each value rounded to float32). */
  v128ConstF32(lanes: readonly [number, number, number, number]): this {
    this.#simd(0x0c);
    const bytes = new Uint8Array(new Float32Array(lanes).buffer);
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** `v128.const` of four i32 lanes, lane 0 first (each value taken modulo 2^32). */
  v128ConstI32(lanes: readonly [number, number, number, number]): this {
    this.#simd(0x0c);
    const bytes = new Uint8Array(new Int32Array(lanes).buffer);
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** `v128.const` with the same f32 value in all four lanes. */
  f32x4Const(value: number): this {
    return this.v128ConstF32([value, value, value, value]);
  }

  /** `v128.const` with the same i32 value in all four lanes. */
  i32x4Const(value: number): this {
    return this.v128ConstI32([value, value, value, value]);
  }

  /**
   * `i8x16.shuffle` expressed on f32 lanes: lane i of the result is lane `lanes[i]` of the two
   * operands concatenated (0–3 the first, 4–7 the second).
   */
  f32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    this.#simd(0x0d);
    for (const lane of lanes) for (let byte = 0; byte < 4; byte++) this.code.push(4 * lane + byte);
    return this;
  }

  /** `f32x4.add`: lane-wise IEEE single-precision addition. */
  f32x4Add(): this {
    return this.#simd(0xe4);
  }

  /** `f32x4.mul`: lane-wise IEEE single-precision multiplication. */
  f32x4Mul(): this {
    return this.#simd(0xe6);
  }

  /** `f32x4.sub`: lane-wise IEEE single-precision subtraction (first operand minus second). */
  f32x4Sub(): this {
    return this.#simd(0xe5);
  }

  /** `f32x4.div`: lane-wise IEEE single-precision division (first operand over second). */
  f32x4Div(): this {
    return this.#simd(0xe7);
  }

  /** `f32x4.min`: lane-wise minimum; NaN if either lane is NaN, and −0 below +0. */
  f32x4Min(): this {
    return this.#simd(0xe8);
  }

  /** `f32x4.max`: lane-wise maximum; NaN if either lane is NaN, and +0 above −0. */
  f32x4Max(): this {
    return this.#simd(0xe9);
  }

  /** `f32x4.abs`: clears the sign bit of every lane (NaN included). */
  f32x4Abs(): this {
    return this.#simd(0xe0);
  }

  /** `f32x4.nearest`: rounds every lane to the nearest integer, ties to even. */
  f32x4Nearest(): this {
    return this.#simd(0x6a);
  }

  /** `f32x4.lt`: lane-wise `a < b`, all ones where true, all zeros where false (NaN: false). */
  f32x4Lt(): this {
    return this.#simd(0x43);
  }

  /** `v128.and`: bitwise and. */
  v128And(): this {
    return this.#simd(0x4e);
  }

  /** `v128.or`: bitwise or. */
  v128Or(): this {
    return this.#simd(0x50);
  }

  /** `v128.xor`: bitwise exclusive or. */
  v128Xor(): this {
    return this.#simd(0x51);
  }

  /**
   * `v128.bitselect`: the stack holds `a`, `b`, `mask`; the result takes each bit from `a` where
   * the mask bit is 1 and from `b` where it is 0.
   */
  v128Bitselect(): this {
    return this.#simd(0x52);
  }

  /**
   * `i32x4.trunc_sat_f32x4_s`: each f32 lane truncated toward zero to a signed i32, saturating
   * out of range, NaN giving 0.
   */
  i32x4TruncSatF32x4S(): this {
    return this.#simd(0xf8);
  }

  /** `f64x2.add`: lane-wise IEEE double-precision addition. */
  f64x2Add(): this {
    return this.#simd(0xf0);
  }

  /** `f64x2.sub`: lane-wise IEEE double-precision subtraction (first operand minus second). */
  f64x2Sub(): this {
    return this.#simd(0xf1);
  }

  /** `f64x2.mul`: lane-wise IEEE double-precision multiplication. */
  f64x2Mul(): this {
    return this.#simd(0xf2);
  }

  /** `f64x2.promote_low_f32x4`: the two low f32 lanes, exactly, as two f64 lanes. */
  f64x2PromoteLowF32x4(): this {
    return this.#simd(0x5f);
  }

  /**
   * `f32x4.demote_f64x2_zero`: the two f64 lanes rounded to f32 (to nearest, ties to even) in
   * the two low lanes, zeros in the high ones.
   */
  f32x4DemoteF64x2Zero(): this {
    return this.#simd(0x5e);
  }

  /** `v128.const` of two f64 lanes, lane 0 first. */
  v128ConstF64(lanes: readonly [number, number]): this {
    this.#simd(0x0c);
    const bytes = new Uint8Array(new Float64Array(lanes).buffer);
    for (const b of bytes) this.code.push(b);
    return this;
  }

  /** `i32x4.add`: lane-wise integer addition, modulo 2^32. */
  i32x4Add(): this {
    return this.#simd(0xae);
  }

  /** `i32x4.shl`: shifts every i32 lane left by the i32 on the stack (taken modulo 32). */
  i32x4Shl(): this {
    return this.#simd(0xab);
  }

  /** `memory.copy` (bulk memory): stack holds destination, source, byte count. */
  memoryCopy(): this {
    return this.#op(0xfc, 0x0a, 0x00, 0x00);
  }

  /** `block ... end` with no result; `br 0` inside jumps past the end. */
  block(body: () => void): this {
    this.#op(0x02, 0x40);
    body();
    return this.#op(0x0b);
  }

  /** `loop ... end` with no result; `br 0` inside jumps back to the start. */
  loop(body: () => void): this {
    this.#op(0x03, 0x40);
    body();
    return this.#op(0x0b);
  }

  /** `if ... else ... end` on the i32 on the stack, with no result. */
  if(then: () => void, otherwise?: () => void): this {
    this.#op(0x04, 0x40);
    then();
    if (otherwise) {
      this.#op(0x05);
      otherwise();
    }
    return this.#op(0x0b);
  }

  /** `br depth`. */
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(this.code, depth);
    return this;
  }

  /** `br_if depth`. */
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(this.code, depth);
    return this;
  }

  /**
   * A counted loop `for (counter = 0; counter < limit; counter++) body()`, skipped entirely
   * when `limit` is 0 (compared unsigned).
   */
  forRange(counter: Local, limit: Local, body: () => void): this {
    this.i32Const(0).set(counter);
    return this.block(() => {
      this.get(counter).get(limit).i32LtU().i32Eqz().brIf(0);
      this.loop(() => {
        body();
        this.addTo(counter, 1);
        this.get(counter).get(limit).i32LtU().brIf(0);
      });
    });
  }
}

/** One function of a module: its exported name, signature and body. */
export interface FunctionDef {
  /** The export name. */
  name: string;
  /** The body, built on a {@linkcode FunctionBody} whose params give the signature. */
  body: FunctionBody;
  /** The parameter types. */
  params: readonly ValType[];
}

/**
 * Assembles a module that imports one memory as `env.memory` and exports the given functions
 * (each with no results).
 *
 * @param functions The functions, in export order.
 * @returns The module's bytes.
 */
export function assembleModule(functions: readonly FunctionDef[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, content: number[]) => {
    out.push(id);
    withLength(out, content);
  };

  // Type section: one function type per function (duplicates are allowed).
  const types: number[] = [];
  uleb(types, functions.length);
  for (const f of functions) {
    types.push(0x60);
    uleb(types, f.params.length);
    for (const p of f.params) types.push(VALTYPE_CODE[p]);
    uleb(types, 0);
  }
  section(1, types);

  // Import section: env.memory, limits with a minimum of 1 page and no maximum.
  const imports: number[] = [];
  uleb(imports, 1);
  name(imports, "env");
  name(imports, "memory");
  imports.push(0x02, 0x00);
  uleb(imports, 1);
  section(2, imports);

  // Function section: function i has type i.
  const funcs: number[] = [];
  uleb(funcs, functions.length);
  functions.forEach((_, i) => uleb(funcs, i));
  section(3, funcs);

  // Export section.
  const exports: number[] = [];
  uleb(exports, functions.length);
  functions.forEach((f, i) => {
    name(exports, f.name);
    exports.push(0x00);
    uleb(exports, i);
  });
  section(7, exports);

  // Code section: locals declared one group per local, then the body and `end`.
  const code: number[] = [];
  uleb(code, functions.length);
  for (const f of functions) {
    const body: number[] = [];
    const locals = f.body.localTypes;
    uleb(body, locals.length);
    for (const t of locals) {
      uleb(body, 1);
      body.push(VALTYPE_CODE[t]);
    }
    for (const b of f.body.code) body.push(b);
    body.push(0x0b);
    withLength(code, body);
  }
  section(10, code);
  return new Uint8Array(out);
}
