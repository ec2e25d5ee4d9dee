// One run of realstack's report pipeline over a coverage folder's raw/ (bench/harvest.ts times it).
//   node dist/bench/harvest-ours.js COVERAGE_DIR
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportCoverage } from '../src/coverage/pipeline.js';
import { loadStack } from '../src/stack/compose.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stack = loadStack(
  [path.join(root, 'docker-compose.yml'), path.join(root, 'docker-compose.coverage.yml')],
  {},
);
await reportCoverage(stack, { global: {}, files: {}, allowMissing: [] }, process.argv[2] as string, () => {});
