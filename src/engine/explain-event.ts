import { notFound, ok, type Outcome } from '../core/errors.ts';
import type { StoredTransaction, UsageEventRecord } from '../store/records.ts';
import type { Engine } from './context.ts';

/** A usage event after the fact: what was measured, what each meter charged, and which grants paid. */
export async function explainEvent(engine: Engine, id: string): Promise<Outcome<{ event: UsageEventRecord; transaction: StoredTransaction | null }>> {
  const tx = engine.store.read;
  const event = await tx.usage.event(id);
  if (!event) return notFound('usage_event', id);
  const [transaction] = event.txnId ? await tx.ledger.transactions([event.txnId]) : [];
  return ok({ event, transaction: transaction ?? null });
}
