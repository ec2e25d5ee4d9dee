/**
 * RFC 7591 §2 client metadata, validated once: what a registration may ask for, and the
 * policy of this server (OAuth 2.1: code flow only, exact redirect URIs, https or loopback).
 */
export interface ClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post';
  grant_types: ('authorization_code' | 'refresh_token')[];
  response_types: ['code'];
  client_name?: string;
  client_uri?: string;
  scope?: string;
  /** RFC 7591 §2: names the client software, the same across its updates. */
  software_id?: string;
}

export class MetadataError extends Error {
  constructor(
    readonly error: 'invalid_redirect_uri' | 'invalid_client_metadata',
    message: string,
  ) {
    super(message);
  }
}

/** Set by the server, never by the client: a PUT (RFC 7592 §2.2) may not change them. */
export const READ_ONLY_FIELDS = [
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
  'registration_access_token',
  'registration_client_uri',
];

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
const GRANTS = ['authorization_code', 'refresh_token'] as const;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function redirectUri(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '')
    throw new MetadataError('invalid_redirect_uri', 'a redirect URI must be a non-empty string');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MetadataError('invalid_redirect_uri', `${raw} is not an absolute URI`);
  }
  if (raw.includes('#'))
    throw new MetadataError('invalid_redirect_uri', `${raw} has a fragment (RFC 6749 §3.1.2)`);
  if (raw.includes('*'))
    throw new MetadataError('invalid_redirect_uri', `${raw} has a wildcard; redirect URIs match exactly`);
  const native = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol); // private-use scheme: com.example.app:
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new MetadataError(
      'invalid_redirect_uri',
      `${raw} is plain http on a host that is not loopback; use https`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:' && !native) {
    throw new MetadataError(
      'invalid_redirect_uri',
      `${raw}: use https, http on a loopback address, or a reverse-domain scheme`,
    );
  }
  return raw;
}

function optionalString(body: Record<string, unknown>, field: string, max: number): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max) {
    throw new MetadataError(
      'invalid_client_metadata',
      `${field} must be a string of at most ${max} characters`,
    );
  }
  return v;
}

export function parseClientMetadata(body: unknown): ClientMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MetadataError('invalid_client_metadata', 'the body must be a JSON object of client metadata');
  }
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.redirect_uris) || b.redirect_uris.length === 0) {
    throw new MetadataError('invalid_redirect_uri', 'redirect_uris must list at least one URI');
  }
  const redirect_uris = b.redirect_uris.map(redirectUri);

  const method = b.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(method as (typeof AUTH_METHODS)[number])) {
    throw new MetadataError(
      'invalid_client_metadata',
      `token_endpoint_auth_method "${String(method)}" is not one of ${AUTH_METHODS.join(', ')}`,
    );
  }
  const grants = b.grant_types ?? ['authorization_code'];
  if (!Array.isArray(grants) || grants.length === 0 || !grants.every((g) => GRANTS.includes(g))) {
    throw new MetadataError(
      'invalid_client_metadata',
      `grant_types may hold only ${GRANTS.join(' and ')} (OAuth 2.1 has no implicit or password grant)`,
    );
  }
  const responses = b.response_types ?? ['code'];
  if (!Array.isArray(responses) || responses.length !== 1 || responses[0] !== 'code') {
    throw new MetadataError('invalid_client_metadata', 'response_types must be ["code"]');
  }
  const metadata: ClientMetadata = {
    redirect_uris,
    token_endpoint_auth_method: method as ClientMetadata['token_endpoint_auth_method'],
    grant_types: [...new Set(grants)] as ClientMetadata['grant_types'],
    response_types: ['code'],
  };
  const name = optionalString(b, 'client_name', 200);
  if (name !== undefined) metadata.client_name = name;
  const uri = optionalString(b, 'client_uri', 2000);
  if (uri !== undefined) metadata.client_uri = uri;
  const scope = optionalString(b, 'scope', 1000);
  if (scope !== undefined) metadata.scope = scope;
  const softwareId = optionalString(b, 'software_id', 200);
  if (softwareId !== undefined) metadata.software_id = softwareId;
  return metadata;
}
