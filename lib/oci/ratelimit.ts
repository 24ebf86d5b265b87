// Per-registry request budget: a token bucket (rate + burst) that a
// Retry-After can pause, plus a cap on requests in flight. Each host has its
// own budget, so a 429 from one registry does not slow the others.
import { OCI_DEFAULTS } from './defaults';
import { sleep } from './timers';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep,
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  private pausedUntil = 0;

  constructor(
    public ratePerSecond: number,
    public burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('token bucket needs rate > 0 and burst >= 1');
    this.tokens = burst;
    this.last = clock.now();
  }

  /** New rate and burst from now on (tokens saved up beyond the new burst are dropped). */
  setRate(ratePerSecond: number, burst: number): void {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error('token bucket needs rate > 0 and burst >= 1');
    this.refill();
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last && now >= this.pausedUntil) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }

  /** No token is handed out before `until` (epoch ms). Later pauses extend, earlier ones never shorten. */
  pauseUntil(until: number): void {
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    // Resume gently: one request at the pause's end, then the steady rate, not a full burst.
    this.tokens = Math.min(this.tokens, 1);
    this.last = Math.max(this.last, until);
  }

  get pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /** Takes a token and returns 0, or returns how many ms to wait before trying again. */
  tryTake(): number {
    const now = this.clock.now();
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }

  async take(): Promise<void> {
    for (;;) {
      const wait = this.tryTake();
      if (wait === 0) return;
      // A pause is waited out whole; a wait for a token is looked at again at least every 250 ms, so
      // a rate raised meanwhile (a larger budget share) counts at once.
      const paused = this.clock.now() < this.pausedUntil;
      await this.clock.sleep(paused ? wait : Math.min(wait, 250));
    }
  }
}

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(public limit: number) {
    if (!(limit >= 1)) throw new Error('semaphore limit must be >= 1');
  }

  /** A new limit from now on: a higher one lets waiters in at once, a lower one as slots free. */
  setLimit(limit: number): void {
    if (!(limit >= 1)) throw new Error('semaphore limit must be >= 1');
    this.limit = limit;
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!();
    }
  }
  get inFlight(): number {
    return this.active;
  }
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((r) => this.waiters.push(r)); // slot handed over by release
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A lowered limit takes effect as slots come back: over it, a slot is not handed on.
      const next = this.active > this.limit ? undefined : this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }
}

export interface HostLimits {
  requestsPerSecond: number;
  burst: number;
  concurrency: number;
}

const DEFAULT_HOST_LIMITS: HostLimits = OCI_DEFAULTS.hostLimits;

export interface RateLimitOptions {
  default?: Partial<HostLimits>;
  hosts?: Record<string, Partial<HostLimits>>;
}

export class HostLimiter {
  readonly bucket: TokenBucket;
  readonly slots: Semaphore;
  constructor(
    readonly limits: HostLimits,
    clock: Clock = realClock,
    share = 1,
  ) {
    this.bucket = new TokenBucket(limits.requestsPerSecond, limits.burst, clock);
    this.slots = new Semaphore(limits.concurrency);
    if (share !== 1) this.setShare(share);
  }

  /** This client's part of the host's budget (1/N when N workers share it): rate, burst and concurrency scale down. */
  setShare(share: number): void {
    this.bucket.setRate(this.limits.requestsPerSecond * share, Math.max(1, this.limits.burst * share));
    this.slots.setLimit(Math.max(1, Math.floor(this.limits.concurrency * share)));
  }
  /** Waits for a concurrency slot, then a token (which honours any pause). Returns the slot's release. */
  async acquire(): Promise<() => void> {
    const release = await this.slots.acquire();
    try {
      await this.bucket.take();
    } catch (e) {
      release();
      throw e;
    }
    return release;
  }
}

export class RateLimiter {
  private readonly hosts = new Map<string, HostLimiter>();
  private share = 1;
  constructor(
    private readonly opts: RateLimitOptions = {},
    private readonly clock: Clock = realClock,
  ) {}
  forHost(host: string): HostLimiter {
    let l = this.hosts.get(host);
    if (!l) {
      const limits = { ...DEFAULT_HOST_LIMITS, ...this.opts.default, ...this.opts.hosts?.[host] };
      l = new HostLimiter(limits, this.clock, this.share);
      this.hosts.set(host, l);
    }
    return l;
  }

  /** The part of every host's budget this client may use (0 < share <= 1), now and for hosts met later. */
  setShare(share: number): void {
    if (!(share > 0 && share <= 1)) throw new Error(`budget share must be in (0, 1], got ${share}`);
    this.share = share;
    for (const l of this.hosts.values()) l.setShare(share);
  }

  get budgetShare(): number {
    return this.share;
  }
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date. Undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP date always names a month; this keeps Date.parse's leniency ("-3" is a year) out.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. attempt starts at 1. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
