/** A service's name as a variable's name takes it: `API` for "api", `AUTH_V2` for "auth-v2". */
export const variableName = (service: string): string => service.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** REALSTACK_API_URL for service "api": how tests, and the external engine, name a service's URL. */
export const urlVariable = (service: string): string => `REALSTACK_${variableName(service)}_URL`;
