/**
 * The wire schema of onnx.proto (IR 11, onnx 1.18+): field numbers, kinds and the neutral
 * property each maps to. The codec is generic over these tables, so adding a field of a newer
 * ONNX is one line here (and until then it round-trips as an unknown field).
 */

/**
 * Field kinds:
 * - str: string (UTF-8), bytes: Uint8Array view, msg: nested message
 * - i64: int64 as Int64 (number, or bigint outside the safe range)
 * - n64: int64 as number (sizes and versions), i32: int32/enum as number
 * - f32: float (fixed32) as number
 * - F32/I32/I64/F64/U64: packed tensor data as Float32Array/Int32Array/BigInt64Array/
 *   Float64Array/BigUint64Array
 */
export type FieldKind =
  | 'str'
  | 'bytes'
  | 'msg'
  | 'i64'
  | 'n64'
  | 'i32'
  | 'f32'
  | 'F32'
  | 'I32'
  | 'I64'
  | 'F64'
  | 'U64';

export interface FieldDef {
  no: number;
  key: string;
  kind: FieldKind;
  repeated: boolean;
  /** message schema name for kind 'msg' */
  ref?: string;
}

export interface MessageSchema {
  name: string;
  /** fields in ascending field-number order (the order they are written) */
  fields: FieldDef[];
  /** field number -> field */
  byNo: (FieldDef | undefined)[];
  /** keys of repeated non-typed-array fields, initialised to [] on decode */
  arrayKeys: string[];
}

type Spec = [no: number, key: string, kind: FieldKind, repeated?: 'rep', ref?: string];

