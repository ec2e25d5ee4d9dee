/** Where progress and diagnostics go: stderr for the CLI, nowhere for a benchmark. */
export type Log = (message: string) => void;
