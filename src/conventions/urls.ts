/** REALSTACK_API_URL for service "api": how tests, and the external engine, name a service's URL. */
export const urlVariable = (service: string): string =>
  `REALSTACK_${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
