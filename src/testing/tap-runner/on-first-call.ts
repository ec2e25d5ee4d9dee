// A module's default export whose functions load the module the first time one is called
// (./hooks.ts names the module in this module's URL): pacote's functions are all async, so a
// call that waits for the import first is the call tap made.
type Exports = Record<string | symbol, (...args: unknown[]) => unknown>;

const real = new URL(import.meta.url).searchParams.get('module') ?? '';
let loaded: Promise<Exports> | undefined;

const onFirstCall: Exports = new Proxy(
  {},
  {
    get:
      (_, name) =>
      async (...args: unknown[]) => {
        loaded ??= import(real).then((m: { default: Exports }) => m.default);
        return (await loaded)[name]?.(...args);
      },
  },
);

export default onFirstCall;
