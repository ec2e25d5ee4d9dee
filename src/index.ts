/**
 * What a test imports from realstack: `import { serviceUrl, testName } from 'realstack'`.
 * `realstack test` starts (or finds) the stack and hands each service's URL and the run's id
 * to the tests in the environment; these read them, so a test never starts a stack itself.
 * Light on purpose: nothing here loads the toolkit.
 */
import { longTestName, shortTestName as shortName } from './conventions/test-names.js';
import { urlVariable } from './conventions/urls.js';

export { urlVariable } from './conventions/urls.js';

function need(variable: string, what: string): string {
  const value = process.env[variable];
  if (!value)
    throw new Error(
      `${variable} is not set: ${what}. Run the tests with \`npx realstack test\`, which starts the stack (or uses the running one) and sets it.`,
    );
  return value;
}

/** The URL of a service of the running stack on this machine: `http://127.0.0.1:PORT`, or a postgres:// URL. */
export function serviceUrl(service: string): string {
  return need(urlVariable(service), `the URL of service "${service}"`);
}

/** Every service's URL, by service name (lower case, as the variables are named). */
export function serviceUrls(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).flatMap(([k, v]) => {
      const m = /^REALSTACK_(.+)_URL$/.exec(k);
      return m && v ? [[(m[1] as string).toLowerCase(), v]] : [];
    }),
  );
}

/** The id of the run the tests are part of. */
export function runId(): string {
  return need('REALSTACK_RUN_ID', 'the id of the run');
}

/** The tap worker this test file runs in: its data never meets another worker's. */
const worker = () => process.env.TAP_CHILD_ID ?? '0';

/**
 * A name for data a test creates: `TEST <run id> w<worker> <label>`. `realstack cleanup`
 * finds what a test did not delete by it, and `cleanup --run ID` one run's.
 */
export function testName(label: string): string {
  return longTestName(runId(), worker(), label);
}

/**
 * A name of 16 characters at most for columns that take no more (`varchar(16)` and up),
 * unique in the run and test process: `TEST` and 12 letters and digits.
 */
export function shortTestName(): string {
  return shortName(runId());
}
