/**
 * Factories for neutral model objects with every array field filled, so builders (tests,
 * compression passes) write only what matters.
 */
import {
  AttributeType,
  DataType,
  type Attribute,
  type Graph,
  type Int64,
  type Model,
  type Node,
  type SparseTensor,
  type Tensor,
  type TypeProto,
  type ValueInfo,
} from './types';

export function makeModel(p: Partial<Model> & { graph: Graph }): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'onnx-compression-studio',
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    ...p,
  };
}

export function makeGraph(p: Partial<Graph> = {}): Graph {
  return {
    nodes: [],
    name: 'graph',
    initializers: [],
    sparseInitializers: [],
    inputs: [],
    outputs: [],
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
    ...p,
  };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Attribute[] = [],
  extra: Partial<Node> = {},
): Node {
  return {
    inputs,
    outputs,
    opType,
    attributes,
    metadataProps: [],
    deviceConfigurations: [],
    ...extra,
  };
}

export function emptyTensor(p: Partial<Tensor> = {}): Tensor {
  return { dims: [], stringData: [], externalData: [], metadataProps: [], ...p };
}

export function emptyAttribute(p: Partial<Attribute> = {}): Attribute {
  return {
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
    ...p,
  };
}

const enc = new TextEncoder();
const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? enc.encode(s) : s);

/** Attribute factories, one per AttributeType. */
export const attr = {
  float: (name: string, f: number) => emptyAttribute({ name, type: AttributeType.FLOAT, f }),
  int: (name: string, i: Int64) => emptyAttribute({ name, type: AttributeType.INT, i }),
  string: (name: string, s: string | Uint8Array) => emptyAttribute({ name, type: AttributeType.STRING, s: bytes(s) }),
  tensor: (name: string, t: Tensor) => emptyAttribute({ name, type: AttributeType.TENSOR, t }),
  graph: (name: string, g: Graph) => emptyAttribute({ name, type: AttributeType.GRAPH, g }),
  floats: (name: string, floats: number[]) => emptyAttribute({ name, type: AttributeType.FLOATS, floats }),
  ints: (name: string, ints: Int64[]) => emptyAttribute({ name, type: AttributeType.INTS, ints }),
  strings: (name: string, strings: (string | Uint8Array)[]) =>
    emptyAttribute({ name, type: AttributeType.STRINGS, strings: strings.map(bytes) }),
  tensors: (name: string, tensors: Tensor[]) => emptyAttribute({ name, type: AttributeType.TENSORS, tensors }),
  graphs: (name: string, graphs: Graph[]) => emptyAttribute({ name, type: AttributeType.GRAPHS, graphs }),
  sparseTensor: (name: string, sparseTensor: SparseTensor) =>
    emptyAttribute({ name, type: AttributeType.SPARSE_TENSOR, sparseTensor }),
  sparseTensors: (name: string, sparseTensors: SparseTensor[]) =>
    emptyAttribute({ name, type: AttributeType.SPARSE_TENSORS, sparseTensors }),
  typeProto: (name: string, tp: TypeProto) => emptyAttribute({ name, type: AttributeType.TYPE_PROTO, tp }),
  typeProtos: (name: string, typeProtos: TypeProto[]) =>
    emptyAttribute({ name, type: AttributeType.TYPE_PROTOS, typeProtos }),
  /** A reference to an attribute of the enclosing function (inside FunctionProto bodies). */
  ref: (name: string, refAttrName: string, type: number) => emptyAttribute({ name, refAttrName, type }),
};

/** A tensor TypeProto; dims: number = fixed, string = symbolic, null = unknown; shape undefined = unranked. */
export function tensorType(elemType: number, shape?: (number | string | null)[]): TypeProto {
  return {
    tensorType: {
      elemType,
      shape: shape
        ? {
            dim: shape.map((d) =>
              typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
            ),
          }
        : undefined,
    },
  };
}

export function makeValueInfo(name: string, elemType: number = DataType.FLOAT, shape?: (number | string | null)[]): ValueInfo {
  return { name, type: tensorType(elemType, shape), metadataProps: [] };
}

/** A COO sparse tensor: `indices` are linear (flattened) positions, as int64. */
export function makeSparseTensor(values: Tensor, indices: Tensor, dims: number[]): SparseTensor {
  return { values, indices, dims };
}
