// Module hooks for the tests' TypeScript and the sources they import. A relative `.js` import
// with no such file is the `.ts` beside it (NodeNext has TypeScript write imports so), and a
// `.ts` file loads with its types stripped by sucrase, which keeps every line where it was: a
// stack trace's line numbers are the source's.
//
// Every test file is a process of its own, whose sucrase would start cold for the twenty-odd
// files a test and its helpers import (0.2 s of CPU each time, on the loader's thread the test
// waits for). So each file's stripped code is kept in node_modules/.cache/tap-typescript/, by
// the hash of its source and of what strips it, and sucrase loads only for a file not there.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const cacheDir = new URL('../../node_modules/.cache/tap-typescript/', import.meta.url);
const OPTIONS = { transforms: ['typescript'], disableESTransforms: true };
// A new sucrase, or new options, strips differently: their entries are not this one's.
const stripper = `${createRequire(import.meta.url)('sucrase/package.json').version}:${JSON.stringify(OPTIONS)}`;
let sucrase;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\/.*\.js$/.test(specifier)) throw error;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

/** The code sucrase makes of `source`, from the cache when an earlier process made it. */
async function stripped(source) {
  const key = createHash('sha256').update(stripper).update('\0').update(source).digest('hex');
  const entry = new URL(`${key.slice(0, 32)}.js`, cacheDir);
  try {
    return readFileSync(entry, 'utf8');
  } catch {}
  sucrase ??= await import('sucrase');
  const { code } = sucrase.transform(source, OPTIONS);
  try {
    // Whole or not at all: test processes beside this one may read it meanwhile.
    mkdirSync(cacheDir, { recursive: true });
    const tmp = new URL(`${entry.href}.${process.pid}`);
    writeFileSync(tmp, code);
    renameSync(tmp, entry);
  } catch {}
  return code;
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: await stripped(source), shortCircuit: true };
}
