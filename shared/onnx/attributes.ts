/** Reading node attributes back out of AttributeProto (the inverse of the builder's tags). */
import { type NodeProto, type TensorProto, toNumber } from './proto.ts';

const utf8 = new TextDecoder();

function find(node: NodeProto, name: string) {
  return node.attribute?.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, fallback: number): number;
export function attrInt(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = find(node, name);
  return a ? toNumber(a.i) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? (a.ints ?? []).map(toNumber) : undefined;
}

export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, fallback: number): number;
export function attrFloat(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = find(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? (a.floats ?? []).slice() : undefined;
}

export function attrString(node: NodeProto, name: string): string | undefined;
export function attrString(node: NodeProto, name: string, fallback: string): string;
export function attrString(node: NodeProto, name: string, fallback?: string): string | undefined {
  const a = find(node, name);
  return a?.s ? utf8.decode(a.s) : fallback;
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return find(node, name)?.t ?? undefined;
}
