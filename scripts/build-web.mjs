#!/usr/bin/env node
// Builds the dashboard (web/) into web/dist: one bundled script (with the SDK) and one stylesheet,
// named by content hash, an index.html that loads them, and gzip and brotli copies of each, so
// the server sends them compressed without compressing per request. Runs at `npm install`
// (the `prepare` script) and with `npm run build:web`.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = new URL('../web/', import.meta.url);
const dist = new URL('dist/', root);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const bundle = await build({
  entryPoints: [new URL('src/main.ts', root).pathname],
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  write: false,
  legalComments: 'none',
});
const hashed = (text, ext) => `app.${createHash('sha256').update(text).digest('hex').slice(0, 12)}.${ext}`;
const script = bundle.outputFiles[0].text;
const style = readFileSync(new URL('src/styles.css', root), 'utf8');
const files = {
  [hashed(script, 'js')]: script,
  [hashed(style, 'css')]: style,
};
const [scriptName, styleName] = Object.keys(files);
files['index.html'] = readFileSync(new URL('index.html', root), 'utf8').replace('%SCRIPT%', scriptName).replace('%STYLE%', styleName);

for (const [name, text] of Object.entries(files)) {
  const data = Buffer.from(text);
  writeFileSync(new URL(name, dist), data);
  writeFileSync(new URL(`${name}.gz`, dist), gzipSync(data, { level: 9 }));
  writeFileSync(new URL(`${name}.br`, dist), brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
console.log(`web/dist: ${Object.keys(files).join(', ')} (${Math.round(script.length / 1024)} KiB script)`);
