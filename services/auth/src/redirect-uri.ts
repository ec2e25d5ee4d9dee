/**
 * OAuth 2.1 §2.3.1 and §8.4.2: a redirect URI matches a registered one by simple string
 * comparison, with one exception: a loopback IP literal may use any port, because native apps
 * get an ephemeral port from the operating system.
 */
const LOOPBACK = /^(http:\/\/(?:127\.0\.0\.1|\[::1\]))(?::\d{1,5})?([/?].*)?$/;

const withoutLoopbackPort = (uri: string): string | undefined => {
  const m = LOOPBACK.exec(uri);
  return m ? `${m[1]}${m[2] ?? ''}` : undefined;
};

export function redirectMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  const a = withoutLoopbackPort(registered);
  return a !== undefined && a === withoutLoopbackPort(requested);
}

/** The redirect URI of an authorization request, or why there is none to trust. */
export function chooseRedirect(
  registered: string[],
  requested: string | undefined,
): { uri: string } | { error: string } {
  if (requested === undefined) {
    // §4.1.1: optional only when the client registered exactly one.
    return registered.length === 1
      ? { uri: registered[0] as string }
      : { error: 'redirect_uri is required: this client registered several' };
  }
  return registered.some((r) => redirectMatches(r, requested))
    ? { uri: requested }
    : { error: 'redirect_uri is not one this client registered (it must match exactly)' };
}

/** `uri` with `params` added to its query (RFC 6749 §4.1.2: keep the registered query). */
export function redirectWith(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.href;
}
