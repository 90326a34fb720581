import type { SqlValue } from '../../src/store/sql.ts';

/** A query as sent, with its parameters. */
export interface Captured {
  sql: string;
  params: readonly SqlValue[];
}

/**
 * `target` (a database or a connection) with every `query` it runs recorded in `into`, for tests
 * that then ask the database how it runs each one (`EXPLAIN QUERY PLAN`).
 */
export function capturing<T extends object>(target: T, into: Captured[]): T {
  return new Proxy(target, {
    get(object, key) {
      if (key === 'query') {
        return (sql: string, params: readonly SqlValue[] = []) => {
          into.push({ sql, params });
          return (object as unknown as { query(sql: string, params: readonly SqlValue[]): unknown }).query(sql, params);
        };
      }
      const value = Reflect.get(object, key) as unknown;
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
