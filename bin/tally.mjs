#!/usr/bin/env node
// The `tally` command: the CLI compiled to dist/ by `npm install` (or `npm run build`). It runs
// in this process (no TypeScript at run time, no child process), so signals reach the server.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist/cli/main.js');
if (!existsSync(main)) {
  console.error(`tally: ${main} is missing; build it with \`npm run build\` in ${root}.`);
  process.exit(1);
}
await import(pathToFileURL(main).href);
