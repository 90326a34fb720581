/**
 * Waits for a condition instead of sleeping for an order: polls `probe` until it returns a value
 * other than null/undefined/false, or fails with `what` after the deadline.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
