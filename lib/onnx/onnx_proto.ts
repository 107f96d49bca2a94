/**
 * The subset of the ONNX protobuf schema that rnnrl writes and reads: models, graphs, nodes,
 * attributes, tensors and typed value infos, with encoders and decoders built by protobufjs.
 *
 * The schema below is written for this project from the field numbers of `onnx/onnx.proto`
 * (proto2, as upstream). Fields are named in camelCase, the protobufjs convention. Messages and
 * fields that rnnrl never uses (sparse tensors, training info, functions, sequence and map
 * types) are left out; a decoder skips them if it meets them.
 *
 * @module
 */

import { protobuf } from "./_protobuf.ts";

/** ONNX `TensorProto.DataType` codes used by rnnrl. */
export const OnnxDataType = {
  /** 32-bit IEEE float. */
  FLOAT: 1,
  /** 32-bit signed integer. */
  INT32: 6,
  /** 64-bit signed integer (shape and axes operands). */
  INT64: 7,
  /** 64-bit IEEE float. */
  DOUBLE: 11,
} as const;

/** ONNX `AttributeProto.AttributeType` codes. */
export const OnnxAttributeType = {
  /** A single float in `f`. */
  FLOAT: 1,
  /** A single integer in `i`. */
  INT: 2,
  /** A single UTF-8 string in `s`. */
  STRING: 3,
  /** A tensor in `t`. */
  TENSOR: 4,
  /** A list of floats in `floats`. */
  FLOATS: 6,
  /** A list of integers in `ints`. */
  INTS: 7,
  /** A list of UTF-8 strings in `strings`. */
  STRINGS: 8,
} as const;

/** One dimension of a tensor shape: a fixed size or a symbolic name such as `"batch"`. */
export interface OnnxDimension {
  /** The fixed size, when the dimension is known. */
  dimValue?: number;
  /** The symbolic name, when the dimension is only known at run time. */
  dimParam?: string;
}

/** A tensor shape (`TensorShapeProto`). */
export interface OnnxTensorShape {
  /** The dimensions, outermost first. */
  dim?: OnnxDimension[];
}

/** The type of a tensor value (`TypeProto.Tensor`). */
export interface OnnxTensorType {
  /** The element type, one of {@linkcode OnnxDataType}. */
  elemType?: number;
  /** The shape; absent when the rank is unknown. */
  shape?: OnnxTensorShape;
}

/** The type of a value (`TypeProto`); rnnrl only uses tensors. */
export interface OnnxType {
  /** The tensor type. */
  tensorType?: OnnxTensorType;
  /** An optional standard denotation. */
  denotation?: string;
}

/** A named, typed graph input or output (`ValueInfoProto`). */
export interface OnnxValueInfo {
  /** The value name. */
  name?: string;
  /** Its type and shape. */
  type?: OnnxType;
  /** Human-readable documentation. */
  docString?: string;
}

/** A serialized tensor (`TensorProto`). Float data travels in `rawData`, little-endian. */
export interface OnnxTensor {
  /** The shape. */
  dims?: number[];
  /** The element type, one of {@linkcode OnnxDataType}. */
  dataType?: number;
  /** Float elements, when not stored in `rawData`. */
  floatData?: number[];
  /** Int32 (and smaller integer) elements, when not stored in `rawData`. */
  int32Data?: number[];
  /** Int64 elements, when not stored in `rawData`. */
  int64Data?: number[];
  /** The tensor name (initializers are referred to by it). */
  name?: string;
  /** Elements as fixed-width little-endian bytes. */
  rawData?: Uint8Array;
  /** Double elements, when not stored in `rawData`. */
  doubleData?: number[];
  /** Human-readable documentation. */
  docString?: string;
}

