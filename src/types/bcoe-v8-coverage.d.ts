// @bcoe/v8-coverage ships no types; realstack uses its merge, as c8 does.
declare module '@bcoe/v8-coverage' {
  export function mergeProcessCovs(processCovs: { result: unknown[] }[]): { result: unknown[] };
}
