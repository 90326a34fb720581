/**
 * Walks over caller-supplied JSON values. Input may nest as deep as a request body allows (a
 * few million levels fit in the ingest body limit), so none of these recurse: each keeps its own
 * stack and runs in constant call-stack depth. Use them, not recursive code or `JSON.stringify`,
 * on any value before its depth is known to be within bounds.
 */

import { sortInPlace } from './sort-in-place.ts';

/** A JSON object: not null, not an array. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The default sort's order for strings (by UTF-16 code units), as a comparison. */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * True when `value` nests deeper than `levelsMax`. A scalar has depth 0; an object or an array is
 * one level more than its deepest member, so `{"a": 1}` is 1 level and `{"a": {"b": 1}}` is 2.
 */
export function jsonDepthExceeds(value: unknown, levelsMax: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > levelsMax) return true;
    const members = Array.isArray(v) ? v : Object.values(v);
    for (const member of members) if (typeof member === 'object' && member !== null) stack.push({ value: member, depth: depth + 1 });
  }
  return false;
}

/**
 * The path of the first string (value or key) holding a NUL character, as a field name
 * (`events[2].properties.note`), or null. `prefix` names the value itself.
 */
export function findNulCharacter(value: unknown, prefix: string): string | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: prefix }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${path}[${i}]` });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const at = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return path || '(key)';
      stack.push({ value: (v as Record<string, unknown>)[key], path: at });
    }
  }
  return null;
}

type Frame =
  | { kind: 'array'; items: readonly unknown[]; next: number }
  | { kind: 'object'; value: Record<string, unknown>; keys: string[]; next: number };

/**
 * JSON with object keys sorted, so two spellings of the same body hash alike. The text equals the
 * recursive definition's (arrays in order, keys sorted, scalars as `JSON.stringify` writes them).
 */
export function canonicalJson(value: unknown): string {
  if (isPlainObject(value)) {
    const flat = flatCanonicalJson(value);
    if (flat !== null) return flat;
  }
  const out: string[] = [];
  const stack: Frame[] = [];
  let current: unknown = value;
  let emit = true;
  for (;;) {
    if (emit) {
      emit = false;
      if (Array.isArray(current)) {
        out.push('[');
        stack.push({ kind: 'array', items: current, next: 0 });
      } else if (isPlainObject(current)) {
        out.push('{');
        stack.push({ kind: 'object', value: current, keys: Object.keys(current).sort(), next: 0 });
      } else {
        out.push(String(JSON.stringify(current)));
      }
    }
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    if (top.kind === 'array') {
      if (top.next === top.items.length) {
        out.push(']');
        stack.pop();
        continue;
      }
      if (top.next > 0) out.push(',');
      current = top.items[top.next++];
    } else {
      if (top.next === top.keys.length) {
        out.push('}');
        stack.pop();
        continue;
      }
      if (top.next > 0) out.push(',');
      const key = top.keys[top.next++]!;
      out.push(JSON.stringify(key), ':');
      current = top.value[key];
    }
    emit = true;
  }
  return out.join('');
}

/**
 * `canonicalJson` of an object whose values are all strings, numbers, booleans or null (a usage
 * event's properties, usually): the same text without the walk's frames. Null for any other object.
 */
function flatCanonicalJson(value: Record<string, unknown>): string | null {
  const keys = sortInPlace(Object.keys(value), byCodeUnits);
  let text = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = value[key];
    const kind = typeof v;
    if (!(kind === 'string' || kind === 'number' || kind === 'boolean' || v === null)) return null;
    if (i > 0) text += ',';
    text += `${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  return `${text}}`;
}
