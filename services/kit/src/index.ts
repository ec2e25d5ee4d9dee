export { adminGuard, bearerToken } from './admin-guard.js';
export { askAuthorizationServer } from './authorization-server.js';
export { ConfigError, loadConfig, port, postgresUrl, secret, text, type VarSpec } from './config.js';
export { connectPool, DatabaseUnreachableError, redactUrl, transaction } from './db.js';
export { databaseUnavailable, installJsonErrors, jsonError, Unavailable } from './errors.js';
export { type Migration, migrate } from './migrate.js';
export { type AccessToken, type ResourceServerOptions, resourceServer } from './resource-server.js';
export { EXIT, runService, type ServiceContext, type ServiceDefinition } from './service.js';
export { type TestDataHandlers, type TestRecord, type TestScope, testDataRoutes } from './test-data.js';
