/**
 * The fixture every ordinary test uses: the URLs of the running stack, handed over by
 * `realstack test` (`just test`) in the environment. Tests never start their own stack.
 */
export interface StackUrls {
  runId: string;
  /**
   * "<run id> w<worker>": what every name of test data starts with after "TEST ", so that
   * parallel workers never meet and `just test-cleanup --run <run id>` finds them all.
   */
  tag: string;
  engine: string;
  auth: string;
  api: string;
  postgres: string;
}

export function stack(): StackUrls {
  const need = ['REALSTACK_RUN_ID', 'REALSTACK_AUTH_URL', 'REALSTACK_API_URL', 'REALSTACK_POSTGRES_URL'];
  const missing = need.filter((n) => !process.env[n]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: run the tests with \`npx just test\`, which provides a running stack.`,
    );
  }
  return {
    runId: process.env.REALSTACK_RUN_ID as string,
    tag: `${process.env.REALSTACK_RUN_ID} w${process.env.TAP_CHILD_ID ?? '0'}`,
    engine: process.env.REALSTACK_ENGINE ?? 'unknown',
    auth: process.env.REALSTACK_AUTH_URL as string,
    api: process.env.REALSTACK_API_URL as string,
    postgres: process.env.REALSTACK_POSTGRES_URL as string,
  };
}

/** The environment that attaches the external engine to the suite's own stack by its URLs. */
export const externalEnv = (s: StackUrls) => ({
  REALSTACK_ENGINE: 'external',
  REALSTACK_AUTH_URL: s.auth,
  REALSTACK_API_URL: s.api,
  REALSTACK_POSTGRES_URL: s.postgres,
});
