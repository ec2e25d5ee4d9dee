import { runService } from '../../kit/src/index.js';
import { migrations } from './migrations.js';

await runService({
  name: 'auth',
  schema: 'auth',
  migrations,
  config: {},
  register() {
    // The OAuth 2.1 endpoints arrive with the auth service issue; the shell is real already.
  },
});
