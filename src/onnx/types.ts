/**
 * The neutral model: every field of onnx.proto (IR 11, onnx 1.18+), in camelCase, with no
 * protobuf wire concepts. The rest of the app uses only these types.
 *
 * Conventions
 * - Optional scalar fields are `undefined` when absent in the file (presence is kept, so a
 *   round trip writes exactly the fields the file had).
 * - Repeated fields are always arrays (empty when absent). Packed numeric tensor data is a typed
 *   array, present only when the file had it.
 * - `bytes` fields are Uint8Array views into the file's buffer (never copied on decode).
 * - `unknownFields` holds the raw wire bytes (tag included) of fields this code does not know,
 *   so a file from a newer ONNX round-trips; they are written back at the end of the message.
 * - int64 values: `number` where values are sizes/versions (dims, versions); `Int64`
 *   (number, or bigint when outside the safe integer range) where real models use extremes
 *   (attribute `i`/`ints`, e.g. INT64_MAX in Slice ends).
 */

export type Int64 = number | bigint;

export interface HasUnknown {
  unknownFields?: Uint8Array[];
}

export interface StringStringEntry extends HasUnknown {
  key?: string;
  value?: string;
}

export interface OperatorSetId extends HasUnknown {
  domain?: string;
  version?: number;
}

export interface Segment extends HasUnknown {
  begin?: number;
  end?: number;
}

/** TensorProto.DataType */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
} as const;
export type DataTypeId = number;

/** TensorProto.DataLocation */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

export interface Tensor extends HasUnknown {
  dims: number[];
  dataType?: number;
  segment?: Segment;
  floatData?: Float32Array;
  int32Data?: Int32Array;
  stringData: Uint8Array[];
  int64Data?: BigInt64Array;
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData: StringStringEntry[];
  dataLocation?: number;
  doubleData?: Float64Array;
  uint64Data?: BigUint64Array;
  metadataProps: StringStringEntry[];
}

export interface SparseTensor extends HasUnknown {
  values?: Tensor;
  indices?: Tensor;
  dims: number[];
}

export interface Dimension extends HasUnknown {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShape extends HasUnknown {
  dim: Dimension[];
}

export interface TypeProtoTensor extends HasUnknown {
  elemType?: number;
  shape?: TensorShape;
}
export interface TypeProtoSequence extends HasUnknown {
  elemType?: TypeProto;
}
export interface TypeProtoMap extends HasUnknown {
  keyType?: number;
  valueType?: TypeProto;
}
export interface TypeProtoOptional extends HasUnknown {
  elemType?: TypeProto;
}
export interface TypeProtoOpaque extends HasUnknown {
  domain?: string;
  name?: string;
}

export interface TypeProto extends HasUnknown {
  tensorType?: TypeProtoTensor;
  sequenceType?: TypeProtoSequence;
  mapType?: TypeProtoMap;
  optionalType?: TypeProtoOptional;
  sparseTensorType?: TypeProtoTensor;
  opaqueType?: TypeProtoOpaque;
  denotation?: string;
}

export interface ValueInfo extends HasUnknown {
  name?: string;
  type?: TypeProto;
  docString?: string;
  metadataProps: StringStringEntry[];
}

/** AttributeProto.AttributeType */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export interface Attribute extends HasUnknown {
  name?: string;
  refAttrName?: string;
  docString?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: Tensor;
  g?: Graph;
  sparseTensor?: SparseTensor;
  tp?: TypeProto;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: Tensor[];
  graphs: Graph[];
  sparseTensors: SparseTensor[];
  typeProtos: TypeProto[];
}

export interface IntIntListEntry extends HasUnknown {
  key?: Int64;
  value: Int64[];
}
export interface SimpleShardedDim extends HasUnknown {
  dimValue?: Int64;
  dimParam?: string;
  numShards?: Int64;
}
export interface ShardedDim extends HasUnknown {
  axis?: Int64;
  simpleSharding: SimpleShardedDim[];
}
export interface ShardingSpec extends HasUnknown {
  tensorName?: string;
  device: Int64[];
  indexToDeviceGroupMap: IntIntListEntry[];
  shardedDim: ShardedDim[];
}
export interface NodeDeviceConfiguration extends HasUnknown {
  configurationId?: string;
  shardingSpec: ShardingSpec[];
  pipelineStage?: number;
}

export interface Node extends HasUnknown {
  inputs: string[];
  outputs: string[];
  name?: string;
  opType?: string;
  domain?: string;
  overload?: string;
  attributes: Attribute[];
  docString?: string;
  metadataProps: StringStringEntry[];
  deviceConfigurations: NodeDeviceConfiguration[];
}

export interface TensorAnnotation extends HasUnknown {
  tensorName?: string;
  quantParameterTensorNames: StringStringEntry[];
}

export interface Graph extends HasUnknown {
  nodes: Node[];
  name?: string;
  initializers: Tensor[];
  sparseInitializers: SparseTensor[];
  docString?: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
  quantizationAnnotation: TensorAnnotation[];
  metadataProps: StringStringEntry[];
}

export interface TrainingInfo extends HasUnknown {
  initialization?: Graph;
  algorithm?: Graph;
  initializationBinding: StringStringEntry[];
  updateBinding: StringStringEntry[];
}

export interface FunctionDef extends HasUnknown {
  name?: string;
  inputs: string[];
  outputs: string[];
  attribute: string[];
  attributeProto: Attribute[];
  nodes: Node[];
  docString?: string;
  opsetImport: OperatorSetId[];
  domain?: string;
  overload?: string;
  valueInfo: ValueInfo[];
  metadataProps: StringStringEntry[];
}

export interface DeviceConfiguration extends HasUnknown {
  name?: string;
  numDevices?: number;
  device: string[];
}

export interface Model extends HasUnknown {
  irVersion?: number;
  opsetImport: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: Graph;
  metadataProps: StringStringEntry[];
  trainingInfo: TrainingInfo[];
  functions: FunctionDef[];
  configuration: DeviceConfiguration[];
}

/** Reads the bytes of external data (TensorProto data_location EXTERNAL). */
export interface ExternalDataResolver {
  /** `length` undefined means "to the end of the file". Throws AppError('external-data'). */
  read(location: string, offset: number, length: number | undefined): Uint8Array;
}
