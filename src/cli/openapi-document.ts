import { createEngine } from '../engine/create-engine.ts';
import { openDatabase } from '../store/open-database.ts';
import { buildServer } from '../server/app.ts';

/**
 * The OpenAPI document as the server serves it at /openapi.json, built from a server on an
 * in-memory database (the document does not depend on data). The SDK's types are generated from it.
 */
export async function openapiDocument(): Promise<Record<string, unknown>> {
  const db = await openDatabase('sqlite::memory:');
  try {
    const app = await buildServer(await createEngine(db));
    const document = app.swagger() as unknown as Record<string, unknown>;
    await app.close();
    return JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
  } finally {
    await db.close();
  }
}
