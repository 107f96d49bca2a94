import assert from "node:assert/strict";
import { Rng } from "../lib/io/rng.ts";
import {
  floatsAttribute,
  intAttribute,
  OnnxGraphBuilder,
  stringsAttribute,
  toOnnxLstmWeights,
} from "../lib/onnx/graph.ts";
import {
  decodeOnnxModel,
  encodeOnnxModel,
  floatRawData,
  floatTensorData,
  int64RawData,
  OnnxAttributeType,
  OnnxDataType,
} from "../lib/onnx/onnx_proto.ts";

function randomArray(rng: Rng, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let k = 0; k < size; k++) out[k] = rng.uniformIn(-1, 1);
  return out;
}

function lstmModel(rng: Rng, inputSize: number, hiddenSize: number) {
  const weights = {
    w: randomArray(rng, inputSize * 4 * hiddenSize),
    u: randomArray(rng, hiddenSize * 4 * hiddenSize),
    b: randomArray(rng, 4 * hiddenSize),
  };
  const g = new OnnxGraphBuilder({ producerVersion: "0.1.0", docString: "test" });
  g.addInput("x", [1, "batch", inputSize]);
  g.addInput("h", [1, "batch", hiddenSize]);
  g.addInput("c", [1, "batch", hiddenSize]);
  const out = g.lstm("x", { weights, inputSize, hiddenSize, initialH: "h", initialC: "c" });
  const head = g.gemm(g.squeeze(out.yH, [0]), {
    w: randomArray(rng, hiddenSize * 2),
    b: randomArray(rng, 2),
    inFeatures: hiddenSize,
    outFeatures: 2,
    output: "q",
  });
  g.addOutput(head, ["batch", 2]);
  g.addOutput(out.yH, [1, "batch", hiddenSize]);
  g.addOutput(out.yC, [1, "batch", hiddenSize]);
  return { g, weights };
}

Deno.test("encodeOnnxModel and decodeOnnxModel round-trip a built LSTM model", () => {
  const { g, weights } = lstmModel(new Rng(3), 3, 4);
  const model = g.toModel();
  const bytes = encodeOnnxModel(model);
  const decoded = decodeOnnxModel(bytes);
  assert.equal(decoded.irVersion, 8);
  assert.deepEqual(decoded.opsetImport, [{ domain: "", version: 17 }]);
  assert.equal(decoded.producerName, "rnnrl");
  assert.equal(decoded.producerVersion, "0.1.0");
  const graph = decoded.graph!;
  assert.deepEqual(graph.node!.map((node) => node.opType), ["LSTM", "Squeeze", "Gemm"]);
  assert.deepEqual(graph.input!.map((v) => v.name), ["x", "h", "c"]);
  assert.deepEqual(graph.input![0].type!.tensorType!.shape!.dim, [
    { dimValue: 1 },
    { dimParam: "batch" },
    { dimValue: 3 },
  ]);
  assert.equal(graph.input![0].type!.tensorType!.elemType, OnnxDataType.FLOAT);
  const lstm = graph.node![0];
  assert.deepEqual(lstm.input!.slice(4), ["", "h", "c"]);
  const hiddenSize = lstm.attribute!.find((a) => a.name === "hidden_size")!;
  assert.equal(hiddenSize.type, OnnxAttributeType.INT);
  assert.equal(hiddenSize.i, 4);
  const direction = lstm.attribute!.find((a) => a.name === "direction")!;
  assert.equal(new TextDecoder().decode(direction.s), "forward");
  // Initializers come back bit for bit.
  const onnx = toOnnxLstmWeights(weights, 3, 4);
  const byName = new Map(graph.initializer!.map((t) => [t.name, t]));
  assert.deepEqual(byName.get(lstm.input![1])!.dims, [1, 16, 3]);
  assert.deepEqual(floatTensorData(byName.get(lstm.input![1])!), onnx.w);
  assert.deepEqual(floatTensorData(byName.get(lstm.input![2])!), onnx.r);
  assert.deepEqual(floatTensorData(byName.get(lstm.input![3])!), onnx.b);
  const axes = byName.get(graph.node![1].input![1])!;
  assert.equal(axes.dataType, OnnxDataType.INT64);
  assert.deepEqual(axes.rawData, int64RawData([0]));
  // Re-encoding what was decoded gives the same bytes.
  assert.deepEqual(encodeOnnxModel(decoded), bytes);
});

