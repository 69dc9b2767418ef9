/**
 * Field coverage: a decode-only model that sets every field of onnx.proto (every attribute type on
 * a custom-domain node, every TypeProto kind, sharding, device configurations, exotic data types,
 * int64/float extremes), and a runnable model carrying fields this code does not know.
 */
import { attr, emptyTensor, makeGraph, makeNode, makeSparseTensor, tensorType } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { AttributeType, DataLocation, DataType, type FunctionDef, type Graph, type Node, type TypeProto, type ValueInfo } from '../onnx/types';
import { FLOAT, INT64, f32, floatInput, i64, modelAt, utf8, vi, type Fixture } from './fixture-kit';
import * as ref from './reference';

const X = 'com.example';

function sparse(name: string): ReturnType<typeof makeSparseTensor> {
  return makeSparseTensor(f32(name, [2], [1.5, -2]), i64(`${name}_indices`, [2], [0, 5]), [2, 3]);
}

function vInfo(name: string, type: TypeProto, extra: Partial<ValueInfo> = {}): ValueInfo {
  return { name, type, metadataProps: [], ...extra };
}

/** A subgraph with a subgraph of its own (depth 2 below the attribute). */
function nestedGraph(tag: string): Graph {
  const inner = makeGraph({
    name: `${tag}_inner`,
    outputs: [vi(`${tag}_inner_out`, FLOAT, [1])],
    initializers: [f32(`${tag}_inner_w`, [1], [4])],
    nodes: [makeNode('Identity', [`${tag}_inner_w`], [`${tag}_inner_out`])],
  });
  return makeGraph({
    name: tag,
    inputs: [vi(`${tag}_in`, FLOAT, [null])],
    outputs: [vi(`${tag}_out`, FLOAT, [])],
    initializers: [f32(`${tag}_w`, [2], [1, 2])],
    nodes: [makeNode('Wrap', [`${tag}_in`], [`${tag}_out`], [attr.graph('body', inner)], { domain: X, name: 'node' })],
  });
}

const TYPES: Record<string, TypeProto> = {
  tensor: tensorType(FLOAT, ['N', 3, null, 0]),
  unranked: tensorType(DataType.UINT8),
  sequence: { sequenceType: { elemType: tensorType(FLOAT, ['N']) } },
  map: { mapType: { keyType: INT64, valueType: tensorType(FLOAT, [2]) } },
  optional: { optionalType: { elemType: { sequenceType: { elemType: tensorType(DataType.INT32, [1]) } } } },
  sparse: { sparseTensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 4 }, { dimValue: 5 }] } } },
  opaque: { opaqueType: { domain: X, name: 'Handle' } },
  denoted: {
    denotation: 'IMAGE',
    tensorType: {
      elemType: FLOAT,
      shape: {
        dim: [
          { dimParam: 'N', denotation: 'DATA_BATCH' },
          { dimValue: 3, denotation: 'DATA_CHANNEL' },
          { dimParam: '' },
          {},
        ],
      },
    },
  },
};

