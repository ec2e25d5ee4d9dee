import { runId, serviceUrl } from 'realstack';

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

/** Read through the package's own export, as any project's tests read them. */
export function stack(): StackUrls {
  return {
    runId: runId(),
    tag: `${runId()} w${process.env.TAP_CHILD_ID ?? '0'}`,
    engine: process.env.REALSTACK_ENGINE ?? 'unknown',
    auth: serviceUrl('auth'),
    api: serviceUrl('api'),
    postgres: serviceUrl('postgres'),
  };
}

/** The environment that attaches the external engine to the suite's own stack by its URLs. */
export const externalEnv = (s: StackUrls) => ({
  REALSTACK_ENGINE: 'external',
  REALSTACK_AUTH_URL: s.auth,
  REALSTACK_API_URL: s.api,
  REALSTACK_POSTGRES_URL: s.postgres,
});
