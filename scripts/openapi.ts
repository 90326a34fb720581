// Prints the OpenAPI document (the one served at /openapi.json) to stdout, or writes it to the
// path given: `npm run openapi -- packages/sdk/openapi.json`.
import { writeFileSync } from 'node:fs';
import { openapiDocument } from '../src/cli/openapi-document.ts';

const text = `${JSON.stringify(await openapiDocument(), null, 2)}\n`;
const target = process.argv[2];
if (target) writeFileSync(target, text);
else process.stdout.write(text);
