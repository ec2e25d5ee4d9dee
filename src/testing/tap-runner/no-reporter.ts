// What tap's runner imports as `@tapjs/reporter` when realstack runs it with the `tap` reporter
// (./hooks.ts): that path pipes the raw TAP stream out and reads neither export. Any other use
// says what happened instead of misreporting.
const refuse = (): never => {
  throw new Error(
    "tap's terminal reporters are not loaded: realstack runs tap with --reporter=tap and reads the TAP stream itself",
  );
};

export const report = refuse;
export const types: Record<string, unknown> = new Proxy({}, { get: refuse });
