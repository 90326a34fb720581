import { expect } from 'vitest';
import type { Engine } from '../../src/engine/context.ts';
import { advanceTestClock, createTestClock } from '../../src/engine/test-clocks.ts';
import { createCustomer } from '../../src/engine/customers.ts';
import { createMeter } from '../../src/engine/meters.ts';
import { ingestEvents } from '../../src/engine/ingest-events.ts';
import { recordPayment } from '../../src/engine/invoices.ts';
import type { InvoiceRecord } from '../../src/store/records.ts';
import { must } from './engine.ts';

/** Shared steps of the finance scenarios (reports, reconciliation, the year on a test clock). */
let seq = 0;
export const uniqueCode = (name: string): string => `${name}_${process.pid}_${++seq}`;

/** A customer on its own test clock, and a meter charging 1 credit per unit of `n`. */
/**
 * The scenarios pay each invoice at the start of the next month, so their customers are on 45-day
 * terms: nothing falls past due unless a scenario stops paying (`netDays: 0` to be due on issue).
 */
export async function financeCustomer(engine: Engine, frozenTime: string, options: { overage?: boolean; netDays?: number } = {}) {
  const clock = must(await createTestClock(engine, { frozen_time: frozenTime }));
  const customer = must(await createCustomer(engine, {
    currency: 'USD', test_clock: clock.id, net_days: options.netDays ?? 45, ...(options.overage ? { overage: true } : {}),
  }));
  const meter = uniqueCode('tokens');
  must(await createMeter(engine, { code: meter, event_type: meter, aggregation: 'sum', value_property: 'n', rate: { model: 'per_unit', credits_per_unit: '1' } }));
  let events = 0;
  return {
    clock,
    customer,
    meter,
    advance: async (to: string) => must(await advanceTestClock(engine, clock.id, { frozen_time: to })),
    /** Uses `n` credits now (by the customer's clock); returns the event id. */
    use: async (n: number | string, timestamp?: string) => {
      const id = `${customer.id}-e${++events}`;
      const [result] = await ingestEvents(engine, [{ id, customer: customer.id, type: meter, properties: { n }, ...(timestamp ? { timestamp } : {}) }]);
      expect(result!.status, JSON.stringify(result)).toBe('accepted');
      return id;
    },
  };
}

export async function invoicesOf(engine: Engine, customerId: string): Promise<InvoiceRecord[]> {
  return (await engine.store.read.billing.listInvoices({ customerId }, { limit: 100 })).data;
}

/** Pays every open invoice of the customer in full. */
export async function payOpenInvoices(engine: Engine, customerId: string): Promise<void> {
  for (const invoice of await invoicesOf(engine, customerId)) {
    if (invoice.status === 'open') must(await recordPayment(engine, invoice.id, { amount: Number(invoice.totalMinor - invoice.amountPaidMinor) }));
  }
}
