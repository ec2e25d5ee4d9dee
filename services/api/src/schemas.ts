/**
 * The JSON schemas of the api's boundary: fastify validates requests against them once (a bad
 * body is a 400 naming the field and the limit), serialises responses through them (a field not
 * listed never leaves), and @fastify/swagger turns them into /openapi.json.
 */
export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 2000;

export const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  required: ['error', 'error_description'],
} as const;

export const role = { type: 'string', enum: ['owner', 'admin', 'member'] } as const;

export const organisation = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    description: { type: 'string' },
    owner: { type: 'string' },
    is_default: { type: 'boolean' },
    role: { ...role, description: "the caller's role in it" },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'name', 'description', 'owner', 'is_default', 'role', 'created_at', 'updated_at'],
} as const;

export const member = {
  type: 'object',
  properties: { user: { type: 'string' }, role, created_at: { type: 'string', format: 'date-time' } },
  required: ['user', 'role', 'created_at'],
} as const;

export const auditEntry = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    organisation_id: { type: 'string', format: 'uuid' },
    actor: { type: 'string' },
    action: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    at: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'organisation_id', 'actor', 'action', 'detail', 'at'],
} as const;

export const page = (item: object) =>
  ({
    type: 'object',
    properties: {
      items: { type: 'array', items: item },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
    },
    required: ['items', 'total', 'limit', 'offset'],
  }) as const;

export const paging = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
  },
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', format: 'uuid' } },
  required: ['id'],
} as const;

/** A name: not blank, at most NAME_MAX characters (checked in characters, so emoji count once). */
export const name = { type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: '\\S' } as const;
export const description = { type: 'string', maxLength: DESCRIPTION_MAX } as const;

/** Errors a route may answer with, for the OpenAPI document. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, errorBody]));

const timestamps = {
  created_by: { type: 'string' },
  created_at: { type: 'string', format: 'date-time' },
  updated_at: { type: 'string', format: 'date-time' },
} as const;

/** A register or a schema: a named thing of one organisation. */
export const namedEntity = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    organisation_id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    description: { type: 'string' },
    ...timestamps,
  },
  required: ['id', 'organisation_id', 'name', 'description', 'created_by', 'created_at', 'updated_at'],
} as const;

export const object = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    organisation_id: { type: 'string', format: 'uuid' },
    register: { type: 'string', format: 'uuid' },
    schema: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    data: { type: 'object', additionalProperties: true },
    ...timestamps,
  },
  required: [
    'id',
    'organisation_id',
    'register',
    'schema',
    'name',
    'data',
    'created_by',
    'created_at',
    'updated_at',
  ],
} as const;

export const newObject = {
  type: 'object',
  properties: {
    name,
    register: { type: 'string', format: 'uuid' },
    schema: { type: 'string', format: 'uuid' },
    data: { type: 'object', additionalProperties: true, default: {} },
  },
  required: ['name', 'register', 'schema'],
  additionalProperties: false,
} as const;

export const searchPaging = {
  ...paging,
  properties: { ...paging.properties, name: { type: 'string', maxLength: NAME_MAX } },
} as const;
