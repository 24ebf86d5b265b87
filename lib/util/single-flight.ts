// Concurrent callers asking for the same key share one load: the copies of one digest to three
// hosts start together, and without this each would read the source before any could cache it.
export class SingleFlight<T> {
  private readonly pending = new Map<string, Promise<T>>();

  /** The running load of `key`, or a new one from `load`; forgotten once it settles (a failure is not kept). */
  run(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.pending.get(key);
    if (running) return running;
    const p = load().finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }
}
