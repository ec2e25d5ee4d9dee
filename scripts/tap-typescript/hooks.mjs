// Module hooks for the tests' TypeScript and the sources they import. A relative `.js` import
// with no such file is the `.ts` beside it (NodeNext has TypeScript write imports so), and a
// `.ts` file loads with its types stripped by sucrase, which keeps every line where it was: a
// stack trace's line numbers are the source's.
import { readFile } from 'node:fs/promises';
import { transform } from 'sucrase';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\/.*\.js$/.test(specifier)) throw error;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { code } = transform(source, { transforms: ['typescript'], disableESTransforms: true });
  return { format: 'module', source: code, shortCircuit: true };
}