/** The all-fields fixture's custom-domain node: every attribute type, doc strings, device configurations. */
function everythingNode(): Node {
  return makeNode(
    'Everything',
    ['x', '', 'x'],
    ['y', 'y2'],
    [
      attr.float('f_neg_zero', -0),
      attr.float('f_nan', NaN),
      attr.float('f_inf', -Infinity),
      attr.int('i_minus_one', -1),
      attr.int('i_max', 2n ** 63n - 1n),
      attr.int('i_min', -(2n ** 63n)),
      attr.int('i_zero', 0),
      attr.string('s_empty', ''),
      attr.string('s_bytes', Uint8Array.of(0xff, 0xfe, 0x00, 0x80)),
      attr.string('s_text', 'naïve ∑ 🚀'),
      attr.tensor('t', emptyTensor({ name: 'complex', dataType: DataType.COMPLEX64, dims: [2], floatData: Float32Array.of(1, -2, 0.5, 3) })),
      attr.graph('g', nestedGraph('g')),
      attr.floats('floats', [NaN, -0, Infinity, -Infinity, 1.5, Math.fround(1e-45)]),
      attr.ints('ints', [0, -1, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 9007199254740991]),
      attr.strings('strings', ['', 'ü', Uint8Array.of(0xc3)]),
      attr.tensors('tensors', [
        emptyTensor({
          name: 'segmented',
          dataType: FLOAT,
          dims: [4],
          segment: { begin: 0, end: 2 },
          floatData: Float32Array.of(1, 2),
          docString: 'a segment of a larger tensor',
          metadataProps: [{ key: 'origin', value: 'split' }],
        }),
        emptyTensor({ name: 'c128', dataType: DataType.COMPLEX128, dims: [1], doubleData: Float64Array.of(1, -1) }),
        makeTensor('f8', DataType.FLOAT8E4M3FN, [3], [0x38, 0xb8, 0x7f]),
        makeTensor('f8e5', DataType.FLOAT8E5M2, [1], [0x3c]),
        makeTensor('f8e8m0', DataType.FLOAT8E8M0, [2], [127, 128]),
        makeTensor('f4', DataType.FLOAT4E2M1, [3], [1, 2, 15]),
        makeTensor('empty', FLOAT, [0, 3], []),
        emptyTensor({ name: 'no_type', dims: [] }),
        emptyTensor({
          name: 'external_ref',
          dataType: FLOAT,
          dims: [1024],
          dataLocation: DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: 'weights.bin' },
            { key: 'offset', value: '4096' },
            { key: 'length', value: '4096' },
            { key: 'checksum', value: '0123456789abcdef' },
          ],
        }),
      ]),
      attr.graphs('graphs', [nestedGraph('g0'), makeGraph({ name: 'empty_graph' })]),
      attr.sparseTensor('sparse', sparse('sp')),
      attr.sparseTensors('sparses', [sparse('sp0'), sparse('sp1')]),
      attr.typeProto('tp', TYPES.denoted),
      attr.typeProtos('tps', Object.values(TYPES)),
      { ...attr.int('documented', 3), docString: 'an attribute with a doc string' },
      { ...attr.float('untyped', 1), type: undefined },
    ],
    {
      domain: X,
      name: 'everything',
      overload: 'v2',
      docString: 'a node with every attribute type',
      metadataProps: [{ key: 'source', value: 'fixtures' }],
      deviceConfigurations: [
        {
          configurationId: 'two_devices',
          pipelineStage: 1,
          shardingSpec: [
            {
              tensorName: 'x',
              device: [0, 1, -1],
              indexToDeviceGroupMap: [{ key: -1, value: [0, 1] }],
              shardedDim: [{ axis: 0, simpleSharding: [{ dimValue: 4, numShards: 2 }, { dimParam: 'N', numShards: 2 }] }],
            },
          ],
        },
      ],
    },
  );
}

/** The function behind the all-fields fixture's node. */
function everythingFunction(): FunctionDef {
  return {
    name: 'Everything',
    domain: X,
    overload: 'v2',
    inputs: ['a', 'b', 'c'],
    outputs: ['y', 'y2'],
    attribute: ['required_attr'],
    attributeProto: [attr.int('count', 2), attr.string('mode', 'fast'), attr.tensor('table', f32('table', [2], [1, 2])), attr.ints('shape', [])],
    nodes: [
      makeNode('Identity', ['a'], ['y'], [attr.ref('unused', 'count', AttributeType.INT)]),
      makeNode('Identity', ['a'], ['y2']),
    ],
    docString: 'the function behind Everything',
    opsetImport: [{ domain: '', version: 23 }],
    valueInfo: [vInfo('a', TYPES.tensor)],
    metadataProps: [{ key: 'k', value: 'v' }],
  };
}

const allFieldsFixture: Fixture = {
  id: 'all-fields-decode-only',
  description: 'every onnx.proto field: every attribute type (incl. TENSORS, GRAPHS, SPARSE_TENSORS, TYPE_PROTOS) on a custom-domain node, every TypeProto kind, sharding and device configuration, exotic dtypes, int64/float extremes',
  features: [
    'float-attr', 'int-attr', 'string-attr', 'tensor-attr', 'graph-attr', 'floats-attr', 'ints-attr', 'strings-attr', 'tensors-attr',
    'graphs-attr', 'sparse-tensor-attr', 'sparse-tensors-attr', 'type-proto-attr', 'type-protos-attr', 'custom-domain', 'segment',
    'complex', 'float8', 'float4', 'sharding', 'device-configuration', 'functions', 'training_info', 'decode-only', 'ir-11',
  ],
  runnable: false,
  build: () => {
    const everything = everythingNode();
    const fn = everythingFunction();
    const graph = makeGraph({
      name: 'all_fields',
      docString: 'graph doc',
      metadataProps: [{ key: 'graph_key', value: 'graph_value' }],
      inputs: [vInfo('x', TYPES.tensor, { docString: 'input doc', metadataProps: [{ key: 'units', value: 'm' }] })],
      outputs: [vInfo('y', TYPES.sequence), vInfo('y2', TYPES.map)],
      valueInfo: Object.entries(TYPES).map(([k, t]) => vInfo(`vi_${k}`, t)),
      initializers: [f32('w', [2], [1, 2]), { ...makeTensor('doc_w', FLOAT, [1], [3]), docString: 'weight doc', metadataProps: [{ key: 'a', value: 'b' }] }],
      sparseInitializers: [sparse('sparse_w')],
      quantizationAnnotation: [{ tensorName: 'w', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 'w_scale' }] }],
      nodes: [everything, makeNode('Identity', ['w'], ['w_copy'], [], { name: 'node' }), makeNode('Identity', ['w'], ['w_copy2'], [], { name: 'node' })],
    });
    return {
      model: modelAt(
        23,
        graph,
        {
          producerName: 'fixtures',
          producerVersion: '',
          domain: 'org.example',
          modelVersion: 0,
          docString: '',
          metadataProps: [{ key: '', value: '' }, { key: 'dup', value: '1' }, { key: 'dup', value: '2' }],
          functions: [fn],
          configuration: [{ name: 'two_devices', numDevices: 2, device: ['cpu:0', 'cpu:1'] }],
          trainingInfo: [{ algorithm: makeGraph({ name: 'algo' }), initializationBinding: [], updateBinding: [{ key: 'w', value: 'w_new' }] }],
        },
        { [X]: 1 },
      ),
    };
  },
  inputs: () => ({}),
};

