// Regenerates the SDK's types and operation table from the OpenAPI document (run after changing
// routes or schemas: `npm run generate:sdk`). A test fails while the committed files are stale.
import { writeFileSync } from 'node:fs';
import { sdkSources } from '../src/cli/sdk-sources.ts';

const sources = await sdkSources();
for (const [path, text] of Object.entries(sources)) writeFileSync(new URL(`../${path}`, import.meta.url), text);
console.log(`wrote ${Object.keys(sources).join(', ')}`);
