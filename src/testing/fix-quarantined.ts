import { existsSync } from 'node:fs';
import type { ToolkitConfig } from '../config/toolkit.js';
import { UserError } from '../errors.js';
import { History, historyFile, type Quarantined } from '../flaky/history.js';
import { keyOf } from '../flaky/policy.js';
import type { Log } from '../log.js';
import { ensureSecrets } from '../secrets.js';
import { runSuite, withStack } from './run-tests.js';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** tap's arguments that run exactly these tests: their files, and their names as one pattern. */
export const onlyTests = (tests: { file: string; test: string }[]): string[] => [
  `--grep=^(?:${[...new Set(tests.map((t) => escapeRegExp(t.test)))].join('|')})$`,
  ...new Set(tests.map((t) => t.file)),
];

/**
 * `just fix-quarantined`: only the quarantined tests, `times` rounds on one stack. A test that
 * passes every round is released; one that fails stays quarantined and runs no further round.
 */
export async function fixQuarantined(
  config: ToolkitConfig,
  times: number | undefined,
  log: Log,
): Promise<number> {
  const rounds = times ?? config.project.flaky.releaseAfter;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100)
    throw new UserError(`--times ${times}: give a whole number of rounds from 1 to 100.`, 2);
  const file = historyFile(config);
  const h = existsSync(file) ? await History.read(file) : undefined;
  const quarantined = h?.quarantined() ?? [];
  h?.close();
  if (quarantined.length === 0) {
    log('no test is quarantined: nothing to do');
    return 0;
  }
  const kept = new Map<string, string>();
  let candidates: Quarantined[] = quarantined;
  const ready = ensureSecrets(config);
  await withStack(ready, log, async (engine, stop) => {
    for (let round = 1; round <= rounds && candidates.length > 0; round++) {
      log(
        `round ${round} of ${rounds}: ${candidates.length} quarantined test${candidates.length === 1 ? '' : 's'}`,
      );
      const counts = await runSuite(ready, engine, onlyTests(candidates), log, stop, {
        retries: 0,
        kind: 'fix',
      });
      for (const c of candidates) {
        const result = counts.files.find((f) => f.file === c.file)?.tests.find((t) => t.name === c.test);
        if (!result)
          kept.set(keyOf(c), `did not run in round ${round} (renamed, removed, or its file crashed)`);
        else if (result.status !== 'passed')
          kept.set(keyOf(c), `failed in round ${round}: ${result.failures[0] ?? result.status}`);
      }
      candidates = candidates.filter((c) => !kept.has(keyOf(c)));
    }
  });
  if (candidates.length > 0)
    await History.change(file, (w) => {
      for (const c of candidates) w.release(c, `passed ${rounds} rounds in a row (fix-quarantined)`);
    });
  for (const c of candidates) log(`released: ${c.file}: ${c.test} (passed ${rounds} rounds in a row)`);
  for (const q of quarantined.filter((x) => kept.has(keyOf(x))))
    log(`still quarantined: ${q.file}: ${q.test}: ${kept.get(keyOf(q))}`);
  process.stdout.write(`${candidates.length} released, ${kept.size} still quarantined\n`);
  return kept.size > 0 ? 1 : 0;
}
