import { Unavailable } from './errors.js';

/**
 * A resource server's call to the authorization server (introspection, who a user is). No
 * answer within 5 s, or a 5xx, is Unavailable: the caller's 503, to try again. An answer outside
 * `expected` is an Error, a 500: a bug or a misconfiguration (credentials that differ), not the
 * caller's to retry.
 */
export async function askAuthorizationServer(
  url: string,
  init: RequestInit,
  what: string,
  expected: number[] = [200],
): Promise<Response> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000), ...init }).catch((err: Error) => {
    throw new Unavailable(`the authorization server cannot be reached to ${what} (${err.message})`);
  });
  if (res.status >= 500)
    throw new Unavailable(`the authorization server cannot ${what} now (it answered ${res.status})`);
  if (!expected.includes(res.status))
    throw new Error(`asked to ${what}, the authorization server answered ${res.status}: ${await res.text()}`);
  return res;
}