Deno.test("decodeOnnxModel reads list attributes and float_data tensors", () => {
  const bytes = encodeOnnxModel({
    irVersion: 8,
    graph: {
      node: [{
        opType: "Custom",
        input: ["a"],
        output: ["b"],
        attribute: [
          floatsAttribute("fs", [0.5, -2]),
          stringsAttribute("ss", ["Sigmoid", "Tanh"]),
          intAttribute("zero", 0),
        ],
      }],
      initializer: [{ name: "t", dims: [3], dataType: OnnxDataType.FLOAT, floatData: [1, 2, 3] }],
    },
  });
  const graph = decodeOnnxModel(bytes).graph!;
  const [fs, ss, zero] = graph.node![0].attribute!;
  assert.deepEqual(fs.floats, [0.5, -2]);
  assert.deepEqual(ss.strings!.map((s) => new TextDecoder().decode(s)), ["Sigmoid", "Tanh"]);
  // A zero integer is still written, so the attribute keeps its value.
  assert.equal(zero.i, 0);
  assert.deepEqual(floatTensorData(graph.initializer![0]), new Float32Array([1, 2, 3]));
});

Deno.test("decodeOnnxModel rejects bytes that are not protobuf", () => {
  assert.throws(() => decodeOnnxModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f])), TypeError);
});

Deno.test("encodeOnnxModel rejects a field of the wrong type", () => {
  assert.throws(
    () => encodeOnnxModel({ producerName: 3 as unknown as string }),
    /Cannot encode ONNX model/,
  );
});

Deno.test("floatRawData and floatTensorData invert each other", () => {
  const data = new Float32Array([0, -0.5, 3.25e-8, 1e30, -Infinity]);
  const raw = floatRawData(data);
  assert.deepEqual(Array.from(raw.subarray(4, 8)), [0, 0, 0, 0xbf]); // -0.5, little-endian
  assert.deepEqual(floatTensorData({ dataType: 1, rawData: raw }), data);
  assert.throws(() => floatTensorData({ dataType: 7, rawData: raw }), TypeError);
});

Deno.test("toOnnxLstmWeights reorders gates (i,f,g,o) to (i,o,f,c) and transposes", () => {
  // I = 2, H = 1: w[k, gate] = 10·k + gate, so ONNX W[gate', k] must hold 10·k + rnnrl gate.
  const w = new Float32Array([0, 1, 2, 3, 10, 11, 12, 13]);
  const u = new Float32Array([100, 101, 102, 103]);
  const b = new Float32Array([-0, -1, -2, -3]);
  const onnx = toOnnxLstmWeights({ w, u, b }, 2, 1);
  assert.deepEqual(Array.from(onnx.w), [0, 10, 3, 13, 1, 11, 2, 12]);
  assert.deepEqual(Array.from(onnx.r), [100, 103, 101, 102]);
  assert.deepEqual(Array.from(onnx.b), [-0, -3, -1, -2, 0, 0, 0, 0]);
  // H = 2: each gate block keeps its units in order.
  const w2 = new Float32Array(8).map((_, k) => k); // one input row: i0 i1 f0 f1 g0 g1 o0 o1
  const onnx2 = toOnnxLstmWeights({ w: w2, u: new Float32Array(16), b: new Float32Array(8) }, 1, 2);
  assert.deepEqual(Array.from(onnx2.w), [0, 1, 6, 7, 2, 3, 4, 5]);
  assert.throws(() => toOnnxLstmWeights({ w, u, b }, 3, 1), TypeError);
  assert.throws(() => toOnnxLstmWeights({ w, u, b }, 2, 0), RangeError);
});

Deno.test("OnnxGraphBuilder rejects undefined values, duplicate names and bad shapes", () => {
  const g = new OnnxGraphBuilder();
  g.addInput("x", ["batch", 2]);
  assert.throws(() => g.addInput("x", [1]), /already defined/);
  assert.throws(() => g.addInitializer("w", new Float32Array(3), [2, 2]), TypeError);
  assert.throws(() => g.addInput("y", [-1]), RangeError);
  assert.throws(() => g.addInput("z", [""]), TypeError);
  g.relu("missing", { output: "r" });
  assert.throws(() => g.toModel(), /reads undefined value missing/);

  const h = new OnnxGraphBuilder();
  h.addInput("x", [2]);
  h.addOutput("nowhere", [2]);
  assert.throws(() => h.toModel(), /output nowhere is never produced/);
  assert.throws(() => h.relu("x", { output: "x" }), /already defined/);
});

Deno.test("OnnxGraphBuilder.freshName gives names that no value or node has taken", () => {
  const g = new OnnxGraphBuilder();
  g.addInput("v", [1]);
  assert.equal(g.freshName("v"), "v_1");
  assert.equal(g.freshName("w"), "w");
  const outputs = [g.relu("v"), g.relu("v"), g.tanh("v"), g.sigmoid("v")];
  assert.equal(new Set([...outputs, "v"]).size, 5);
  const nodeNames = g.toModel().graph!.node!.map((node) => node.name);
  assert.equal(new Set([...nodeNames, ...outputs, "v"]).size, 9);
});
