import type { Engine } from '../engine/context.ts';
import { parseTimestamp } from '../core/time.ts';
import { limits } from '../engine/limits.ts';
import { parseArgs } from './args.ts';
import { replayEvents } from '../integrations/webhooks/fan-out.ts';
import { webhookDeliveryView } from '../server/webhook-views.ts';

export const webhooksUsage = `  webhooks deliveries <endpoint> [--limit N] [--starting-after DELIVERY]
                        an endpoint's deliveries, oldest first, with every attempt (JSON)
  webhooks retry <delivery>
                        make a delivery due now; a running server sends it
  webhooks replay <endpoint> --since ISO
                        send again every event the endpoint wants recorded since a time
`;

/**
 * `tally webhooks …` over the configured database. Sending is the running server's delivery
 * worker's job: these commands list, and make deliveries due.
 */
export async function webhooksCommand(engine: Engine, args: readonly string[]): Promise<number> {
  const [sub, id, ...rest] = args;
  // Options are checked as the other commands check theirs: an unknown one, one without its value,
  // or a limit that is not a number was ignored, or reached the database as NaN.
  const { options, flags, positional, bad } = parseArgs(rest, ['limit', 'starting-after', 'since']);
  const allowed = sub === 'deliveries' ? ['limit', 'starting-after'] : sub === 'replay' ? ['since'] : [];
  const unknown = [...flags, ...[...options.keys()].filter((name) => !allowed.includes(name))][0];
  if (bad || unknown !== undefined || positional.length > 0) {
    return failWith(`${bad ?? (unknown !== undefined ? `unknown option --${unknown}` : `unexpected argument ${positional[0]}`)}\nusage:\n${webhooksUsage}`, 2);
  }
  const option = (name: string): string | undefined => options.get(name)?.at(-1);
  const store = engine.store.read.webhooks;
  if (sub === 'deliveries' && id) {
    const limitText = option('limit') ?? String(limits.pageSizeMax);
    const limit = /^[0-9]{1,3}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > limits.pageSizeMax) return failWith(`--limit takes a page size, 1 to ${limits.pageSizeMax}\nusage:\n${webhooksUsage}`, 2);
    if (!(await store.endpoint(id))) return failWith(`webhook_endpoint_not_found: no webhook endpoint ${id}`);
    const page = await store.listDeliveries(id, { limit, startingAfter: option('starting-after') });
    if (page.cursorUnknown) return failWith(`cursor_not_found: no delivery ${option('starting-after')} of webhook endpoint ${id}`);
    const latest = page.data;
    const attempts = await store.attemptsOf(latest.map((d) => d.id));
    const view = latest.map((d) => webhookDeliveryView(d, attempts.filter((a) => a.deliveryId === d.id)));
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  if (sub === 'retry' && id) {
    if (!(await store.delivery(id))) return failWith(`webhook_delivery_not_found: no webhook delivery ${id}`);
    if (!(await store.retryNow(id, engine.clock.now()))) return failWith('webhook_delivery_in_flight: an attempt is being sent right now');
    console.log(`delivery ${id} is due now`);
    return 0;
  }
  if (sub === 'replay' && id) {
    const since = parseTimestamp(option('since'));
    if (!since.ok) return failWith('usage: tally webhooks replay <endpoint> --since ISO');
    const endpoint = await store.endpoint(id);
    if (!endpoint) return failWith(`webhook_endpoint_not_found: no webhook endpoint ${id}`);
    const result = await replayEvents(engine, endpoint, since.value);
    console.log(`${result.deliveries} deliveries created${result.truncated ? ' (more events remain: replay again from a later time)' : ''}`);
    return 0;
  }
  return failWith(`usage:\n${webhooksUsage}`, 2);
}

function failWith(message: string, code = 1): number {
  console.error(message);
  return code;
}
