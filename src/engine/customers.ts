import { fail, invalid, notFound, ok, type Outcome } from '../core/errors.ts';
import { isCurrency } from '../core/money.ts';
import type { CustomerRecord, Metadata } from '../store/records.ts';
import { Changes, customerNow, findCustomerLocked, type Engine } from './context.ts';
import { FieldCheck } from './input.ts';

export interface CreateCustomerInput {
  external_id?: string | undefined;
  name?: string | undefined;
  email?: string | undefined;
  currency: string;
  test_clock?: string | undefined;
  overage?: boolean | undefined;
  low_balance_threshold?: string | null | undefined;
  net_days?: number | undefined;
  metadata?: Metadata | undefined;
}

export async function createCustomer(engine: Engine, input: CreateCustomerInput): Promise<Outcome<CustomerRecord>> {
  const check = new FieldCheck();
  if (!isCurrency(input.currency)) check.add('currency', 'invalid_currency', 'currency must be an ISO 4217 code such as "USD".');
  const threshold = check.optionalCredits('low_balance_threshold', input.low_balance_threshold);
  const metadata = check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    if (input.external_id !== undefined && (await tx.customers.findMany([input.external_id])).size > 0) {
      return fail('external_id_taken', 'A customer with this external_id exists already.', { fields: [{ field: 'external_id', code: 'external_id_taken', message: 'already in use' }] });
    }
    if (input.test_clock !== undefined && !(await tx.customers.getClock(input.test_clock))) return notFound('test_clock', input.test_clock);
    const clockTime = input.test_clock ? (await tx.customers.getClock(input.test_clock))!.frozenTimeMs : engine.clock.now();
    const customer: CustomerRecord = {
      id: engine.ids.next('cus'),
      externalId: input.external_id ?? null,
      name: input.name ?? null,
      email: input.email ?? null,
      currency: input.currency,
      testClockId: input.test_clock ?? null,
      overageEnabled: input.overage ?? false,
      lowBalanceThresholdMicro: threshold,
      // A new customer holds no credits: it starts below any positive threshold and depleted, so
      // its first grant is not reported as a crossing; the signals fire when the balance drops.
      belowThreshold: threshold !== null && threshold > 0n,
      depleted: true,
      autoTopUp: null,
      topUpArmed: false,
      topUpCheckAtMs: null,
      netDays: input.net_days ?? 0,
      metadata,
      createdAtMs: clockTime,
    };
    tx.scopeWritesTo([customer.id]);
    await tx.customers.insert(customer);
    const changes = new Changes(engine);
    changes.event('customer.created', customer.id, { customer: customer.id, external_id: customer.externalId }, clockTime);
    await changes.flush(tx);
    return ok(customer);
  });
}

export interface UpdateCustomerInput {
  name?: string | undefined;
  email?: string | undefined;
  overage?: boolean | undefined;
  low_balance_threshold?: string | null | undefined;
  net_days?: number | undefined;
  metadata?: Metadata | undefined;
}

export async function updateCustomer(engine: Engine, ref: string, input: UpdateCustomerInput): Promise<Outcome<CustomerRecord>> {
  const check = new FieldCheck();
  const threshold = input.low_balance_threshold === undefined ? undefined : check.optionalCredits('low_balance_threshold', input.low_balance_threshold);
  const metadata = input.metadata === undefined ? undefined : check.metadata('metadata', input.metadata);
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const customer = await findCustomerLocked(tx, ref);
    if (!customer) return notFound('customer', ref);
    tx.scopeWritesTo([customer.id]);
    if (input.name !== undefined) customer.name = input.name;
    if (input.email !== undefined) customer.email = input.email;
    if (input.overage !== undefined) customer.overageEnabled = input.overage;
    if (threshold !== undefined) {
      customer.lowBalanceThresholdMicro = threshold;
      customer.belowThreshold = false;
    }
    if (metadata !== undefined) customer.metadata = metadata;
    if (input.net_days !== undefined) customer.netDays = input.net_days;
    await tx.customers.update(customer);
    const changes = new Changes(engine);
    changes.event('customer.updated', customer.id, { customer: customer.id }, engine.clock.now());
    await changes.flush(tx);
    return ok(customer);
  });
}

export async function getCustomer(engine: Engine, ref: string): Promise<Outcome<CustomerRecord>> {
  const customer = await engine.store.read.customers.find(ref);
  return customer ? ok(customer) : notFound('customer', ref);
}

/** Turns auto top-up on (armed) or off for a customer. */
export async function setAutoTopUp(
  engine: Engine,
  ref: string,
  input: { threshold: string; credits: string; amount: number } | null,
): Promise<Outcome<CustomerRecord>> {
  const check = new FieldCheck();
  const settings = input
    ? { thresholdMicro: check.credits('auto_top_up.threshold', input.threshold), creditsMicro: check.credits('auto_top_up.credits', input.credits, { positive: true }), amountMinor: BigInt(input.amount) }
    : null;
  if (check.errors.length) return invalid(check.errors);
  return engine.store.transaction(async (tx) => {
    const customer = await findCustomerLocked(tx, ref);
    if (!customer) return notFound('customer', ref);
    tx.scopeWritesTo([customer.id]);
    customer.autoTopUp = settings;
    customer.topUpArmed = settings !== null;
    await tx.customers.update(customer);
    // Set up (or changed): the balance is checked against the threshold now (by the customer's clock).
    await tx.customers.setTopUpArmed(customer.id, customer.topUpArmed, settings === null ? null : await customerNow(engine, tx, customer));
    const changes = new Changes(engine);
    changes.event('customer.auto_top_up_updated', customer.id, { customer: customer.id, enabled: settings !== null }, engine.clock.now());
    await changes.flush(tx);
    return ok(customer);
  });
}
