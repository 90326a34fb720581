import type { Engine } from './context.ts';
import type { Store, StoreTx } from '../store/store.ts';
import type { LedgerTransaction } from '../core/ledger.ts';
import type { CreditNoteRecord, DomainEventRecord, InvoiceRecord } from '../store/records.ts';

/** What a use case would have written: its ledger transactions, invoices, credit notes and domain events. */
export interface PreviewWrites {
  transactions: LedgerTransaction[];
  invoices: InvoiceRecord[];
  creditNotes: CreditNoteRecord[];
  events: DomainEventRecord[];
}

class Rollback {
  constructor(readonly result: unknown) {}
}

/** The StoreTx the use case sees: the real one, with its writes of interest recorded on the way. */
function recording(tx: StoreTx, writes: PreviewWrites): StoreTx {
  const ledger = Object.create(tx.ledger) as StoreTx['ledger'];
  ledger.post = async (txns, nowMs) => {
    writes.transactions.push(...txns);
    return tx.ledger.post(txns, nowMs);
  };
  ledger.insertDomainEvents = async (events) => {
    writes.events.push(...events);
    return tx.ledger.insertDomainEvents(events);
  };
  const billing = Object.create(tx.billing) as StoreTx['billing'];
  billing.insertInvoice = async (invoice) => {
    writes.invoices.push(invoice);
    return tx.billing.insertInvoice(invoice);
  };
  const creditNotes = Object.create(tx.creditNotes) as StoreTx['creditNotes'];
  creditNotes.insert = async (note) => {
    writes.creditNotes.push(note);
    return tx.creditNotes.insert(note);
  };
  const wrapped = Object.create(tx) as StoreTx & Record<string, unknown>;
  Object.defineProperties(wrapped, { ledger: { value: ledger }, billing: { value: billing }, creditNotes: { value: creditNotes } });
  return wrapped;
}

/**
 * Runs a use case exactly as the real call would, in its store transaction, then rolls that
 * transaction back: the result and everything it would have written, with nothing stored. A
 * preview therefore cannot disagree with the real call made right after it on the same data.
 */
export async function preview<T>(engine: Engine, run: (engine: Engine) => Promise<T>): Promise<{ result: T; writes: PreviewWrites }> {
  const writes: PreviewWrites = { transactions: [], invoices: [], creditNotes: [], events: [] };
  const store = Object.create(engine.store) as Store;
  store.transaction = async <R>(fn: (tx: StoreTx) => Promise<R>): Promise<R> => {
    try {
      await engine.store.transaction(async (tx) => {
        throw new Rollback(await fn(recording(tx, writes)));
      });
    } catch (error) {
      if (error instanceof Rollback) return error.result as R;
      throw error;
    }
    throw new Error('unreachable: the preview transaction always rolls back');
  };
  const result = await run({ ...engine, store });
  return { result, writes };
}
