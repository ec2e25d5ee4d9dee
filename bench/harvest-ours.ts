// One run of realstack's report pipeline over a coverage folder's raw/ (bench/harvest.ts times it).
//   node dist/bench/harvest-ours.js COVERAGE_DIR
import { fileURLToPath } from 'node:url';
import { emptyProjectConfig } from '../src/config/project.js';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { reportCoverage } from '../src/coverage/pipeline.js';
import { projectStack } from '../src/stack/compose.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stack = projectStack(loadToolkitConfig(root, {}));
await reportCoverage(stack, emptyProjectConfig().coverage, process.argv[2] as string, () => {});
