import { runService } from '../../kit/src/index.js';
import { migrations } from './migrations.js';

await runService({
  name: 'api',
  schema: 'api',
  migrations,
  config: {},
  register() {
    // Tenancy routes arrive with the api service issue; the shell is real already.
  },
});
