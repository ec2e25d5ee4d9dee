import { askAuthorizationServer } from '../../kit/src/index.js';

/**
 * Members are the authorization server's users, named by their id (the `sub` of their tokens):
 * the api asks the auth service's admin API before it makes anyone a member, so an invented or
 * mistyped id is refused instead of becoming a membership nobody can use.
 */
export function knownUsers(authUrl: string, adminToken: string): (id: string) => Promise<boolean> {
  return async (id) => {
    const res = await askAuthorizationServer(
      new URL(`/admin/users?id=${encodeURIComponent(id)}`, authUrl).href,
      { headers: { authorization: `Bearer ${adminToken}` } },
      'say who a user is',
      [200, 404],
    );
    await res.body?.cancel();
    return res.status === 200;
  };
}
