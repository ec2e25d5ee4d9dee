/**
 * Loaded into every test process of a per-test recording (`tap --node-arg=--import=...`):
 * before the test file runs, it tells realstack which file starts, and waits while realstack
 * draws the line between the previous file's coverage and this one's (recorder.ts). A process
 * the test itself spawns inherits no address (it is removed here), so it draws no line.
 */
const address = process.env.REALSTACK_SLICE_URL;
if (address && process.argv[1]) {
  delete process.env.REALSTACK_SLICE_URL;
  const res = await fetch(address, { method: 'POST', body: JSON.stringify({ file: process.argv[1] }) }).catch(
    (err: Error) => {
      throw new Error(
        `realstack per-test recording: cannot reach the recorder at ${address} (${err.message})`,
      );
    },
  );
  if (!res.ok)
    throw new Error(`realstack per-test recording: the recorder answered ${res.status}: ${await res.text()}`);
}

export {};