const SPECS: Record<string, Spec[]> = {
  StringStringEntry: [
    [1, 'key', 'str'],
    [2, 'value', 'str'],
  ],
  OperatorSetId: [
    [1, 'domain', 'str'],
    [2, 'version', 'n64'],
  ],
  Segment: [
    [1, 'begin', 'n64'],
    [2, 'end', 'n64'],
  ],
  Tensor: [
    [1, 'dims', 'n64', 'rep'],
    [2, 'dataType', 'i32'],
    [3, 'segment', 'msg', undefined, 'Segment'],
    [4, 'floatData', 'F32', 'rep'],
    [5, 'int32Data', 'I32', 'rep'],
    [6, 'stringData', 'bytes', 'rep'],
    [7, 'int64Data', 'I64', 'rep'],
    [8, 'name', 'str'],
    [9, 'rawData', 'bytes'],
    [10, 'doubleData', 'F64', 'rep'],
    [11, 'uint64Data', 'U64', 'rep'],
    [12, 'docString', 'str'],
    [13, 'externalData', 'msg', 'rep', 'StringStringEntry'],
    [14, 'dataLocation', 'i32'],
    [16, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
  ],
  SparseTensor: [
    [1, 'values', 'msg', undefined, 'Tensor'],
    [2, 'indices', 'msg', undefined, 'Tensor'],
    [3, 'dims', 'n64', 'rep'],
  ],
  Dimension: [
    [1, 'dimValue', 'n64'],
    [2, 'dimParam', 'str'],
    [3, 'denotation', 'str'],
  ],
  TensorShape: [[1, 'dim', 'msg', 'rep', 'Dimension']],
  TypeProtoTensor: [
    [1, 'elemType', 'i32'],
    [2, 'shape', 'msg', undefined, 'TensorShape'],
  ],
  TypeProtoSequence: [[1, 'elemType', 'msg', undefined, 'TypeProto']],
  TypeProtoMap: [
    [1, 'keyType', 'i32'],
    [2, 'valueType', 'msg', undefined, 'TypeProto'],
  ],
  TypeProtoOptional: [[1, 'elemType', 'msg', undefined, 'TypeProto']],
  TypeProtoOpaque: [
    [1, 'domain', 'str'],
    [2, 'name', 'str'],
  ],
  TypeProto: [
    [1, 'tensorType', 'msg', undefined, 'TypeProtoTensor'],
    [4, 'sequenceType', 'msg', undefined, 'TypeProtoSequence'],
    [5, 'mapType', 'msg', undefined, 'TypeProtoMap'],
    [6, 'denotation', 'str'],
    [7, 'opaqueType', 'msg', undefined, 'TypeProtoOpaque'],
    [8, 'sparseTensorType', 'msg', undefined, 'TypeProtoTensor'],
    [9, 'optionalType', 'msg', undefined, 'TypeProtoOptional'],
  ],
  ValueInfo: [
    [1, 'name', 'str'],
    [2, 'type', 'msg', undefined, 'TypeProto'],
    [3, 'docString', 'str'],
    [4, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
  ],
  Attribute: [
    [1, 'name', 'str'],
    [2, 'f', 'f32'],
    [3, 'i', 'i64'],
    [4, 's', 'bytes'],
    [5, 't', 'msg', undefined, 'Tensor'],
    [6, 'g', 'msg', undefined, 'Graph'],
    [7, 'floats', 'f32', 'rep'],
    [8, 'ints', 'i64', 'rep'],
    [9, 'strings', 'bytes', 'rep'],
    [10, 'tensors', 'msg', 'rep', 'Tensor'],
    [11, 'graphs', 'msg', 'rep', 'Graph'],
    [13, 'docString', 'str'],
    [14, 'tp', 'msg', undefined, 'TypeProto'],
    [15, 'typeProtos', 'msg', 'rep', 'TypeProto'],
    [20, 'type', 'i32'],
    [21, 'refAttrName', 'str'],
    [22, 'sparseTensor', 'msg', undefined, 'SparseTensor'],
    [23, 'sparseTensors', 'msg', 'rep', 'SparseTensor'],
  ],
  IntIntListEntry: [
    [1, 'key', 'i64'],
    [2, 'value', 'i64', 'rep'],
  ],
  SimpleShardedDim: [
    [1, 'dimValue', 'i64'],
    [2, 'dimParam', 'str'],
    [3, 'numShards', 'i64'],
  ],
  ShardedDim: [
    [1, 'axis', 'i64'],
    [2, 'simpleSharding', 'msg', 'rep', 'SimpleShardedDim'],
  ],
  ShardingSpec: [
    [1, 'tensorName', 'str'],
    [2, 'device', 'i64', 'rep'],
    [3, 'indexToDeviceGroupMap', 'msg', 'rep', 'IntIntListEntry'],
    [4, 'shardedDim', 'msg', 'rep', 'ShardedDim'],
  ],
  NodeDeviceConfiguration: [
    [1, 'configurationId', 'str'],
    [2, 'shardingSpec', 'msg', 'rep', 'ShardingSpec'],
    [3, 'pipelineStage', 'i32'],
  ],
  Node: [
    [1, 'inputs', 'str', 'rep'],
    [2, 'outputs', 'str', 'rep'],
    [3, 'name', 'str'],
    [4, 'opType', 'str'],
    [5, 'attributes', 'msg', 'rep', 'Attribute'],
    [6, 'docString', 'str'],
    [7, 'domain', 'str'],
    [8, 'overload', 'str'],
    [9, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
    [10, 'deviceConfigurations', 'msg', 'rep', 'NodeDeviceConfiguration'],
  ],
  TensorAnnotation: [
    [1, 'tensorName', 'str'],
    [2, 'quantParameterTensorNames', 'msg', 'rep', 'StringStringEntry'],
  ],
  Graph: [
    [1, 'nodes', 'msg', 'rep', 'Node'],
    [2, 'name', 'str'],
    [5, 'initializers', 'msg', 'rep', 'Tensor'],
    [10, 'docString', 'str'],
    [11, 'inputs', 'msg', 'rep', 'ValueInfo'],
    [12, 'outputs', 'msg', 'rep', 'ValueInfo'],
    [13, 'valueInfo', 'msg', 'rep', 'ValueInfo'],
    [14, 'quantizationAnnotation', 'msg', 'rep', 'TensorAnnotation'],
    [15, 'sparseInitializers', 'msg', 'rep', 'SparseTensor'],
    [16, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
  ],
  TrainingInfo: [
    [1, 'initialization', 'msg', undefined, 'Graph'],
    [2, 'algorithm', 'msg', undefined, 'Graph'],
    [3, 'initializationBinding', 'msg', 'rep', 'StringStringEntry'],
    [4, 'updateBinding', 'msg', 'rep', 'StringStringEntry'],
  ],
  FunctionDef: [
    [1, 'name', 'str'],
    [4, 'inputs', 'str', 'rep'],
    [5, 'outputs', 'str', 'rep'],
    [6, 'attribute', 'str', 'rep'],
    [7, 'nodes', 'msg', 'rep', 'Node'],
    [8, 'docString', 'str'],
    [9, 'opsetImport', 'msg', 'rep', 'OperatorSetId'],
    [10, 'domain', 'str'],
    [11, 'attributeProto', 'msg', 'rep', 'Attribute'],
    [12, 'valueInfo', 'msg', 'rep', 'ValueInfo'],
    [13, 'overload', 'str'],
    [14, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
  ],
  DeviceConfiguration: [
    [1, 'name', 'str'],
    [2, 'numDevices', 'i32'],
    [3, 'device', 'str', 'rep'],
  ],
  Model: [
    [1, 'irVersion', 'n64'],
    [2, 'producerName', 'str'],
    [3, 'producerVersion', 'str'],
    [4, 'domain', 'str'],
    [5, 'modelVersion', 'n64'],
    [6, 'docString', 'str'],
    [7, 'graph', 'msg', undefined, 'Graph'],
    [8, 'opsetImport', 'msg', 'rep', 'OperatorSetId'],
    [14, 'metadataProps', 'msg', 'rep', 'StringStringEntry'],
    [20, 'trainingInfo', 'msg', 'rep', 'TrainingInfo'],
    [25, 'functions', 'msg', 'rep', 'FunctionDef'],
    [26, 'configuration', 'msg', 'rep', 'DeviceConfiguration'],
  ],
};

const TYPED_KINDS = new Set<FieldKind>(['F32', 'I32', 'I64', 'F64', 'U64']);

export function isTypedKind(kind: FieldKind): boolean {
  return TYPED_KINDS.has(kind);
}

function build(): Record<string, MessageSchema> {
  const out: Record<string, MessageSchema> = {};
  for (const [name, specs] of Object.entries(SPECS)) {
    const fields: FieldDef[] = specs
      .map(([no, key, kind, rep, ref]) => ({ no, key, kind, repeated: rep === 'rep', ref }))
      .sort((a, b) => a.no - b.no);
    const byNo: (FieldDef | undefined)[] = [];
    for (const f of fields) byNo[f.no] = f;
    const arrayKeys = fields.filter((f) => f.repeated && !TYPED_KINDS.has(f.kind)).map((f) => f.key);
    out[name] = { name, fields, byNo, arrayKeys };
  }
  for (const s of Object.values(out)) {
    for (const f of s.fields) {
      if (f.kind === 'msg' && (!f.ref || !out[f.ref])) throw new Error(`schema: ${s.name}.${f.key} has no message ${f.ref}`);
    }
  }
  return out;
}

export const SCHEMAS: Readonly<Record<string, MessageSchema>> = build();
