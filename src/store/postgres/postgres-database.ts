import pg from 'pg';
import type { Dialect, SnapshotReader, SqlColumn, SqlConnection, SqlDatabase, SqlRow, SqlValue } from '../sql.ts';

/** Translated SQL texts kept per source text; the store's SQL is a small fixed set. */
const placeholderCacheEntriesMax = 1000;
/**
 * Distinct texts that may be run as named prepared statements. Each is kept by every connection
 * that ran it, for the connection's life, so only fixed texts qualify (one per hot-path table).
 */
const preparedTextsMax = 100;
/** A transaction that hits a serialization failure or deadlock is re-run this many more times. */
const transactionRetriesMax = 5;
const retryBackoffBaseMs = 5;

const int8Oid = 20;
/**
 * serialization_failure, deadlock_detected, and unique_violation: at READ COMMITTED a unique
 * violation inside a transaction means another transaction committed the same key first (an event
 * id, an external_id), and a re-run reads that row and answers as if the two had run in turn.
 */
const retryableSqlStates = new Set(['40001', '40P01', '23505']);

/**
 * Parses INT8 as bigint for this pool only; the global `pg.types` registry stays untouched so
 * other pg users in the process keep their behaviour.
 */
const parseInt8 = (value: string): bigint => BigInt(value);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === int8Oid && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Opens a pool of PostgreSQL connections as a `SqlDatabase`. Connects once before returning so a
 * bad URL or an unreachable server fails here rather than on the first request.
 */
export async function openPostgresDatabase(
  url: string,
  options?: { max?: number },
): Promise<SqlDatabase> {
  // JIT compilation off for every connection. Tally's statements are short, or, like the
  // reconciliation's closed periods, large expressions over few rows: there PostgreSQL's cost
  // estimate crossed `jit_above_cost` on a database of a few hundred subscriptions, and compiling
  // 1,407 functions took 48.5 s of a 48.6 s statement that runs in 64 ms without it
  // (docs/ARCHITECTURE.md, "PostgreSQL"). An `options` parameter in the URL replaces this one.
  const pool = new pg.Pool({ connectionString: url, max: options?.max ?? 10, types, options: '-c jit=off' });
  // An idle client whose connection drops emits 'error' on the pool; without a listener Node
  // would crash the process. The pool discards that client, and the next checkout reconnects.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return new PostgresDatabase(pool);
}

class PostgresDatabase implements SqlDatabase {
  readonly dialect: Dialect = 'postgres';

  constructor(private readonly pool: pg.Pool) {}

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    const result = await this.pool.query(translatePlaceholders(sql), bindable(params));
    return result.rows as R[];
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const result = await this.pool.query(translatePlaceholders(sql), bindable(params));
    return result.rowCount ?? 0;
  }

  async runPrepared(sql: string, params: readonly SqlColumn[]): Promise<number> {
    const result = await this.pool.query(preparedQuery(projectedUnnest(sql), params));
    return result.rowCount ?? 0;
  }

  async queryPrepared<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlColumn[]): Promise<R[]> {
    const result = await this.pool.query(preparedQuery(sql, params));
    return result.rows as R[];
  }

  /**
   * Serialization failures, deadlocks and unique violations from a concurrent commit abort a
   * transaction through no fault of its own, so the whole callback is re-run (up to
   * `transactionRetriesMax` times): `fn` must have no effects outside the connection it is given.
   */
  async transaction<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.transactionOnce(fn);
      } catch (error) {
        if (retry >= transactionRetriesMax || !isRetryable(error)) throw error;
        await sleep(retryBackoffBaseMs * 2 ** retry * (0.5 + Math.random()));
      }
    }
  }

  /** One REPEATABLE READ, READ ONLY transaction: every query of `fn` sees the same snapshot. */
  async snapshot<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return this.transaction(async (connection) => {
      await connection.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return fn(connection);
    });
  }

  /** Each snapshot its own REPEATABLE READ, READ ONLY transaction, on whichever pooled connection is free. */
  async snapshots<T>(fn: (snapshot: SnapshotReader) => Promise<T>): Promise<T> {
    return fn((read) => this.snapshot(read));
  }

  async reads<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transactionOnce<T>(fn: (connection: SqlConnection) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const connection = new PostgresTransactionConnection(client);
    let releaseError: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(connection);
        await connection.sendQueuedInserts();
        connection.active = false;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        connection.active = false;
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable (e.g. it dropped); destroy it instead of pooling it.
          releaseError = rollbackError as Error;
        }
        throw error;
      }
    } finally {
      connection.active = false;
      client.release(releaseError);
    }
  }
}

