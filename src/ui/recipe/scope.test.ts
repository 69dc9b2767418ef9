import { describe, expect, it } from 'vitest';
import { matchLayers, opCounts, patternMatcher, scopeGroups, scopesOf } from './scope';

const layers = [
  { key: '/encoder/layer.0/attn/MatMul', op: 'MatMul' },
  { key: '/encoder/layer.0/mlp/fc1/MatMul', op: 'MatMul' },
  { key: '/encoder/layer.1/attn/MatMul', op: 'MatMul' },
  { key: '/encoder/layer.10/attn/MatMul', op: 'MatMul' },
  { key: '/stem/Conv', op: 'Conv' },
  { key: 'blocks.3.attn.qkv', op: 'Gemm' },
];

describe('bulk edit scopes', () => {
  it('matches substrings case-insensitively and globs over the whole key', () => {
    expect(patternMatcher('ATTN')('/encoder/layer.0/attn/MatMul')).toBe(true);
    expect(patternMatcher('')('x')).toBe(false);
    const glob = patternMatcher('/encoder/layer.?/*/MatMul');
    expect(glob('/encoder/layer.1/attn/MatMul')).toBe(true);
    expect(glob('/encoder/layer.10/attn/MatMul')).toBe(false);
    // regex characters in a glob are literal
    expect(patternMatcher('blocks.3.*')('blocks.3.attn.qkv')).toBe(true);
    expect(patternMatcher('blocks.3.*')('blocksX3Xattn')).toBe(false);
  });

  it('finds name scopes with / or . separators', () => {
    expect(scopesOf('/encoder/layer.0/attn/MatMul')).toEqual(['/encoder/', '/encoder/layer.0/', '/encoder/layer.0/attn/']);
    expect(scopesOf('blocks.3.attn.qkv')).toEqual(['blocks.', 'blocks.3.', 'blocks.3.attn.']);
    expect(scopesOf('conv1')).toEqual([]);
  });

  it('lists groups with counts, and a group holds only its own scope', () => {
    const groups = scopeGroups(layers);
    expect(groups.find((g) => g.prefix === '/encoder/')?.count).toBe(4);
    expect(groups.find((g) => g.prefix === '/encoder/layer.1/')?.count).toBe(1);
    // layer.1 does not take in layer.10
    expect(matchLayers(layers, { kind: 'group', prefix: '/encoder/layer.1/' })).toEqual(['/encoder/layer.1/attn/MatMul']);
  });

  it('selects by op type, selection and pattern, in model order', () => {
    expect(matchLayers(layers, { kind: 'op', op: 'MatMul' })).toHaveLength(4);
    expect(matchLayers(layers, { kind: 'selection', keys: ['/stem/Conv', '/encoder/layer.0/attn/MatMul', 'nope'] })).toEqual([
      '/encoder/layer.0/attn/MatMul',
      '/stem/Conv',
    ]);
    expect(matchLayers(layers, { kind: 'pattern', pattern: '*/attn/*' })).toHaveLength(3);
    expect(opCounts(layers)).toEqual([
      { op: 'MatMul', count: 4 },
      { op: 'Conv', count: 1 },
      { op: 'Gemm', count: 1 },
    ]);
  });
});
