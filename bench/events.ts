import { random } from '../test/support/usage-load.ts';

export { random };

/**
 * Usage events as a client would send them: the caller's own id, a customer id, the event type
 * both benchmark meters read, an RFC 3339 timestamp and a few properties. Deterministic, so two
 * runs send the same traffic.
 */
export interface BenchEvent {
  id: string;
  customer: string;
  type: string;
  timestamp: string;
  properties: { model: string; tokens: number; region: string };
}

const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet', 'llama-3-70b'];
const regions = ['eu-west-1', 'us-east-1', 'ap-south-1'];

export class EventSource {
  private next = 0;
  private readonly rand: () => number;

  constructor(private readonly prefix: string, private readonly customerIds: readonly string[], seed = 1, private readonly type = 'llm') {
    this.rand = random(seed);
  }

  /** One event; timestamps trail the wall clock by up to a minute, as real traffic does. */
  event(nowMs = Date.now()): BenchEvent {
    const r = this.rand;
    const index = this.next++;
    return {
      id: `${this.prefix}-${index}`,
      customer: this.customerIds[Math.floor(r() * this.customerIds.length)]!,
      type: this.type,
      timestamp: new Date(nowMs - Math.floor(r() * 60_000)).toISOString(),
      properties: { model: models[index % models.length]!, tokens: 50 + Math.floor(r() * 2000), region: regions[index % regions.length]! },
    };
  }

  batch(size: number, nowMs = Date.now()): BenchEvent[] {
    const out: BenchEvent[] = new Array(size);
    for (let i = 0; i < size; i++) out[i] = this.event(nowMs);
    return out;
  }
}
