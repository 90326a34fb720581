import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Stripe from 'stripe';

/**
 * A local stand-in for the part of Stripe's REST API that Tally calls, for tests: form-encoded
 * requests with bracketed keys, Stripe-shaped objects (`cus_`, `in_`, `ii_`, `ch_`, `pi_`, `re_`,
 * `dp_`) and errors, idempotency keys honoured the way Stripe documents them (the same key with
 * the same parameters replays the first answer with `Idempotent-Replayed: true`; with other
 * parameters it is an `idempotency_error`), and invoices that can be finalized and paid. Driven by
 * the official `stripe` package through its host/port/protocol options.
 *
 * It counts what it really created, so a test can prove that retries and several servers never
 * made a second invoice; it can fail on demand (500 before or after doing the work).
 */

type Params = Record<string, unknown>;
type StripeObject = Record<string, any>;

export interface StandInCounts {
  customers: number;
  invoices: number;
  invoiceItems: number;
  finalizations: number;
  voids: number;
  requests: number;
}

interface StoredAnswer {
  route: string;
  paramsHash: string;
  status: number;
  body: unknown;
}

class StripeError extends Error {
  constructor(readonly status: number, readonly body: { type: string; message: string; code?: string; param?: string }) {
    super(body.message);
  }
}

export class StripeStandIn {
  readonly customers = new Map<string, StripeObject>();
  readonly invoices = new Map<string, StripeObject>();
  readonly invoiceItems = new Map<string, StripeObject>();
  readonly charges = new Map<string, StripeObject>();
  readonly counts: StandInCounts = { customers: 0, invoices: 0, invoiceItems: 0, finalizations: 0, voids: 0, requests: 0 };
  /** How many POSTs carried each idempotency key, replays included. */
  readonly keyUses = new Map<string, number>();
  readonly secretKey = 'sk_test_tally_stand_in';
  private readonly answers = new Map<string, StoredAnswer>();
  private failures: { count: number; afterWork: boolean } = { count: 0, afterWork: false };
  private invoiceNumber = 0;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(): Promise<StripeStandIn> {
    let standIn: StripeStandIn | null = null;
    const server = createServer((req, res) => void standIn!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('stand-in has no port');
    standIn = new StripeStandIn(server, address.port);
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The official client pointed at this stand-in, as Tally's `TALLY_STRIPE_API_BASE` does. */
  client(): Stripe {
    return new Stripe(this.secretKey, { host: '127.0.0.1', port: this.port, protocol: 'http', maxNetworkRetries: 0 });
  }

  /** The next `count` requests answer 500; with `afterWork` the work is done (and kept for the key) first, as when a reply is lost. */
  failNext(count: number, options: { afterWork?: boolean } = {}): void {
    this.failures = { count, afterWork: options.afterWork ?? false };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** A dispute on a charge, as Stripe would show it in `charge.dispute.*` events. */
  dispute(chargeId: string, status: 'needs_response' | 'won' | 'lost' = 'needs_response', id = newId('dp')): StripeObject {
    const charge = this.charges.get(chargeId);
    if (!charge) throw new Error(`no charge ${chargeId}`);
    charge.disputed = true;
    return {
      id, object: 'dispute', amount: charge.amount, currency: charge.currency, charge: charge.id, payment_intent: charge.payment_intent,
      created: now(), livemode: false, metadata: {}, reason: 'fraudulent', status, is_charge_refundable: false, balance_transactions: [],
    };
  }

  /** An event envelope as Stripe sends it to a webhook endpoint. */
  event(type: string, object: StripeObject, id = newId('evt')): StripeObject {
    return {
      id, object: 'event', api_version: Stripe.API_VERSION, created: now(), type, livemode: false, pending_webhooks: 1,
      request: { id: null, idempotency_key: null }, data: { object: structuredClone(object) },
    };
  }

  /** The body and `Stripe-Signature` header Stripe would send for `event`, signed with `secret` at `timestamp`. */
  static sign(event: StripeObject, secret: string, timestamp = now()): { body: string; signature: string } {
    const body = JSON.stringify(event);
    return { body, signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counts.requests += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const raw = req.method === 'GET' ? url.searchParams.toString() : Buffer.concat(chunks).toString('utf8');
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return reply(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    }
    const route = `${req.method} ${url.pathname}`;
    const failing = this.failures.count > 0;
    if (failing) this.failures.count -= 1;
    if (failing && !this.failures.afterWork) return reply(500, { error: { type: 'api_error', message: 'An unknown error occurred.' } });
    const key = req.headers['idempotency-key'] as string | undefined;
    const paramsHash = createHash('sha256').update(raw).digest('hex');
    if (key !== undefined && req.method === 'POST') {
      this.keyUses.set(key, (this.keyUses.get(key) ?? 0) + 1);
      const stored = this.answers.get(key);
      if (stored) {
        if (stored.route !== route || stored.paramsHash !== paramsHash) {
          return reply(400, { error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          } });
        }
        return reply(stored.status, stored.body, { 'idempotent-replayed': 'true', 'idempotency-key': key });
      }
    }
    let status = 200;
    let body: unknown;
    try {
      body = this.route(req.method ?? 'GET', url.pathname, parseForm(raw));
    } catch (error) {
      if (!(error instanceof StripeError)) throw error;
      status = error.status;
      body = { error: error.body };
    }
    // Stripe keeps the answer of a request that ran (not one refused for its parameters).
    if (key !== undefined && req.method === 'POST' && status !== 400) this.answers.set(key, { route, paramsHash, status, body });
    if (failing) return reply(500, { error: { type: 'api_error', message: 'An unknown error occurred.' } });
    reply(status, body, key ? { 'idempotency-key': key } : {});
  }

  private route(method: string, path: string, params: Params): unknown {
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] !== 'v1') throw notFound(method, path);
    const [, resource, id, action] = parts;
    if (method === 'POST' && resource === 'customers' && !id) return this.createCustomer(params);
    if (method === 'GET' && resource === 'customers' && id && !action) return this.find(this.customers, id, 'customer');
    if (method === 'POST' && resource === 'invoices' && !id) return this.createInvoice(params);
    if (method === 'GET' && resource === 'invoices' && id && !action) return this.find(this.invoices, id, 'invoice');
    if (method === 'POST' && resource === 'invoices' && id && action === 'finalize') return this.finalize(id);
    if (method === 'POST' && resource === 'invoices' && id && action === 'pay') return this.pay(id);
    if (method === 'POST' && resource === 'invoices' && id && action === 'void') return this.voidInvoice(id);
    if (method === 'POST' && resource === 'invoiceitems' && !id) return this.createInvoiceItem(params);
    if (method === 'GET' && resource === 'charges' && id && !action) return this.find(this.charges, id, 'charge');
    if (method === 'POST' && resource === 'refunds' && !id) return this.refund(params);
    throw notFound(method, path);
  }

  private find(map: Map<string, StripeObject>, id: string, noun: string): StripeObject {
    const found = map.get(id);
    if (!found) throw new StripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${noun}: '${id}'` });
    return found;
  }

  private createCustomer(params: Params): StripeObject {
    const customer = {
      id: newId('cus'), object: 'customer', created: now(), livemode: false, balance: 0, currency: null, delinquent: false,
      description: params.description ?? null, email: params.email ?? null, name: params.name ?? null, metadata: metadataOf(params),
    };
    this.customers.set(customer.id, customer);
    this.counts.customers += 1;
    return customer;
  }

  private createInvoice(params: Params): StripeObject {
    const customer = this.find(this.customers, required(params, 'customer') as string, 'customer');
    const id = newId('in');
    const invoice: StripeObject = {
      id, object: 'invoice', customer: customer.id, customer_email: customer.email, customer_name: customer.name, created: now(),
      currency: (params.currency as string | undefined) ?? 'usd', status: 'draft', livemode: false, number: null,
      auto_advance: params.auto_advance === 'true', collection_method: params.collection_method ?? 'charge_automatically',
      description: params.description ?? null, metadata: metadataOf(params), attempt_count: 0, attempted: false,
      amount_due: 0, amount_paid: 0, amount_remaining: 0, subtotal: 0, total: 0, starting_balance: 0, ending_balance: null,
      period_start: now(), period_end: now(), status_transitions: { finalized_at: null, paid_at: null, voided_at: null },
      lines: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/invoices/${id}/lines` },
      payments: { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/invoice_payments?invoice=${id}` },
    };
    this.invoices.set(id, invoice);
    this.counts.invoices += 1;
    return invoice;
  }

  private createInvoiceItem(params: Params): StripeObject {
    const customer = this.find(this.customers, required(params, 'customer') as string, 'customer');
    const amount = integer(params, 'amount');
    const currency = required(params, 'currency') as string;
    const invoiceId = params.invoice as string | undefined;
    const invoice = invoiceId === undefined ? null : this.find(this.invoices, invoiceId, 'invoice');
    if (invoice && invoice.status !== 'draft') {
      throw new StripeError(400, { type: 'invalid_request_error', code: 'invoice_not_editable', param: 'invoice', message: `You can only add invoice items to draft invoices; ${invoice.id} is ${invoice.status}.` });
    }
    if (invoice && invoice.currency !== currency) {
      throw new StripeError(400, { type: 'invalid_request_error', param: 'currency', message: `The currency of the invoice item (${currency}) must match the invoice's (${invoice.currency}).` });
    }
    const period = params.period as Params | undefined;
    const item = {
      id: newId('ii'), object: 'invoiceitem', amount, currency, customer: customer.id, invoice: invoice?.id ?? null, date: now(),
      description: params.description ?? null, discountable: amount >= 0, livemode: false, metadata: metadataOf(params), proration: false,
      quantity: 1, period: { start: Number(period?.start ?? now()), end: Number(period?.end ?? now()) },
    };
    this.invoiceItems.set(item.id, item);
    this.counts.invoiceItems += 1;
    if (invoice) {
      invoice.lines.data.push({
        id: newId('il'), object: 'line_item', amount, currency, description: item.description, invoice: invoice.id, livemode: false,
        metadata: item.metadata, period: item.period, quantity: 1,
        parent: { type: 'invoice_item_details', invoice_item_details: { invoice_item: item.id } },
      });
      invoice.lines.total_count = invoice.lines.data.length;
      invoice.subtotal = invoice.total = invoice.lines.data.reduce((sum: number, l: StripeObject) => sum + (l.amount as number), 0);
      invoice.amount_due = invoice.amount_remaining = Math.max(0, invoice.total);
    }
    return item;
  }