// ---------------------------------------------------------------------------------------------
// Fields this code does not know: raw wire bytes on many messages (every wire type, a removed
// GraphProto field, the largest field number). They must come back after decode -> encode.

function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const key = (field: number, wire: number) => varint((BigInt(field) << 3n) | BigInt(wire));
const uVarint = (field: number, v: bigint) => Uint8Array.from([...key(field, 0), ...varint(v)]);
const uFixed64 = (field: number, bytes: number[]) => Uint8Array.from([...key(field, 1), ...bytes]);
const uBytes = (field: number, payload: Uint8Array) => Uint8Array.from([...key(field, 2), ...varint(BigInt(payload.length)), ...payload]);
const uFixed32 = (field: number, bytes: number[]) => Uint8Array.from([...key(field, 5), ...bytes]);

const unknownX = Float32Array.of(1, -2, 0.5, 3, -1, 0.25);
const unknownW = Float32Array.of(0.5, -1, 2, 1.5, -0.25, 1);

const unknownFieldsFixture: Fixture = {
  id: 'unknown-fields',
  description: 'a runnable MLP whose messages carry fields this code does not know (varint, fixed64, length-delimited, fixed32; field 999, a removed GraphProto field 3, field 536870911) on Model, Graph, Node, Attribute, Tensor, ValueInfo, TypeProto, shape, dimension, opset and metadata entries',
  features: ['unknown-fields', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const w = { ...f32('W', [3, 2], unknownW), unknownFields: [uVarint(999, 7n), uBytes(1000, utf8('future tensor field'))] };
    const input = vi('x', FLOAT, [2, 3]);
    const tt = input.type!.tensorType!;
    tt.unknownFields = [uVarint(999, 1n)];
    tt.shape!.unknownFields = [uFixed32(999, [1, 2, 3, 4])];
    tt.shape!.dim[0].unknownFields = [uVarint(999, 2n)];
    input.type!.unknownFields = [uBytes(999, Uint8Array.of(8, 1))];
    input.unknownFields = [uVarint(999, 3n)];
    const graph = makeGraph({
      name: 'unknown',
      inputs: [input],
      outputs: [vi('y', FLOAT, [2, 2])],
      initializers: [w],
      nodes: [
        { ...makeNode('MatMul', ['x', 'W'], ['h'], [], { name: 'fc' }), unknownFields: [uFixed64(999, [1, 2, 3, 4, 5, 6, 7, 8])] },
        makeNode('LeakyRelu', ['h'], ['y'], [{ ...attr.float('alpha', 0.25), unknownFields: [uVarint(999, 123456789012345n)] }], { name: 'act' }),
      ],
      unknownFields: [uVarint(3, 1n), uBytes(999, utf8('graph extension'))],
    });
    const model = modelAt(13, graph, {
      metadataProps: [{ key: 'k', value: 'v', unknownFields: [uVarint(999, 0n)] }],
      unknownFields: [
        uVarint(999, 42n),
        uBytes(1000, utf8('a field from a newer ONNX')),
        uFixed32(1001, [0xef, 0xbe, 0xad, 0xde]),
        uFixed64(1002, [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]),
        uVarint(536870911, 2n ** 64n - 1n),
      ],
    });
    model.opsetImport[0].unknownFields = [uVarint(999, 5n)];
    return { model };
  },
  inputs: () => ({ x: floatInput([2, 3], unknownX) }),
  expected: () => ({ y: { dims: [2, 2], data: ref.leakyRelu(ref.matmul(unknownX, unknownW, 2, 3, 2), 0.25), tolerance: 1e-6 } }),
  weights: () => ({ W: unknownW }),
};

export const FIELD_FIXTURES: Fixture[] = [allFieldsFixture, unknownFieldsFixture];
