import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classIndexByFolder, labeledBatch, parseLabeledCsv, parseLabeledJson } from './labeled';
import { inputsFromJsonObject } from './parse-inputs';

const digitsInput = [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 8, 8] }];

describe('labeled sets', () => {
  it('reads the sample test set', () => {
    const json = JSON.parse(fs.readFileSync(new URL('../../public/sample/digits-test.json', import.meta.url), 'utf8'));
    const set = parseLabeledJson('digits-test.json', json, digitsInput);
    expect(set.inputName).toBe('input');
    expect(set.sampleDims).toEqual([1, 8, 8]);
    expect(set.labels.length).toBe(450);
    expect(set.classNames).toHaveLength(10);
    expect(set.labels[0]).toBe(json.labels[0]);
    expect(set.data[2]).toBe(json.inputs[0][2]);
    const b = labeledBatch(set, 'float32', 448, 64);
    expect(b.dims).toEqual([2, 1, 8, 8]);
    expect(b.data[0]).toBe(json.inputs[448][0]);
  });

  it('reads a list of {input, label} with class names and names bad items', () => {
    const set = parseLabeledJson('l.json', [{ input: [[1, 2]], label: 1 }, { input: [[3, 4]], label: '0' }], [{ name: 'x', dtype: 'float32', shape: ['n', 1, 2] }]);
    expect(Array.from(set.labels)).toEqual([1, 0]);
    expect(Array.from(set.data)).toEqual([1, 2, 3, 4]);
    expect(() => parseLabeledJson('l.json', [{ input: [1, 2] }], digitsInput)).toThrow(/item 0 is not/);
    expect(() => parseLabeledJson('l.json', { inputs: [[1, 2]], labels: [0] }, digitsInput)).toThrow(/a sample has 2 values; the model's input "input" \[batch, 1, 8, 8\] needs 64/);
    expect(() => parseLabeledJson('l.json', { inputs: [[1, 2]], labels: ['cat'] }, [{ name: 'x', dtype: 'float32', shape: ['n', 2] }])).toThrow(/label "cat" is not a class index/);
  });

  it('reads CSV with a header and a named label column, or label-first without one', () => {
    const x = [{ name: 'x', dtype: 'float32', shape: ['n', 3] }];
    const a = parseLabeledCsv('a.csv', 'f1,f2,f3,label\n1,2,3,cat\n4,5,6,dog\n7,8,9,cat\n', x);
    expect(a.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(a.labels)).toEqual([0, 1, 0]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = parseLabeledCsv('b.csv', '2;0.5;0.25;1\r\n0;1;1;1\r\n', x);
    expect(Array.from(b.labels)).toEqual([2, 0]);
    expect(Array.from(b.data)).toEqual([0.5, 0.25, 1, 1, 1, 1]);
    expect(() => parseLabeledCsv('c.csv', '1,2,3,4\n1,2,x,4\n', x)).toThrow(/c\.csv: row 2, column 3: "x" is not a number/);
  });

  it('maps class folders to indices', () => {
    expect(classIndexByFolder(['3', '0', '3']).index.get('3')).toBe(3);
    expect(classIndexByFolder(['dog', 'cat']).classNames).toEqual(['cat', 'dog']);
  });

  it('reads one input set from JSON and checks its shape', () => {
    const [t] = inputsFromJsonObject('s.json', { input: { dims: [1, 1, 8, 8], data: new Array(64).fill(0.5) } }, digitsInput);
    expect(t.dims).toEqual([1, 1, 8, 8]);
    expect(() => inputsFromJsonObject('s.json', { input: [[1]] }, digitsInput)).toThrow(/has shape \[1, 1\], the model's input "input" has rank 4/);
    expect(() => inputsFromJsonObject('s.json', {}, digitsInput)).toThrow(/gives no value for the model's input "input"/);
  });
});
