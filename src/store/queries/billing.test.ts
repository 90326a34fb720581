import { describe, expect, it } from 'vitest';
import { dialects } from '../../../test/support/databases.ts';
import { must, useEngine } from '../../../test/support/engine.ts';
import { createCustomer } from '../../engine/customers.ts';
import { purchaseCredits } from '../../engine/purchases.ts';

/** An invoice's state and its provider link are written by different use cases, under different locks. */
describe.each(dialects)('billing.updateInvoiceState on %s', (dialect) => {
  const ctx = useEngine(dialect);

  it('keeps a Stripe link made after the state it writes was read', async () => {
    const customer = must(await createCustomer(ctx.engine, { currency: 'EUR' }));
    const { invoice } = must(await purchaseCredits(ctx.engine, customer.id, { credits: '100', amount: 1000 }));
    // Due work reads the invoice, a push links it meanwhile, then due work writes what it read.
    const stale = (await ctx.engine.store.read.billing.invoice(invoice.id))!;
    expect(stale.providerInvoiceId).toBeNull();
    await ctx.engine.store.transaction((tx) => tx.stripe.linkInvoice(invoice.id, 'in_link_kept'));
    await ctx.engine.store.transaction((tx) => tx.billing.updateInvoiceState({ ...stale, pastDueAtMs: stale.createdAtMs, dunningStep: 1 }));

    const after = (await ctx.engine.store.read.billing.invoice(invoice.id))!;
    expect(after).toMatchObject({ provider: 'stripe', providerInvoiceId: 'in_link_kept', dunningStep: 1, pastDueAtMs: stale.createdAtMs });
  });
});