/** The connection handed to a transaction callback, bound to the transaction's pooled client. */
class PostgresTransactionConnection implements SqlConnection {
  readonly dialect: Dialect = 'postgres';
  active = true;
  private queued: { sql: string; params: readonly SqlColumn[] }[] = [];

  constructor(private readonly client: pg.PoolClient) {}

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    await this.ready();
    const result = await this.client.query(translatePlaceholders(sql), bindable(params));
    return result.rows as R[];
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    await this.ready();
    const result = await this.client.query(translatePlaceholders(sql), bindable(params));
    return result.rowCount ?? 0;
  }

  async runPrepared(sql: string, params: readonly SqlColumn[]): Promise<number> {
    await this.ready();
    const result = await this.client.query(preparedQuery(projectedUnnest(sql), params));
    return result.rowCount ?? 0;
  }

  async queryPrepared<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlColumn[]): Promise<R[]> {
    await this.ready();
    const result = await this.client.query(preparedQuery(sql, params));
    return result.rows as R[];
  }

  insertLater(source: string, params: readonly SqlColumn[]): void {
    this.assertActive();
    const sql = projectedUnnest(source);
    // A table written twice in one statement would see neither write from the other (one
    // snapshot), and an upsert could meet its own row: such an insert waits for the next statement.
    if (this.overflow.length > 0 || this.queued.some((q) => q.sql === sql)) this.overflow.push({ sql, params });
    else this.queued.push({ sql, params });
  }

  /** Inserts from a repeat of a queued text on, in order; sent after the queue itself. */
  private overflow: { sql: string; params: readonly SqlColumn[] }[] = [];

  /** Sends the queued inserts: one statement for all of them, or the one insert as it is. */
  async sendQueuedInserts(): Promise<void> {
    while (this.queued.length > 0) {
      const inserts = this.queued;
      this.queued = [];
      const overflow = this.overflow;
      this.overflow = [];
      for (const q of overflow) this.insertLater(q.sql, q.params);
      await this.client.query(inserts.length === 1 ? preparedQuery(inserts[0]!.sql, inserts[0]!.params) : foldedInserts(inserts));
    }
  }

  private async ready(): Promise<void> {
    this.assertActive();
    if (this.queued.length > 0) await this.sendQueuedInserts();
  }

  private assertActive(): void {
    if (!this.active) throw new Error('This transaction has already finished; use the database.');
  }
}

const projectedTexts = new Map<string, string>();
const unnestInsert = /^(INSERT INTO [a-z_]+ \([a-z_, ]+\) )SELECT \* FROM unnest\(((?:\$\d+::[a-z]+\[\], )*\$\d+::[a-z]+\[\])\)(.*)$/s;

/**
 * `INSERT … SELECT * FROM unnest($1::text[], $2::bigint[], …)` rewritten as `INSERT … SELECT
 * unnest($1::text[]), unnest($2::bigint[]), …`: the same rows (set-returning functions in the
 * select list advance in step, and pad a shorter array with NULLs as the multi-argument form
 * does), but PostgreSQL streams them from the arrays instead of first copying every row into a
 * tuplestore (a function scan in FROM materializes its whole result). Any other text is unchanged.
 */
export function projectedUnnest(sql: string): string {
  let text = projectedTexts.get(sql);
  if (text === undefined) {
    const match = unnestInsert.exec(sql);
    text = match === null ? sql : `${match[1]}SELECT ${match[2]!.split(', ').map((array) => `unnest(${array})`).join(', ')}${match[3]}`;
    if (projectedTexts.size < preparedTextsMax) projectedTexts.set(sql, text);
  }
  return text;
}

