import type { Engine } from '../../engine/context.ts';
import { idFloor } from '../../core/id-time.ts';
import { outboxSettleMs } from '../../engine/stripe-pushes.ts';

/** Events each process already acted on while they wait to settle behind a cursor, by cursor name. */
const actedByEngine = new WeakMap<Engine, Map<string, Set<string>>>();

/**
 * One pass of a worker that acts on domain events of one kind after a named cursor (the outbox
 * read in order): `act` is called once per event this process has not acted on yet and answers
 * `stop` to leave that event and the ones after it for the next pass (Stripe unreachable). The
 * cursor then moves past what was acted on, but only over events old enough to have settled:
 * transactions commit out of id order, so a younger event may still be followed by an older one.
 */
export async function passOverEvents<E extends { eventId: string }>(
  engine: Engine, cursorName: string, read: (position: string) => Promise<E[]>, act: (event: E) => Promise<'done' | 'stop'>,
): Promise<void> {
  const settled = idFloor('evt', engine.clock.now() - outboxSettleMs);
  const events = await read(await engine.store.read.stripe.cursor(cursorName));
  const byName = actedByEngine.get(engine) ?? new Map<string, Set<string>>();
  actedByEngine.set(engine, byName);
  const acted = byName.get(cursorName) ?? new Set<string>();
  byName.set(cursorName, acted);
  let safe = '';
  for (const event of events) {
    if (!acted.has(event.eventId)) {
      if ((await act(event)) === 'stop') break;
      acted.add(event.eventId);
    }
    if (event.eventId < settled) safe = event.eventId;
  }
  if (safe !== '') {
    await engine.store.transaction((tx) => tx.stripe.advanceCursor(cursorName, safe));
    for (const id of acted) if (id <= safe) acted.delete(id);
  }
}
