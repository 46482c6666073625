/**
 * Debian's Chromium for the page's real-browser tests, launched headless and kept off the network, and a phone with a
 * passkey (one implementation with the benchmarks: bench/lib/chromium.mjs); and an EventSource-like reader of a page's
 * event stream for the tests that count viewers.
 */
export { chromiumPath, launchChromium, passkeyPhone } from '../../bench/lib/chromium.mjs';

/** One event of a stream. */
export interface StreamEvent {
  type: string;
  id?: string;
  data: string;
}

/** A viewer of an event stream from Node: the events so far, a wait for one, and a way to leave. */
export interface StreamReader {
  events: StreamEvent[];
  until(predicate: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  close(): void;
}

/** Opens `url` as an event stream (fetch, read as text/event-stream). */
export async function readStream(url: string, headers: Record<string, string> = {}): Promise<StreamReader> {
  const abort = new AbortController();
  const answer = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (!answer.ok || !answer.body) throw new Error(`stream ${url}: HTTP ${answer.status} ${await answer.text()}`);
  const events: StreamEvent[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: StreamEvent = { type: 'message', data: '' };
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'event') event.type = value;
            else if (field === 'id') event.id = value;
            else if (field === 'data') event.data += value;
          }
          if (event.data) events.push(event);
          for (const wake of waiters) wake();
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    until(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such event within ${timeoutMs} ms; got ${events.map((e) => `${e.type}:${e.id}`).join(' ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
