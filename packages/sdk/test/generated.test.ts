import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sdkSources } from '../../../src/cli/sdk-sources.ts';

/** The SDK's types follow the server: a route or schema change without `npm run generate:sdk` fails here. */
describe('the generated SDK files', () => {
  it('are what the OpenAPI document generates today', async () => {
    const root = new URL('../../../', import.meta.url);
    for (const [path, text] of Object.entries(await sdkSources())) {
      expect(readFileSync(new URL(path, root), 'utf8') === text, `${path} is stale: run npm run generate:sdk`).toBe(true);
    }
  }, 60_000);
});