/** A named attribute of a node (`AttributeProto`); `type` says which value field is set. */
export interface OnnxAttribute {
  /** The attribute name. */
  name?: string;
  /** The value kind, one of {@linkcode OnnxAttributeType}. */
  type?: number;
  /** A float value. */
  f?: number;
  /** An integer value. */
  i?: number;
  /** A UTF-8 string value. */
  s?: Uint8Array;
  /** A tensor value. */
  t?: OnnxTensor;
  /** A list of floats. */
  floats?: number[];
  /** A list of integers. */
  ints?: number[];
  /** A list of UTF-8 strings. */
  strings?: Uint8Array[];
  /** Human-readable documentation. */
  docString?: string;
}

/** One operator application (`NodeProto`). */
export interface OnnxNode {
  /** Input value names, in the operator's order; `""` skips an optional input. */
  input?: string[];
  /** Output value names, in the operator's order. */
  output?: string[];
  /** An optional node name. */
  name?: string;
  /** The operator, e.g. `"LSTM"`. */
  opType?: string;
  /** The operator set domain; empty for the standard ONNX domain. */
  domain?: string;
  /** The attributes. */
  attribute?: OnnxAttribute[];
  /** Human-readable documentation. */
  docString?: string;
}

/** A computation graph (`GraphProto`). */
export interface OnnxGraph {
  /** Nodes in topological order. */
  node?: OnnxNode[];
  /** The graph name. */
  name?: string;
  /** Constant tensors referred to by name. */
  initializer?: OnnxTensor[];
  /** Human-readable documentation. */
  docString?: string;
  /** Graph inputs. */
  input?: OnnxValueInfo[];
  /** Graph outputs. */
  output?: OnnxValueInfo[];
  /** Optional types of intermediate values. */
  valueInfo?: OnnxValueInfo[];
}

/** An operator set a model imports (`OperatorSetIdProto`). */
export interface OnnxOperatorSetId {
  /** The domain; empty for the standard ONNX domain. */
  domain?: string;
  /** The operator set version. */
  version?: number;
}

/** A key-value metadata entry (`StringStringEntryProto`). */
export interface OnnxStringEntry {
  /** The key. */
  key?: string;
  /** The value. */
  value?: string;
}

/** A whole model (`ModelProto`). */
export interface OnnxModel {
  /** The IR version (8 goes with opset 17). */
  irVersion?: number;
  /** The operator sets the graph uses. */
  opsetImport?: OnnxOperatorSetId[];
  /** The tool that wrote the model. */
  producerName?: string;
  /** The version of that tool. */
  producerVersion?: string;
  /** A reverse-DNS model domain. */
  domain?: string;
  /** The model version. */
  modelVersion?: number;
  /** Human-readable documentation. */
  docString?: string;
  /** The graph. */
  graph?: OnnxGraph;
  /** Named metadata. */
  metadataProps?: OnnxStringEntry[];
}

