/** The first bytes of a response kept with its attempt. */
export const responseBodyKeptBytes = 1024;

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
}

/**
 * One POST, bounded by `timeoutMs` (connecting, waiting and reading the answer all count) and
 * by `stop` (the server shutting down). Redirects are not followed: a redirect is an answer that
 * is not 2xx, so it cannot lead a webhook to an address the URL check never saw.
 */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, timeoutMs: number, stop: AbortSignal): Promise<SendResult> {
  const started = performance.now();
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Tally-Webhooks/1' },
      body,
      redirect: 'manual',
      signal,
    });
    const responseBody = await readPrefix(response, responseBodyKeptBytes);
    return { statusCode: response.status, error: null, responseBody, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { statusCode: null, error: describe(error, stop), responseBody: null, durationMs: Math.round(performance.now() - started) };
  }
}

async function readPrefix(response: Response, bytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await reader.cancel().catch(() => {});
  const all = Buffer.concat(chunks).subarray(0, bytes);
  return all.toString('utf8');
}

function describe(error: unknown, stop: AbortSignal): string {
  if (stop.aborted) return 'aborted: the server is stopping';
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'connection_refused';
    if (cause?.code) return cause.code.toLowerCase();
    if (cause?.message) return cause.message.slice(0, 200);
    return error.message.slice(0, 200);
  }
  return 'failed';
}
