import openapiTS, { astToString } from 'openapi-typescript';
import { openapiDocument } from './openapi-document.ts';

const header = '// Generated from the OpenAPI document by `npm run generate:sdk`. Do not edit.\n';

/**
 * The SDK's generated files, by path from the repository root: the types of every operation
 * (openapi-typescript) and the table from operationId to method and path the client is built from.
 */
export async function sdkSources(): Promise<Record<string, string>> {
  const document = await openapiDocument();
  const types = astToString(await openapiTS(document as never));
  const table: Record<string, { method: string; path: string; list: boolean }> = {};
  const paths = document.paths as Record<string, Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }> }>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op.operationId) continue;
      const success = op.responses?.['200']?.content?.['application/json']?.schema;
      const list = Boolean(success?.properties && 'next_cursor' in success.properties && 'data' in success.properties);
      table[op.operationId] = { method: method.toUpperCase(), path, list };
    }
  }
  const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
  const operations = `${header}export const operationTable = ${JSON.stringify(sorted, null, 2).replace(/"(\w+)":/g, '$1:')} as const;\n`;
  return {
    'packages/sdk/src/openapi.ts': header + types,
    'packages/sdk/src/operations.ts': operations,
  };
}
