import { Unavailable } from '../../kit/src/index.js';

/**
 * Members are the authorization server's users, named by their id (the `sub` of their tokens):
 * the api asks the auth service's admin API before it makes anyone a member, so an invented or
 * mistyped id is refused instead of becoming a membership nobody can use.
 */
export function knownUsers(authUrl: string, adminToken: string): (id: string) => Promise<boolean> {
  return async (id) => {
    let res: Response;
    try {
      res = await fetch(new URL(`/admin/users?id=${encodeURIComponent(id)}`, authUrl), {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      throw new Unavailable('the authorization server cannot say now who a user is; try again shortly');
    }
    await res.body?.cancel();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new Unavailable(`the authorization server answered ${res.status} when asked who a user is`);
  };
}