  private finalize(id: string): StripeObject {
    const invoice = this.find(this.invoices, id, 'invoice');
    if (invoice.status !== 'draft') {
      throw new StripeError(400, { type: 'invalid_request_error', code: 'invoice_not_editable', message: "This invoice is already finalized, you can't re-finalize a non-draft invoice." });
    }
    this.invoiceNumber += 1;
    invoice.number = `TALLY-${String(this.invoiceNumber).padStart(4, '0')}`;
    invoice.status = invoice.amount_due > 0 ? 'open' : 'paid';
    invoice.status_transitions.finalized_at = now();
    if (invoice.status === 'paid') invoice.status_transitions.paid_at = now();
    this.counts.finalizations += 1;
    return invoice;
  }

  private pay(id: string): StripeObject {
    const invoice = this.find(this.invoices, id, 'invoice');
    if (invoice.status !== 'open') throw new StripeError(400, { type: 'invalid_request_error', code: 'invoice_not_open', message: `Invoice ${id} is ${invoice.status}; only open invoices can be paid.` });
    const paymentIntent = newId('pi');
    const charge = {
      id: newId('ch'), object: 'charge', amount: invoice.amount_due, amount_captured: invoice.amount_due, amount_refunded: 0,
      currency: invoice.currency, customer: invoice.customer, created: now(), livemode: false, paid: true, captured: true,
      refunded: false, disputed: false, status: 'succeeded', payment_intent: paymentIntent, metadata: {}, description: null,
    };
    this.charges.set(charge.id, charge);
    invoice.payments.data.push({
      id: newId('inpay'), object: 'invoice_payment', amount_paid: invoice.amount_due, amount_requested: invoice.amount_due,
      currency: invoice.currency, invoice: invoice.id, is_default: true, livemode: false, status: 'paid', created: now(),
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
    });
    invoice.payments.total_count = invoice.payments.data.length;
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.attempt_count += 1;
    invoice.attempted = true;
    invoice.status = 'paid';
    invoice.status_transitions.paid_at = now();
    return invoice;
  }

