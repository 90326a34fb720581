import { parentPort, workerData } from 'node:worker_threads';
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { limits } from '../src/engine/limits.ts';
import { lazyCompilersFactory } from '../src/server/lazy-compilers.ts';
import * as R from '../src/server/records-schemas.ts';
import { registerJsonParser } from '../src/server/request-guards.ts';
import * as S from '../src/server/schemas.ts';

/**
 * The edge thread of `http-edge.ts`: owns the listening socket, parses and validates ingestion
 * requests as the production route does, and hands their events to the thread that owns the
 * engine, gathered per turn of the event loop; answers each with the results handed back.
 */
const { apiKey } = workerData as { apiKey: string };
const port = parentPort!;
let nextId = 0;
const waiting = new Map<number, (results: unknown) => void>();
let outgoing: [number, unknown[]][] = [];
port.on('message', (replies: [number, unknown][]) => {
  for (const [id, results] of replies) {
    waiting.get(id)!(results);
    waiting.delete(id);
  }
});

function forward(events: unknown[]): Promise<unknown> {
  return new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    if (process.env.BENCH_EDGE_IMMEDIATE === '1') {
      port.postMessage([[id, events]]);
      return;
    }
    if (outgoing.length === 0) {
      setImmediate(() => {
        port.postMessage(outgoing);
        outgoing = [];
      });
    }
    outgoing.push([id, events]);
  });
}

const app = Fastify({
  bodyLimit: 1024 * 1024,
  ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false } },
  schemaController: { compilersFactory: lazyCompilersFactory as never },
});
app.addHook('onRequest', (request, reply, done) => {
  reply.header('x-request-id', request.id);
  if (request.headers.authorization !== `Bearer ${apiKey}`) {
    void reply.code(401).send({ error: { code: 'unauthorized', message: 'Unknown API key.' } });
    return;
  }
  done();
});
registerJsonParser(app);
for (const schema of R.components) app.addSchema(schema);
app.post<{ Body: { events: unknown[] } }>('/v1/events', {
  bodyLimit: limits.eventsPerBatchMax * (limits.propertiesBytesMax + 1024),
  schema: { body: S.IngestEvents, response: { 200: Type.Object({ results: Type.Array(Type.Ref(R.UsageEventResult)) }, { additionalProperties: false }) } },
}, async (request, reply) => reply.send({ results: await forward(request.body.events) }));
port.postMessage({ url: await app.listen({ port: 0, host: '127.0.0.1' }) });
