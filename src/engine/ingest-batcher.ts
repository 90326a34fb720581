import type { Engine } from './context.ts';
import { ingestEvents, type IngestOptions, type IngestResult } from './ingest-events.ts';

/**
 * Group commit for ingestion. Requests that arrive while a store transaction is running wait and
 * are then written together in the next one: one commit (one fsync) acknowledges all of them, so
 * many small concurrent requests cost about what one batch does. A request is answered only after
 * the transaction holding its events has committed.
 */
export class IngestBatcher {
  private queue: { events: readonly unknown[]; resolve: (r: IngestResult[]) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly engine: Engine,
    private readonly options: IngestOptions = {},
    /** Events per combined transaction; bigger groups wait for the next one. */
    private readonly groupEventsMax = 5000,
  ) {}

  submit(events: readonly unknown[]): Promise<IngestResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = [];
      let count = 0;
      while (this.queue.length > 0 && (group.length === 0 || count + this.queue[0]!.events.length <= this.groupEventsMax)) {
        const next = this.queue.shift()!;
        group.push(next);
        count += next.events.length;
      }
      await this.commit(group);
    }
    this.running = false;
  }

  private async commit(group: typeof this.queue): Promise<void> {
    try {
      const all = group.flatMap((g) => g.events);
      const results = await ingestEvents(this.engine, all, this.options);
      let offset = 0;
      for (const g of group) {
        g.resolve(results.slice(offset, offset + g.events.length));
        offset += g.events.length;
      }
    } catch (error) {
      // One request's failure must not fail its neighbours: retry each on its own.
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      for (const g of group) {
        try {
          g.resolve(await ingestEvents(this.engine, g.events, this.options));
        } catch (own) {
          g.reject(own);
        }
      }
    }
  }
}