  /** Stripe voids a finalized invoice that is open or uncollectible; a draft is deleted instead, a paid one refunded. */
  private voidInvoice(id: string): StripeObject {
    const invoice = this.find(this.invoices, id, 'invoice');
    if (invoice.status !== 'open' && invoice.status !== 'uncollectible') {
      throw new StripeError(400, { type: 'invalid_request_error', code: 'invoice_not_open', message: `You can only void invoices that are open or uncollectible; ${id} is ${invoice.status}.` });
    }
    invoice.status = 'void';
    invoice.amount_due = 0;
    invoice.amount_remaining = 0;
    invoice.status_transitions.voided_at = now();
    this.counts.voids += 1;
    return invoice;
  }

  private refund(params: Params): StripeObject {
    const charge = this.find(this.charges, required(params, 'charge') as string, 'charge');
    const amount = params.amount === undefined ? charge.amount - charge.amount_refunded : integer(params, 'amount');
    if (amount <= 0 || charge.amount_refunded + amount > charge.amount) {
      throw new StripeError(400, { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount', message: `Refund amount (${amount}) is greater than unrefunded amount on charge.` });
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    return {
      id: newId('re'), object: 'refund', amount, charge: charge.id, payment_intent: charge.payment_intent, currency: charge.currency,
      created: now(), metadata: metadataOf(params), reason: params.reason ?? null, status: 'succeeded',
    };
  }
}

const now = (): number => Math.floor(Date.now() / 1000);

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function notFound(method: string, path: string): StripeError {
  return new StripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
}

function required(params: Params, name: string): unknown {
  if (params[name] === undefined || params[name] === '') {
    throw new StripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: name, message: `Missing required param: ${name}.` });
  }
  return params[name];
}

function integer(params: Params, name: string): number {
  const value = required(params, name) as string;
  if (!/^-?[0-9]+$/.test(value)) {
    throw new StripeError(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: name, message: `Invalid integer: ${value}` });
  }
  return Number(value);
}

function metadataOf(params: Params): Record<string, string> {
  return { ...((params.metadata as Record<string, string> | undefined) ?? {}) };
}

/** `a=1&metadata[k]=v&period[start]=2&expand[]=x` → nested objects, as Stripe reads its form bodies. */
export function parseForm(raw: string): Params {
  const out: Params = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const path = key.replace(/\]/g, '').split('[');
    let node: any = out;
    for (let i = 0; i < path.length - 1; i++) {
      const part = path[i]!;
      node[part] ??= path[i + 1] === '' ? [] : {};
      node = node[part];
    }
    const last = path[path.length - 1]!;
    if (Array.isArray(node) && last === '') node.push(value);
    else node[last] = value;
  }
  return out;
}
