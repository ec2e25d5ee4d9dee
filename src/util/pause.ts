/**
 * Waits `ms`, or less when `wake` settles first: a poller that can be told something changed
 * looks again at once instead of at its next step. The timer is cleared either way, so a
 * finished wait never holds the process open.
 */
export function pause(ms: number, wake?: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {},
    );
  });
}
