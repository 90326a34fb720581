import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, findNulCharacter, jsonDepthExceeds } from './json.ts';

/** The recursive definition the iterative walk must equal. */
function canonicalRecursive(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalRecursive).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${canonicalRecursive(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('JSON walks over input', () => {
  it('writes the same canonical text as the recursive definition', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(canonicalJson(value)).toBe(canonicalRecursive(value));
    }), { numRuns: 300 });
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: true })).toBe('{"a":true,"b":[1,{"c":"x","d":null}]}');
  });

  it('writes flat objects (a usage event\'s properties) the same, short and long, any keys', () => {
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    const flat = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 4 }), scalar, { maxKeys: 40 });
    fc.assert(fc.property(flat, (value) => {
      expect(canonicalJson(value)).toBe(canonicalRecursive(value));
    }), { numRuns: 500 });
    expect(canonicalJson({ tokens: 5, model: 'x', region: 'eu', b: 1, B: 2, é: 3 })).toBe('{"B":2,"b":1,"model":"x","region":"eu","tokens":5,"é":3}');
  });

  it('measures depth in levels: the object itself is level 1', () => {
    expect(jsonDepthExceeds(7, 0)).toBe(false);
    expect(jsonDepthExceeds({ a: 1 }, 1)).toBe(false);
    expect(jsonDepthExceeds({ a: { b: 1 } }, 1)).toBe(true);
    expect(jsonDepthExceeds(nested(8), 8)).toBe(false);
    expect(jsonDepthExceeds(nested(9), 8)).toBe(true);
    expect(jsonDepthExceeds({ a: [[[]]] }, 3)).toBe(true);
  });

  it('walks a hundred thousand levels without using the call stack', () => {
    const deep = nested(100_000);
    expect(jsonDepthExceeds(deep, 8)).toBe(true);
    expect(canonicalJson(deep)).toHaveLength(100_000 * 6 + 1);
    expect(findNulCharacter(deep, 'properties')).toBeNull();
  });

  it('names the field holding a NUL character, in a value or a key', () => {
    expect(findNulCharacter({ name: 'ok', tags: ['a', 'b\u0000'] }, '')).toBe('tags[1]');
    expect(findNulCharacter({ events: [{ properties: { 'k\u0000': 1 } }] }, '')).toBe('events[0].properties');
    expect(findNulCharacter('x\u0000', 'id')).toBe('id');
    expect(findNulCharacter({ a: 1, b: [true, null] }, '')).toBeNull();
  });
});
