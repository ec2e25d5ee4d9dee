/**
 * A signal for pollers (util/pause.ts): `next()` is one promise for every waiter until `fire()`
 * settles it; the next call makes a new one. Firing with no one waiting costs nothing.
 */
export class Wake {
  private pending?: { promise: Promise<void>; resolve: () => void };

  next(): Promise<void> {
    if (!this.pending) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.pending = { promise, resolve };
    }
    return this.pending.promise;
  }

  fire(): void {
    this.pending?.resolve();
    this.pending = undefined;
  }
}
