/**
 * `BENCH_SUBSCRIBED=1` of the A/B tools (`ingest-ab.ts`, `authorize-ab.ts`): every customer of a
 * checkout's benchmark fixture is subscribed to a monthly plan that overrides the tokens meter's
 * rate, so each event's period and rate come from the subscription timeline rather than the
 * calendar month and the meter. `from` resolves a path inside the checkout being measured, so
 * each side is set up with its own code.
 */
export async function subscribeAll(from: (path: string) => string, fixture: { engine: unknown; customerIds: readonly string[] }): Promise<void> {
  const { createPlan } = await import(from('src/engine/plans.ts'));
  const { createSubscription } = await import(from('src/engine/subscriptions.ts'));
  const { meterCodes } = await import(from('bench/fixture.ts'));
  const plan = await createPlan(fixture.engine, {
    code: 'bench-plan', name: 'Bench', currency: 'USD', interval: 'month', amount: 1000, included_credits: '1',
    rates: { [meterCodes.tokens]: { model: 'per_unit', credits_per_unit: '0.000015' } },
  });
  if (!plan.ok) throw new Error(JSON.stringify(plan));
  for (const customer of fixture.customerIds) {
    const sub = await createSubscription(fixture.engine, { customer, plan: plan.value.id });
    if (!sub.ok) throw new Error(JSON.stringify(sub));
  }
}