// Field numbers are those of onnx/onnx.proto; only the subset above is declared.
const SCHEMA = `
syntax = "proto2";
package onnx;

message AttributeProto {
  optional string name = 1;
  optional string doc_string = 13;
  optional int32 type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const ROOT: protobuf.Root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const MODEL_TYPE: protobuf.Type = ROOT.lookupType("onnx.ModelProto");

/** Turns decoded values into plain JS: int64 as numbers, bytes as Uint8Array copies. */
const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  defaults: false,
  arrays: false,
};

/**
 * Serializes an ONNX model to protobuf bytes (what a `.onnx` file holds).
 *
 * @param model The model as a plain object.
 * @returns The encoded bytes.
 * @throws {TypeError} When a field has the wrong type.
 *
 * @example
 * ```ts
 * import { decodeOnnxModel, encodeOnnxModel } from "./onnx_proto.ts";
 * const bytes = encodeOnnxModel({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }] });
 * if (decodeOnnxModel(bytes).irVersion !== 8) throw new Error("round trip");
 * ```
 */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const problem = MODEL_TYPE.verify(model);
  if (problem !== null) throw new TypeError(`Cannot encode ONNX model: ${problem}`);
  const bytes = MODEL_TYPE.encode(MODEL_TYPE.fromObject(model as Record<string, unknown>))
    .finish();
  // protobufjs may hand back a view into a pooled buffer (or a Node Buffer); return a plain copy.
  return new Uint8Array(bytes);
}

/**
 * Parses protobuf bytes into an ONNX model. Fields outside rnnrl's subset are skipped.
 *
 * @param bytes The contents of a `.onnx` file.
 * @returns The model as a plain object; int64 fields become numbers, bytes fields Uint8Arrays.
 * @throws {TypeError} When the bytes are not a valid encoding.
 *
 * @example
 * ```ts
 * import { decodeOnnxModel, encodeOnnxModel } from "./onnx_proto.ts";
 * const model = decodeOnnxModel(encodeOnnxModel({ producerName: "rnnrl" }));
 * if (model.producerName !== "rnnrl") throw new Error("round trip");
 * ```
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  let message: protobuf.Message;
  try {
    message = MODEL_TYPE.decode(bytes);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TypeError(`Cannot decode ONNX model: ${detail}`);
  }
  const object = MODEL_TYPE.toObject(message, TO_OBJECT_OPTIONS);
  return copyBytes(object) as OnnxModel;
}

/** Deep-copies decoded objects, replacing Buffer views with standalone Uint8Arrays. */
function copyBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(copyBytes);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = copyBytes(field);
    return out;
  }
  return value;
}

/**
 * Reads the elements of a FLOAT tensor, from `rawData` (little-endian) or `floatData`.
 *
 * @param tensor A decoded or built tensor.
 * @returns The elements in row-major order.
 * @throws {TypeError} When the tensor is not FLOAT or its byte length is not a multiple of 4.
 *
 * @example
 * ```ts
 * import { floatTensorData } from "./onnx_proto.ts";
 * const data = floatTensorData({ dataType: 1, dims: [2], floatData: [1, 2] });
 * if (data[1] !== 2) throw new Error("float data");
 * ```
 */
export function floatTensorData(tensor: OnnxTensor): Float32Array {
  if (tensor.dataType !== OnnxDataType.FLOAT) {
    throw new TypeError(
      `Cannot read tensor ${tensor.name ?? "(unnamed)"} as float: data type is ${tensor.dataType}`,
    );
  }
  const raw = tensor.rawData;
  if (raw === undefined || raw.length === 0) return Float32Array.from(tensor.floatData ?? []);
  if (raw.length % 4 !== 0) {
    throw new TypeError(
      `Cannot read tensor ${tensor.name ?? "(unnamed)"} as float: ${raw.length} raw bytes`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(raw.length / 4);
  for (let k = 0; k < out.length; k++) out[k] = view.getFloat32(4 * k, true);
  return out;
}

/**
 * Packs float32 values as the little-endian bytes of a tensor's `rawData`.
 *
 * @param data The elements.
 * @returns A new byte array of length 4·data.length.
 *
 * @example
 * ```ts
 * import { floatRawData } from "./onnx_proto.ts";
 * if (floatRawData(new Float32Array([1, 2])).length !== 8) throw new Error("4 bytes each");
 * ```
 */
export function floatRawData(data: Float32Array): Uint8Array {
  const out = new Uint8Array(4 * data.length);
  const view = new DataView(out.buffer);
  for (let k = 0; k < data.length; k++) view.setFloat32(4 * k, data[k], true);
  return out;
}

/**
 * Packs integers as the little-endian bytes of an INT64 tensor's `rawData`.
 *
 * @param data The elements; each must be a safe integer.
 * @returns A new byte array of length 8·data.length.
 * @throws {RangeError} When an element is not a safe integer.
 *
 * @example
 * ```ts
 * import { int64RawData } from "./onnx_proto.ts";
 * if (int64RawData([-1]).length !== 8) throw new Error("8 bytes each");
 * ```
 */
export function int64RawData(data: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 * data.length);
  const view = new DataView(out.buffer);
  data.forEach((value, k) => {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot pack int64 tensor: element ${k} is ${value}`);
    }
    view.setBigInt64(8 * k, BigInt(value), true);
  });
  return out;
}
