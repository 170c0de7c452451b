import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { expandClassSelectors, parseDatasetSpec } from '../../../training/datasets/index.ts';

describe('parseDatasetSpec', () => {
  it('parses every kind with options', () => {
    expect(parseDatasetSpec('mnist')).toEqual({ kind: 'mnist', skipPerClass: 0, text: 'mnist' });
    expect(parseDatasetSpec('mnist:classes=0-4:per-class=100')).toMatchObject({
      kind: 'mnist',
      classes: ['0-4'],
      perClass: 100,
      skipPerClass: 0,
    });
    expect(parseDatasetSpec('idx:a/train-images.gz,a/train-labels.gz:classes=1,3')).toMatchObject({
      kind: 'idx',
      images: 'a/train-images.gz',
      labels: 'a/train-labels.gz',
      classes: ['1', '3'],
    });
    expect(parseDatasetSpec('folder:C:\\data\\pets:per-class=3:skip-per-class=2:seed=7')).toMatchObject({
      kind: 'folder',
      dir: 'C:\\data\\pets',
      perClass: 3,
      skipPerClass: 2,
      seed: 7,
    });
    expect(parseDatasetSpec('csv:labels.csv')).toMatchObject({ kind: 'csv', file: 'labels.csv' });
    expect(parseDatasetSpec('opencv-digits:skip-per-class=10')).toEqual({
      kind: 'opencv-digits',
      skipPerClass: 10,
      text: 'opencv-digits:skip-per-class=10',
    });
    expect(parseDatasetSpec('opencv-digits:sheets/d.png')).toMatchObject({ file: 'sheets/d.png' });
  });

  it('rejects unknown kinds, options and malformed values with bad_request', () => {
    const cases: [string, RegExp][] = [
      ['imagenet', /unknown kind "imagenet"/],
      ['', /unknown kind ""/],
      ['mnist:per-klass=3', /unknown option per-klass/],
      ['mnist:per-class=0', /per-class/],
      ['mnist:per-class=two', /per-class/],
      ['mnist:skip-per-class=-1', /skip-per-class/],
      ['mnist:per-class=1:per-class=2', /given twice/],
      ['mnist:extra', /takes no argument/],
      ['idx:only-images.gz', /idx:<images-file>,<labels-file>/],
      ['folder:', /folder:<dir>/],
      ['csv', /csv:<file>/],
      ['mnist:classes=', /classes/],
      ['mnist:classes=1,,2', /empty class name/],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        parseDatasetSpec(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(EdgetuneError);
      expect((err as EdgetuneError).code).toBe('bad_request');
      expect((err as EdgetuneError).message).toMatch(message);
    }
  });
});

describe('expandClassSelectors', () => {
  const digits = Array.from({ length: 10 }, (_, d) => String(d));
  it('expands integer ranges and lists, preferring exact names', () => {
    expect(expandClassSelectors(['5-9'], digits)).toEqual(['5', '6', '7', '8', '9']);
    expect(expandClassSelectors(['0-1', '7', '1'], digits)).toEqual(['0', '1', '7']);
    expect(expandClassSelectors(['3-5'], ['3-5', 'x'])).toEqual(['3-5']);
    expect(expandClassSelectors(['golden-retriever'], ['golden-retriever'])).toEqual(['golden-retriever']);
  });
  it('names the missing class and lists what exists', () => {
    expect(() => expandClassSelectors(['8-11'], digits)).toThrow(
      /class "10" is not in the dataset \(classes: 0, 1/,
    );
    expect(() => expandClassSelectors(['cat'], ['dog'])).toThrow(/classes: dog/);
    expect(() => expandClassSelectors(['5-2'], digits)).toThrow(/empty/);
  });
});
