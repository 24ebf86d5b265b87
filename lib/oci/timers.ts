// Timers of the transport. A wait of any length: setTimeout takes a signed 32-bit delay, and
// anything longer (24.8 days) fires after 1 ms instead, which turns a long wait into a busy loop;
// every wait in the client goes through sleep(), which sleeps a longer one in pieces. And the idle
// timeout of one exchange, which every chunk sent or received restarts.

/** The longest delay setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout takes as meant: finite, at least 0, at most MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/** Resolves after `ms` (in pieces when longer than one timer can wait). Keeps the process alive, like any pending work. */
export async function sleep(ms: number): Promise<void> {
  let left = Number.isFinite(ms) ? Math.max(0, ms) : MAX_TIMER_MS;
  do {
    const piece = timerDelay(left);
    await new Promise<void>((resolve) => setTimeout(resolve, piece));
    left -= piece;
  } while (left > 0);
}

/** Aborts after `ms` without progress; touch() restarts the clock. */
export class IdleTimer {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  timedOut = false;
  constructor(private readonly ms: number) {
    this.touch();
  }
  touch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error('idle timeout'));
    }, timerDelay(this.ms));
    this.timer.unref();
  }
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function tap(stream: ReadableStream<Uint8Array>, onChunk: () => void, onEnd: () => void): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        onChunk();
        ctl.enqueue(chunk);
      },
      flush() {
        onEnd();
      },
    }),
  );
}
