/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict';
exports[
  `tests/golden/responses.test.ts > TAP > a registration, and a token request with a code that was never issued > invalid_grant 1`
] = `
Object {
  "body": Object {
    "error": "invalid_grant",
    "error_description": "the code is not valid for this client",
  },
  "headers": Object {
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
  },
  "status": 400,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > a registration, and a token request with a code that was never issued > RFC 7592 read of a public client 1`
] = `
Object {
  "body": Object {
    "client_id": "<opaque>",
    "client_id_issued_at": "<time>",
    "client_name": "TEST <run> a registration, and a token request with a code that was never issued",
    "grant_types": Array [
      "authorization_code",
      "refresh_token",
    ],
    "redirect_uris": Array [
      "http://127.0.0.1:<port>/callback",
    ],
    "registration_client_uri": "http://127.0.0.1:<port>/register/<opaque>",
    "response_types": Array [
      "code",
    ],
    "software_id": "TEST <run>",
    "token_endpoint_auth_method": "none",
  },
  "headers": Object {
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > the api: no token, who am I, an organisation and its members > /v1/me 1`
] = `
Object {
  "body": Object {
    "client_id": "<opaque>",
    "scope": "profile organisations:read organisations:write",
    "sub": "<uuid>",
  },
  "headers": Object {
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > the api: no token, who am I, an organisation and its members > a name too long 1`
] = `
Object {
  "body": Object {
    "error": "invalid_request",
    "error_description": "body/name must NOT have more than 200 characters",
  },
  "headers": Object {
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
  },
  "status": 400,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > the api: no token, who am I, an organisation and its members > an organisation 1`
] = `
Object {
  "body": Object {
    "created_at": "<timestamp>",
    "description": "",
    "id": "<uuid>",
    "is_default": false,
    "name": "TEST <run> Golden",
    "owner": "<uuid>",
    "role": "owner",
    "updated_at": "<timestamp>",
  },
  "headers": Object {
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > the api: no token, who am I, an organisation and its members > its members 1`
] = `
Object {
  "body": Object {
    "items": Array [
      Object {
        "created_at": "<timestamp>",
        "role": "owner",
        "user": "<uuid>",
      },
    ],
    "limit": 20,
    "offset": 0,
    "total": 1,
  },
  "headers": Object {
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;

exports[
  `tests/golden/responses.test.ts > TAP > the api: no token, who am I, an organisation and its members > no token 1`
] = `
Object {
  "body": Object {
    "error": "unauthorized",
    "error_description": "send an access token as Authorization: Bearer <token>",
  },
  "headers": Object {
    "cache-control": "no-store",
    "content-type": "application/json; charset=utf-8",
    "www-authenticate": "Bearer resource_metadata=\\"http://127.0.0.1:<port>/.well-known/oauth-protected-resource\\"",
  },
  "status": 401,
}
`;

exports[`tests/golden/responses.test.ts > TAP > the metadata documents: RFC 8414 and RFC 9728 > api 1`] = `
Object {
  "body": Object {
    "authorization_servers": Array [
      "http://127.0.0.1:<port>",
    ],
    "bearer_methods_supported": Array [
      "header",
    ],
    "resource": "https://api.realstack.test",
    "resource_signing_alg_values_supported": Array [
      "ES256",
    ],
    "scopes_supported": Array [
      "organisations:read",
      "organisations:write",
      "profile",
    ],
  },
  "headers": Object {
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;

exports[`tests/golden/responses.test.ts > TAP > the metadata documents: RFC 8414 and RFC 9728 > auth 1`] = `
Object {
  "body": Object {
    "authorization_endpoint": "http://127.0.0.1:<port>/authorize",
    "authorization_response_iss_parameter_supported": true,
    "code_challenge_methods_supported": Array [
      "S256",
    ],
    "grant_types_supported": Array [
      "authorization_code",
      "refresh_token",
    ],
    "introspection_endpoint": "http://127.0.0.1:<port>/introspect",
    "introspection_endpoint_auth_methods_supported": Array [
      "client_secret_basic",
    ],
    "issuer": "http://127.0.0.1:<port>",
    "jwks_uri": "http://127.0.0.1:<port>/.well-known/jwks.json",
    "registration_endpoint": "http://127.0.0.1:<port>/register",
    "response_modes_supported": Array [
      "query",
    ],
    "response_types_supported": Array [
      "code",
    ],
    "revocation_endpoint": "http://127.0.0.1:<port>/revoke",
    "revocation_endpoint_auth_methods_supported": Array [
      "client_secret_basic",
      "client_secret_post",
      "none",
    ],
    "scopes_supported": Array [
      "organisations:read",
      "organisations:write",
      "profile",
    ],
    "token_endpoint": "http://127.0.0.1:<port>/token",
    "token_endpoint_auth_methods_supported": Array [
      "client_secret_basic",
      "client_secret_post",
      "none",
    ],
  },
  "headers": Object {
    "content-type": "application/json; charset=utf-8",
  },
  "status": 200,
}
`;
