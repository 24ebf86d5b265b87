// A read whose answer is kept in an LRU as the promise itself: callers that come while it runs share
// it, later ones get its answer while the LRU keeps it. A read that fails is forgotten, so the next
// caller asks again instead of inheriting the failure.
import type { LRUCache } from 'lru-cache';

export function remembered<T extends object>(cache: LRUCache<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  const kept = cache.get(key);
  if (kept) return kept;
  const started = read();
  started.catch(() => {
    if (cache.peek(key) === started) cache.delete(key);
  });
  cache.set(key, started);
  return started;
}
