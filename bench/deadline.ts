/**
 * Bounds one step of a benchmark: settles as `step` does, or rejects naming `what` once `limitMs`
 * has passed. The timer is deliberately not unref'd: while a step is pending it keeps the event
 * loop open, so a step left waiting on an event that no handle will ever deliver fails here with
 * its name, instead of Node ending the process with exit code 13 ("unsettled top-level await")
 * and no message at all.
 */
export async function within<T>(what: string, limitMs: number, step: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(limitMs / 1000)} s`)), limitMs);
  });
  try {
    return await Promise.race([step, expired]);
  } finally {
    clearTimeout(timer);
  }
}
