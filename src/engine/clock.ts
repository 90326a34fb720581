/**
 * The one clock every piece of code reads. Customers on a test clock read that clock's frozen
 * time instead (see `customerNow`); everything else reads `Clock.now()`.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock for tools and benchmarks that need to set time by hand. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
}