/** Distinct folded texts run as named prepared statements; rarer combinations are parsed each time. */
const foldedTextsMax = 40;
const foldedTexts = new Map<string, string>();

/**
 * Several inserts as one statement: each a data-modifying CTE, its placeholders renumbered after
 * the previous ones'. PostgreSQL runs every such CTE to completion whether or not it is referenced,
 * all in one snapshot (no CTE sees another's rows, and no two write one table: see `insertLater`).
 */
function foldedInserts(inserts: readonly { sql: string; params: readonly SqlColumn[] }[]): pg.QueryConfig {
  const key = inserts.map((q) => q.sql).join('\u0000');
  let text = foldedTexts.get(key);
  if (text === undefined) {
    let offset = 0;
    const parts = inserts.map((q, i) => {
      const part = `w${i + 1} AS (${q.sql.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`)})`;
      offset += q.params.length;
      return part;
    });
    text = `WITH ${parts.join(', ')} SELECT 1`;
    if (foldedTexts.size < foldedTextsMax) foldedTexts.set(key, text);
    else return { text, values: arrayParameters(text, inserts.flatMap((q) => q.params as readonly SqlColumn[])) };
  }
  return preparedQuery(text, inserts.flatMap((q) => q.params as readonly SqlColumn[]));
}

const preparedNames = new Map<string, string>();

/**
 * A named query: pg parses a name's text once per connection and then only binds and executes it,
 * so PostgreSQL skips parsing and, once it settles on a generic plan, planning too.
 */
function preparedQuery(sql: string, params: readonly SqlColumn[]): pg.QueryConfig {
  let name = preparedNames.get(sql);
  if (name === undefined) {
    if (preparedNames.size >= preparedTextsMax) throw new Error(`More than ${preparedTextsMax} distinct prepared statement texts: only fixed texts may be prepared.`);
    name = `tally_${preparedNames.size + 1}`;
    preparedNames.set(sql, name);
  }
  return { name, text: sql, values: arrayParameters(sql, params) };
}

const textOid = 25;
const arrayTypes = new Map<string, readonly (number | undefined)[]>();

/**
 * The element type of each `$n::text[]` or `$n::bigint[]` placeholder of a prepared text, by
 * position; other placeholders are left to pg's text format.
 */
function arrayTypesOf(sql: string): readonly (number | undefined)[] {
  let types = arrayTypes.get(sql);
  if (types === undefined) {
    const found: (number | undefined)[] = [];
    for (const match of sql.matchAll(/\$(\d+)::(text|bigint)\[\]/g)) found[Number(match[1]) - 1] = match[2] === 'text' ? textOid : int8Oid;
    types = found;
    if (arrayTypes.size < preparedTextsMax + foldedTextsMax) arrayTypes.set(sql, types);
  }
  return types;
}

/**
 * Array parameters in the cheapest form for both sides. A `text[]` column goes in PostgreSQL's
 * binary array format (pg sends a Buffer as a binary parameter), so PostgreSQL takes each element
 * by its length (`array_recv`) instead of parsing a quoted `{…}` literal (`array_in`), and pg does
 * not escape every element. A `bigint[]` column is decimal text already: with no NULL it goes as
 * the literal `{1,-2,3}` (digits need no quoting), else as pg formats it.
 */
export function arrayParameters(sql: string, params: readonly SqlColumn[]): unknown[] {
  const types = arrayTypesOf(sql);
  const values: unknown[] = new Array(params.length);
  for (let i = 0; i < params.length; i++) {
    const type = types[i];
    const column = params[i]!;
    if (type === textOid && Array.isArray(column)) values[i] = encodeTextArray(column);
    else if (type === int8Oid && Array.isArray(column) && !column.includes(null)) values[i] = `{${column.join(',')}}`;
    else values[i] = column;
  }
  return values;
}

/** 1-D `text[]` in the binary array format: header, then each element's byte length and bytes. */
function encodeTextArray(column: readonly (string | null)[]): Buffer {
  const count = column.length;
  if (count === 0) return arrayHeader(Buffer.allocUnsafe(12), 0, 0);
  let hasNull = 0;
  let chars = 0;
  for (let i = 0; i < count; i++) {
    const value = column[i];
    if (value === null || value === undefined) hasNull = 1;
    else chars += value.length;
  }
  // Plain ASCII (the usual ids, codes and JSON): each element's bytes are its characters, so the
  // elements and their length prefixes are laid out as one latin1 string, written in one call.
  if (hasNull === 0) {
    const joined = column.join('');
    if (Buffer.byteLength(joined, 'utf8') === chars) {
      let laid = '';
      for (let i = 0; i < count; i++) {
        const value = column[i]!;
        const n = value.length;
        laid += String.fromCharCode(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) + value;
      }
      const buffer = arrayHeader(Buffer.allocUnsafe(20 + 4 * count + chars), count, 0);
      buffer.write(laid, 20, 'latin1');
      return buffer;
    }
  }
  const lengths = new Int32Array(count);
  let size = 20;
  for (let i = 0; i < count; i++) {
    const value = column[i];
    lengths[i] = value === null || value === undefined ? -1 : Buffer.byteLength(value, 'utf8');
    size += 4 + Math.max(lengths[i]!, 0);
  }
  const buffer = arrayHeader(Buffer.allocUnsafe(size), count, hasNull);
  let offset = 20;
  for (let i = 0; i < count; i++) {
    const length = lengths[i]!;
    buffer.writeInt32BE(length, offset);
    offset += 4;
    if (length > 0) offset += buffer.write(column[i]!, offset, length, 'utf8');
  }
  return buffer;
}

function arrayHeader(buffer: Buffer, count: number, hasNull: number): Buffer {
  buffer.writeInt32BE(count === 0 ? 0 : 1, 0);
  buffer.writeInt32BE(hasNull, 4);
  buffer.writeUInt32BE(textOid, 8);
  if (count > 0) {
    buffer.writeInt32BE(count, 12);
    buffer.writeInt32BE(1, 16);
  }
  return buffer;
}

const translations = new Map<string, string>();

/**
 * Rewrites `?` placeholders as `$1..$n`, leaving `?` alone inside string literals, quoted
 * identifiers and comments. Translations are cached per SQL text.
 */
export function translatePlaceholders(sql: string): string {
  let translated = translations.get(sql);
  if (translated === undefined) {
    translated = translate(sql);
    if (translations.size >= placeholderCacheEntriesMax) {
      translations.delete(translations.keys().next().value as string);
    }
    translations.set(sql, translated);
  }
  return translated;
}

function translate(sql: string): string {
  let out = '';
  let copiedUpTo = 0;
  let placeholder = 0;
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    if (char === "'" && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isWordChar(sql[i - 2])) {
      i = skipEscapeString(sql, i + 1);
    } else if (char === "'" || char === '"') {
      // A doubled quote inside a literal is an escaped quote; both halves are skipped in turn.
      const close = sql.indexOf(char, i + 1);
      i = close === -1 ? sql.length : close + 1;
    } else if (char === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i + 2);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (char === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (char === '?') {
      placeholder += 1;
      out += sql.slice(copiedUpTo, i) + '$' + placeholder;
      i += 1;
      copiedUpTo = i;
    } else {
      i += 1;
    }
  }
  return copiedUpTo === 0 ? sql : out + sql.slice(copiedUpTo);
}

/** Skips an `E'…'` literal, where a backslash escapes the next character, including a quote. */
function skipEscapeString(sql: string, start: number): number {
  for (let i = start; i < sql.length; i++) {
    if (sql[i] === '\\') i += 1;
    else if (sql[i] === "'") return i + 1;
  }
  return sql.length;
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$]/.test(char);
}

/** Binds bigint as its decimal string; the array is copied only when a bigint is present. */
function bindable(params: readonly SqlValue[] | undefined): unknown[] | undefined {
  if (params === undefined) return undefined;
  let copy: SqlValue[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (typeof value === 'bigint') {
      copy ??= params.slice();
      copy[i] = value.toString();
    }
  }
  return (copy ?? params) as unknown[];
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableSqlStates.has(code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
