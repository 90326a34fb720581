#!/usr/bin/env node
// Completes package-lock.json with entries for optional platform packages (e.g. rollup's
// @rollup/rollup-<os>-<cpu>) that a platform-filtered npm mirror does not serve, so that
// `npm ci` accepts the lock everywhere. Each entry carries the os/cpu/libc its name implies,
// so npm never tries to install it on another platform. Run after changing dependencies:
//   npm install && node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
const osNames = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'sunos', 'win32', 'aix', 'netbsd', 'openharmony', 'cygwin'];
const cpuNames = ['arm64', 'arm', 'x64', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'wasm32'];
let added = 0;

for (const [where, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = where === '' ? '' : `${where}/`;
    const nested = `${base}node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => osNames.includes(p)) ?? (parts.includes('win32') ? 'win32' : undefined);
    const cpu = parts.find((p) => cpuNames.includes(p)) ?? (parts.includes('arm') ? 'arm' : undefined);
    if (!os && !cpu) continue;
    // The record is written exactly as npm itself writes one (version first, then the other keys
    // in alphabetical order, `dev` when only development dependencies need it), so a later
    // `npm install` leaves the lock file as it is.
    const record = { version: version.replace(/^[\^~]/, '') };
    if (cpu) record.cpu = [cpu];
    if (entry.dev) record.dev = true;
    if (parts.includes('musl') || parts.includes('musleabihf')) record.libc = ['musl'];
    else if (parts.includes('gnu') || parts.includes('gnueabihf')) record.libc = ['glibc'];
    record.optional = true;
    if (os) record.os = [os];
    packages[`node_modules/${name}`] = record;
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} optional platform entries`);
