import type { Dialect, SqlDatabase } from './sql.ts';
import { minuteIdSql } from './queries/usage-window.ts';
import { idAlphabet, idTimeLength } from '../core/id-time.ts';
import { accountBalanceBoundConstraint, accountBalanceMaxMicro } from '../core/ledger.ts';

/**
 * The schema, as an ordered list of migrations written in the SQL that SQLite and PostgreSQL
 * share. Times are BIGINT epoch milliseconds, credits BIGINT micro-credits, money BIGINT minor
 * units, JSON as TEXT. Every customer-owned table carries `customer_id` and is keyed so that a
 * distributed PostgreSQL (Citus, CockroachDB, YugabyteDB) can shard it by customer.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
  /** Statements for one dialect instead of `statements`, where the shared SQL cannot say it. */
  byDialect?: Partial<Record<Dialect, string[]>>;
}

/** The table of migration 71: what of each note for a fee's unused time gives back the money of which invoice. */
const noteShares = [
  `CREATE TABLE credit_note_shares (
    credit_note_id TEXT NOT NULL, invoice_id TEXT NOT NULL, customer_id TEXT NOT NULL, amount BIGINT NOT NULL,
    PRIMARY KEY (credit_note_id, invoice_id))`,
  `CREATE INDEX credit_note_shares_invoice ON credit_note_shares (invoice_id)`,
  `CREATE INDEX credit_note_shares_customer ON credit_note_shares (customer_id, credit_note_id)`,
];

/** How many events past its last merge a customer's tail holds before its keys are merged (migration 62). */
export const usageTailMerge = 64;

/** The CHECK of migration 69 (`accountBalanceBoundConstraint`): `limits.accountBalanceMaxMicro` either side of zero. */
const accountBalanceBound = `balance BETWEEN -${accountBalanceMaxMicro} AND ${accountBalanceMaxMicro}`;

/**
 * The triggers that keep usage events' chains and merged keys on SQLite (migrations 62 and 63),
 * fired by every insert into `usage_events` whatever wrote it. The first links the new row to its
 * customer's head (`link`: the statement that records it) and moves the head to it, counting the
 * tail and keeping its lowest position (`tail_from`, so a read of positions below it need not walk
 * the tail). The second, once a tail reaches `usageTailMerge`, walks it through `links` (the table
 * holding each event's `prev`, by `seq`), writes its keys to `usage_keys` and starts a new tail.
 */
function usageChainTriggers(link: string, links: string): string[] {
  return [
    `CREATE TRIGGER usage_events_chain AFTER INSERT ON usage_events BEGIN
    ${link};
    INSERT INTO usage_heads (customer_id, head, merged, tail, tail_from) VALUES (NEW.customer_id, NEW.seq, 0, 1, NEW.position)
      ON CONFLICT (customer_id) DO UPDATE SET head = excluded.head, tail = usage_heads.tail + 1,
        tail_from = CASE WHEN usage_heads.tail_from IS NULL OR excluded.tail_from < usage_heads.tail_from THEN excluded.tail_from ELSE usage_heads.tail_from END;
  END`,
    `CREATE TRIGGER usage_heads_merge AFTER UPDATE OF tail ON usage_heads WHEN NEW.tail >= ${usageTailMerge} BEGIN
    INSERT INTO usage_keys (customer_id, position, seq)
      WITH RECURSIVE t(seq) AS (SELECT NEW.head UNION ALL SELECT l.prev FROM t JOIN ${links} l ON l.seq = t.seq WHERE l.prev > NEW.merged AND l.prev < t.seq)
      SELECT NEW.customer_id, e.position, e.seq FROM t JOIN usage_events e ON e.seq = t.seq;
    UPDATE usage_heads SET merged = NEW.head, tail = 0, tail_from = NULL WHERE customer_id = NEW.customer_id;
  END`,
  ];
}

/** An id's time part for `msSql`, an SQL expression of milliseconds, as `idTimeText` writes it. */
function idTimeTextSql(msSql: string): string {
  const places: string[] = [];
  for (let i = idTimeLength - 1; i >= 0; i--) places.push(`substr('${idAlphabet}', CAST((${msSql} / ${32 ** i}) % 32 + 1 AS INTEGER), 1)`);
  return places.join(' || ');
}

/**
 * What `voidInvoice` posts for each overage line of the invoice it voids, posted for the invoices
 * voided before it did (migration 60): the line's own `overage_invoiced` entries negated, in a
 * transaction caused by the invoice at its void time, and the two balances moved. Its id is a
 * transaction id of the void's time whose other 16 characters are the line's own (unique: one per
 * line). An invoice that already has such a transaction is left alone.
 */
function voidOverageGivenBack(): string[] {
  const id = `'txn_' || ${idTimeTextSql('i.voided_at')} || substr(l.id, ${'lin_'.length + idTimeLength + 1}, 16)`;
  const lines = `FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id AND l.type = 'overage'
      JOIN ledger_transactions t ON t.cause_id = l.id AND t.kind = 'overage_invoiced'`;
  const givenBack = `SELECT 1 FROM ledger_entries x JOIN ledger_transactions r ON r.id = x.txn_id
      WHERE r.kind = 'overage_invoiced' AND r.cause_type = 'invoice' AND x.customer_id = accounts.customer_id AND x.account = accounts.code`;
  return [
    `INSERT INTO ledger_transactions (id, customer_id, kind, cause_type, cause_id, refs, effective_at, created_at, effective_indexed)
      SELECT ${id}, t.customer_id, 'overage_invoiced', 'invoice', i.id, '{"invoice":"' || i.id || '","invoice_line":"' || l.id || '"}',
        i.voided_at, i.voided_at, t.effective_indexed
      ${lines}
      WHERE i.status = 'void' AND i.voided_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.cause_id = i.id AND r.kind = 'overage_invoiced')`,
    `INSERT INTO ledger_entries (txn_id, seq, customer_id, account, amount, account_indexed)
      SELECT ${id}, e.seq, e.customer_id, e.account, -e.amount, e.account_indexed
      ${lines} JOIN ledger_entries e ON e.txn_id = t.id
      WHERE i.status = 'void' AND EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.id = ${id})
        AND NOT EXISTS (SELECT 1 FROM ledger_entries x WHERE x.txn_id = ${id})`,
    `UPDATE accounts SET balance = balance + (SELECT SUM(x.amount) ${givenBack.slice('SELECT 1'.length)})
      WHERE code IN ('overage', 'invoiced:overage') AND EXISTS (${givenBack})`,
  ];
}

/**
 * A table of each customer's overage taken by usage, summed per span of effective time (`spanMs`,
 * starting at multiples of it), and its filling from the ledger as it stands (migrations 53, 54).
 */
function overageTotals(table: string, startColumn: string, spanMs: number): string[] {
  const start = `(t.effective_at / ${spanMs}) * ${spanMs}`;
  return [
    `CREATE TABLE ${table} (
        customer_id TEXT NOT NULL, ${startColumn} BIGINT NOT NULL, credits BIGINT NOT NULL, PRIMARY KEY (customer_id, ${startColumn}))`,
    `INSERT INTO ${table} (customer_id, ${startColumn}, credits)
        SELECT t.customer_id, ${start}, -SUM(e.amount)
          FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id
          WHERE t.kind = 'usage' AND e.account = 'overage'
          GROUP BY t.customer_id, ${start}`,
  ];
}

/**
 * A SQLite table rebuilt as one B-tree ordered by its primary key (`WITHOUT ROWID`), every row
 * copied (migration 57). `columns` are the table's columns as they stand, in their order.
 */
function clusteredByKey(table: string, columns: string, key: string): string[] {
  const names = columns.split(',').map((c) => c.trim().split(' ')[0]).join(', ');
  return [
    `CREATE TABLE ${table}_clustered (${columns}, PRIMARY KEY (${key})) WITHOUT ROWID`,
    `INSERT INTO ${table}_clustered (${names}) SELECT ${names} FROM ${table}`,
    `DROP TABLE ${table}`,
    `ALTER TABLE ${table}_clustered RENAME TO ${table}`,
  ];
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'credits engine',
    statements: [
      `CREATE TABLE test_clocks (
        id TEXT PRIMARY KEY, name TEXT, frozen_time BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE TABLE customers (
        id TEXT PRIMARY KEY, external_id TEXT, name TEXT, email TEXT, currency TEXT NOT NULL,
        test_clock_id TEXT, overage_enabled BIGINT NOT NULL, low_balance_threshold BIGINT,
        below_threshold BIGINT NOT NULL, depleted BIGINT NOT NULL,
        metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE UNIQUE INDEX customers_external_id ON customers (external_id)`,
      `CREATE INDEX customers_test_clock ON customers (test_clock_id)`,
      `CREATE TABLE meters (
        id TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT, event_type TEXT NOT NULL, filter TEXT NOT NULL,
        aggregation TEXT NOT NULL, value_property TEXT, rate TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE UNIQUE INDEX meters_code ON meters (code)`,
      `CREATE INDEX meters_event_type ON meters (event_type)`,
      `CREATE TABLE grants (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, credits BIGINT NOT NULL, category TEXT NOT NULL,
        source TEXT NOT NULL, priority BIGINT NOT NULL, effective_at BIGINT NOT NULL, expires_at BIGINT,
        status TEXT NOT NULL, invoice_id TEXT, invoice_line_id TEXT, subscription_id TEXT, period_start BIGINT,
        cost_amount BIGINT, cost_currency TEXT, closed_at BIGINT, close_reason TEXT,
        metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX grants_customer_status ON grants (customer_id, status)`,
      `CREATE INDEX grants_due ON grants (status, expires_at)`,
      `CREATE TABLE accounts (
        customer_id TEXT NOT NULL, code TEXT NOT NULL, balance BIGINT NOT NULL,
        PRIMARY KEY (customer_id, code))`,
      `CREATE TABLE ledger_transactions (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, kind TEXT NOT NULL, cause_type TEXT NOT NULL,
        cause_id TEXT NOT NULL, refs TEXT NOT NULL, effective_at BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX ledger_transactions_customer ON ledger_transactions (customer_id, id)`,
      `CREATE INDEX ledger_transactions_cause ON ledger_transactions (cause_id)`,
      `CREATE TABLE ledger_entries (
        txn_id TEXT NOT NULL, seq BIGINT NOT NULL, customer_id TEXT NOT NULL, account TEXT NOT NULL,
        amount BIGINT NOT NULL, PRIMARY KEY (txn_id, seq))`,
      `CREATE INDEX ledger_entries_account ON ledger_entries (customer_id, account)`,
      `CREATE TABLE usage_events (
        customer_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, timestamp BIGINT NOT NULL,
        properties TEXT NOT NULL, body_hash TEXT NOT NULL, credits BIGINT NOT NULL, txn_id TEXT,
        rating TEXT NOT NULL, recorded_at BIGINT NOT NULL, PRIMARY KEY (customer_id, id))`,
      `CREATE INDEX usage_events_id ON usage_events (id)`,
      `CREATE TABLE meter_totals (
        customer_id TEXT NOT NULL, meter_id TEXT NOT NULL, period_start BIGINT NOT NULL,
        quantity BIGINT NOT NULL, credits BIGINT NOT NULL, PRIMARY KEY (customer_id, meter_id, period_start))`,
      `CREATE TABLE meter_unique_values (
        customer_id TEXT NOT NULL, meter_id TEXT NOT NULL, period_start BIGINT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (customer_id, meter_id, period_start, value))`,
      `CREATE TABLE holds (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, credits BIGINT NOT NULL, held BIGINT NOT NULL,
        status TEXT NOT NULL, expires_at BIGINT NOT NULL, event_id TEXT, captured_credits BIGINT,
        metadata TEXT NOT NULL, created_at BIGINT NOT NULL, closed_at BIGINT)`,
      `CREATE INDEX holds_customer ON holds (customer_id, status)`,
      `CREATE INDEX holds_due ON holds (status, expires_at)`,
      `CREATE TABLE domain_events (
        id TEXT PRIMARY KEY, customer_id TEXT, type TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX domain_events_customer ON domain_events (customer_id, id)`,
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY, name TEXT, key_hash TEXT NOT NULL, scopes TEXT NOT NULL, customer_id TEXT,
        created_at BIGINT NOT NULL, revoked_at BIGINT)`,
      `CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash)`,
      `CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status_code BIGINT NOT NULL,
        response TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (scope, key))`,
    ],
  },
  {
    version: 2,
    name: 'plans, subscriptions and invoices',
    statements: [
      `CREATE TABLE plans (
        id TEXT PRIMARY KEY, code TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, currency TEXT NOT NULL,
        billing_interval TEXT NOT NULL, amount BIGINT NOT NULL, included_credits BIGINT NOT NULL, rollover_max BIGINT,
        overage_unit BIGINT, overage_limit BIGINT, rates TEXT NOT NULL, subscribed BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE UNIQUE INDEX plans_code_version ON plans (code, version)`,
      `CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, plan_id TEXT NOT NULL, status TEXT NOT NULL, anchor_at BIGINT NOT NULL,
        period_index BIGINT NOT NULL, period_start BIGINT NOT NULL, period_end BIGINT NOT NULL, pending_plan_id TEXT,
        cancel_at_period_end BIGINT NOT NULL, canceled_at BIGINT, ended_at BIGINT, metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX subscriptions_customer ON subscriptions (customer_id, status)`,
      `CREATE INDEX subscriptions_due ON subscriptions (status, period_end)`,
      `CREATE TABLE subscription_phases (
        id TEXT PRIMARY KEY, subscription_id TEXT NOT NULL, customer_id TEXT NOT NULL, plan_id TEXT NOT NULL,
        start_at BIGINT NOT NULL, end_at BIGINT, reason TEXT NOT NULL)`,
      `CREATE INDEX subscription_phases_subscription ON subscription_phases (subscription_id, start_at)`,
      `CREATE TABLE subscription_periods (
        subscription_id TEXT NOT NULL, period_index BIGINT NOT NULL, customer_id TEXT NOT NULL, plan_id TEXT NOT NULL,
        period_start BIGINT NOT NULL, period_end BIGINT NOT NULL, invoice_id TEXT, grant_id TEXT, closed BIGINT NOT NULL,
        PRIMARY KEY (subscription_id, period_index))`,
      `CREATE TABLE invoices (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, subscription_id TEXT, plan_id TEXT, kind TEXT NOT NULL,
        period_start BIGINT, period_end BIGINT, currency TEXT NOT NULL, status TEXT NOT NULL, total BIGINT NOT NULL,
        amount_paid BIGINT NOT NULL, amount_refunded BIGINT NOT NULL, amount_charged_back BIGINT NOT NULL,
        provider TEXT, provider_invoice_id TEXT, finalized_at BIGINT, paid_at BIGINT, voided_at BIGINT,
        metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX invoices_customer ON invoices (customer_id, id)`,
      `CREATE INDEX invoices_provider ON invoices (provider_invoice_id)`,
      `CREATE TABLE invoice_lines (
        id TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, customer_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
        description TEXT NOT NULL, quantity TEXT NOT NULL, unit_amount TEXT NOT NULL, amount BIGINT NOT NULL,
        period_start BIGINT NOT NULL, period_end BIGINT NOT NULL, refs TEXT NOT NULL)`,
      `CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, seq)`,
      `CREATE TABLE payments (
        id TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, customer_id TEXT NOT NULL, amount BIGINT NOT NULL, currency TEXT NOT NULL,
        provider TEXT, provider_payment_id TEXT, created_at BIGINT NOT NULL)`,
      `CREATE INDEX payments_invoice ON payments (invoice_id)`,
      `CREATE INDEX ledger_transactions_effective ON ledger_transactions (customer_id, effective_at)`,
      `ALTER TABLE customers ADD COLUMN topup_threshold BIGINT`,
      `ALTER TABLE customers ADD COLUMN topup_credits BIGINT`,
      `ALTER TABLE customers ADD COLUMN topup_amount BIGINT`,
      `ALTER TABLE customers ADD COLUMN topup_armed BIGINT`,
    ],
  },
  {
    version: 3,
    name: 'refunds and chargebacks',
    statements: [
      `CREATE TABLE refunds (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, customer_id TEXT NOT NULL, invoice_id TEXT NOT NULL, amount BIGINT NOT NULL,
        currency TEXT NOT NULL, reason TEXT NOT NULL, credit_policy TEXT NOT NULL, credits_granted BIGINT NOT NULL,
        credits_target BIGINT NOT NULL, credits_revoked BIGINT NOT NULL, credits_shortfall BIGINT NOT NULL, shortfall_handling TEXT NOT NULL,
        status TEXT NOT NULL, txn_id TEXT, restore_txn_id TEXT, provider TEXT, provider_ref TEXT,
        created_at BIGINT NOT NULL, closed_at BIGINT)`,
      `CREATE INDEX refunds_invoice ON refunds (invoice_id)`,
      `CREATE INDEX refunds_customer ON refunds (customer_id, id)`,
      `CREATE INDEX refunds_provider ON refunds (provider_ref)`,
    ],
  },
  {
    version: 4,
    name: 'usage event ids unique across customers',
    // An event id is the caller's idempotency key for the whole deployment, but ingestion only
    // locks the customers in its batch: two servers taking the same new id for two customers at
    // once could both store it. The unique index makes the second insert wait for the first and
    // fail, and the PostgreSQL adapter re-runs that transaction, which then sees the stored event.
    statements: [
      `DROP INDEX usage_events_id`,
      `CREATE UNIQUE INDEX usage_events_id_unique ON usage_events (id)`,
    ],
  },
  {
    version: 5,
    name: 'customers in debt',
    // A partial index: only debt rows below zero are in it, so the hot path's balance upserts do
    // not pay for it, and the scheduler finds customers whose debt new credits should settle.
    statements: [`CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt' AND balance < 0`],
  },
  {
    version: 6,
    name: 'idempotency retention',
    // Idempotency records are kept 7 days; the scheduler deletes older ones by this index.
    statements: [`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`],
  },
  {
    version: 10,
    name: 'due work by index, test clock advances as jobs',
    // Due work is found in time order by index, so each batch reads only what it runs: the due
    // indexes end with the id the queries order ties by (no sort of every due row per batch), a
    // renewal finds its period's grants and its subscription's invoices by index rather than by a
    // scan that grew with the number of customers, and armed top-ups have their own partial index.
    // `advancing_to` is the target of a test clock advance still running (NULL once it is ready).
    statements: [
      `DROP INDEX subscriptions_due`,
      `CREATE INDEX subscriptions_due ON subscriptions (status, period_end, id)`,
      `DROP INDEX grants_due`,
      `CREATE INDEX grants_due ON grants (status, expires_at, id)`,
      `DROP INDEX holds_due`,
      `CREATE INDEX holds_due ON holds (status, expires_at, id)`,
      `CREATE INDEX grants_subscription_period ON grants (subscription_id, period_start)`,
      `CREATE INDEX invoices_subscription ON invoices (subscription_id, period_start)`,
      `CREATE INDEX customers_topup_armed ON customers (test_clock_id) WHERE topup_armed = 1`,
      `ALTER TABLE test_clocks ADD COLUMN advancing_to BIGINT`,
    ],
  },
  {
    version: 11,
    name: 'no cause index entry per usage charge',
    // The hot path writes only the indexes the read paths need. A usage charge is found from its
    // event (usage_events.txn_id, by the event's primary key), so the cause index leaves usage
    // transactions out: one randomly keyed index insert less per event. Queries by cause that
    // are not about usage say `kind <> 'usage'`, which lets both databases use the partial index.
    statements: [
      `DROP INDEX ledger_transactions_cause`,
      `CREATE INDEX ledger_transactions_cause ON ledger_transactions (cause_id) WHERE kind <> 'usage'`,
    ],
  },
  {
    version: 12,
    name: 'consumption entries left out of the account index',
    // Two of a usage charge's three entries credit `consumed:<meter>`, a system account no read
    // path looks up by customer and account: those entries are found through their transaction
    // (the entries' primary key). The account index keeps every other entry (grants, holds,
    // overage, debt, …). Queries that look an account up by customer say `account NOT LIKE
    // 'consumed:%'` (ledger.ts, `indexedAccount`), which lets both databases use the partial index.
    // The index is rebuilt inside the migration's transaction: writes to ledger_entries wait for
    // the build (one pass over the table) while a server upgrades.
    statements: [
      `DROP INDEX ledger_entries_account`,
      `CREATE INDEX ledger_entries_account ON ledger_entries (customer_id, account) WHERE account NOT LIKE 'consumed:%'`,
    ],
  },
  {
    version: 15,
    name: 'grants by invoice',
    // A payment, a past-due invoice and a revocation find the grants an invoice bought by index:
    // without it each of them scanned every grant, a cost that grew with the number of customers.
    statements: [`CREATE INDEX grants_invoice ON grants (invoice_id)`],
  },
  {
    version: 20,
    name: 'webhook endpoints and deliveries',
    // `domain_events.webhooks_at` is NULL until the event has been fanned out to the endpoints
    // (the outbox); the partial index holds only pending events, so it stays small. Events
    // recorded before webhooks existed are marked done: no endpoint existed to receive them.
    // Secrets are stored encrypted (AES-256-GCM, see src/engine/secret-box.ts).
    statements: [
      `ALTER TABLE domain_events ADD COLUMN webhooks_at BIGINT`,
      `UPDATE domain_events SET webhooks_at = 0`,
      `CREATE INDEX domain_events_webhooks_pending ON domain_events (id) WHERE webhooks_at IS NULL`,
      `CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY, url TEXT NOT NULL, description TEXT, event_types TEXT NOT NULL, metadata TEXT NOT NULL,
        disabled BIGINT NOT NULL, disabled_reason TEXT, secret TEXT NOT NULL, previous_secret TEXT,
        previous_secret_until BIGINT, failing_since BIGINT, lease_owner TEXT, lease_until BIGINT,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
      `CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
        body TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, first_attempt_at BIGINT,
        next_attempt_at BIGINT, claimed_until BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
      `CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)`,
      `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending'`,
      `CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL, attempt BIGINT NOT NULL, started_at BIGINT NOT NULL, status_code BIGINT,
        error TEXT, response_body TEXT, duration_ms BIGINT NOT NULL, next_attempt_at BIGINT,
        PRIMARY KEY (delivery_id, attempt))`,
    ],
  },
  {
    version: 25,
    name: 'stripe, both ways',
    // The push jobs are the outbox's consumer for Stripe: one row per finalized invoice, claimed
    // per attempt (`claimed_until`) so several servers never push the same invoice at once. Inbound
    // Stripe events are keyed by Stripe's event id, which makes each one apply at most once.
    statements: [
      `ALTER TABLE customers ADD COLUMN provider TEXT`,
      `ALTER TABLE customers ADD COLUMN provider_customer_id TEXT`,
      `CREATE INDEX customers_provider ON customers (provider_customer_id)`,
      `CREATE INDEX domain_events_type ON domain_events (type, id)`,
      `CREATE INDEX payments_provider ON payments (provider_payment_id)`,
      `CREATE TABLE integration_cursors (name TEXT PRIMARY KEY, position TEXT NOT NULL)`,
      `CREATE TABLE stripe_pushes (
        invoice_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, event_id TEXT NOT NULL, status TEXT NOT NULL,
        attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL, claimed_until BIGINT, stripe_invoice_id TEXT,
        last_error TEXT, created_at BIGINT NOT NULL, pushed_at BIGINT)`,
      `CREATE INDEX stripe_pushes_due ON stripe_pushes (status, next_attempt_at)`,
      `CREATE TABLE stripe_events (
        id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, object_id TEXT, invoice_id TEXT,
        outcome TEXT, payload TEXT NOT NULL, received_at BIGINT NOT NULL)`,
      `CREATE INDEX stripe_events_status ON stripe_events (status, id)`,
    ],
  },
  {
    version: 30,
    name: 'credit notes and the customer balance',
    // A credit note is money owed back to a customer and kept as balance. What it gave up is
    // recorded use by use (applied to an invoice, or paid out), so the note's `remaining` is a
    // projection the reconciliation rebuilds. Invoices keep the balance applied to them and the
    // note their own excess became; payments say how they were made (`balance` for a note).
    statements: [
      `CREATE TABLE credit_notes (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL, remaining BIGINT NOT NULL,
        amount_applied BIGINT NOT NULL, amount_refunded BIGINT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL,
        refundable BIGINT NOT NULL, status TEXT NOT NULL, invoice_id TEXT, invoice_line_id TEXT, refund_id TEXT,
        metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX credit_notes_customer ON credit_notes (customer_id, id)`,
      `CREATE TABLE credit_note_uses (
        id TEXT PRIMARY KEY, credit_note_id TEXT NOT NULL, customer_id TEXT NOT NULL, kind TEXT NOT NULL, invoice_id TEXT,
        payment_id TEXT, amount BIGINT NOT NULL, currency TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX credit_note_uses_note ON credit_note_uses (credit_note_id)`,
      `CREATE INDEX credit_note_uses_customer ON credit_note_uses (customer_id, id)`,
      `ALTER TABLE invoices ADD COLUMN balance_applied BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE invoices ADD COLUMN credit_note_id TEXT`,
      `ALTER TABLE payments ADD COLUMN method TEXT NOT NULL DEFAULT 'manual'`,
      `ALTER TABLE refunds ADD COLUMN destination TEXT NOT NULL DEFAULT 'cash'`,
      `ALTER TABLE refunds ADD COLUMN credit_note_id TEXT`,
    ],
  },
  {
    version: 31,
    name: 'due dates, payment attempts and dunning, frozen credits',
    // A grant bought by an invoice that goes unpaid stops paying from `frozen_from` until
    // `unfrozen_at` (the payment): one interval, so whether it could pay at any instant stays a
    // pure function of the grant, for late usage as for the balance now.
    statements: [
      `ALTER TABLE customers ADD COLUMN net_days BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE invoices ADD COLUMN due_at BIGINT`,
      `ALTER TABLE invoices ADD COLUMN past_due_at BIGINT`,
      `ALTER TABLE invoices ADD COLUMN dunning_step BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE invoices ADD COLUMN next_attempt_at BIGINT`,
      `ALTER TABLE invoices ADD COLUMN uncollectible_at BIGINT`,
      `CREATE INDEX invoices_due ON invoices (status, due_at)`,
      `CREATE INDEX invoices_next_attempt ON invoices (status, next_attempt_at)`,
      `CREATE TABLE payment_attempts (
        id TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, customer_id TEXT NOT NULL, outcome TEXT NOT NULL, failure_code TEXT,
        attempt BIGINT NOT NULL, source TEXT NOT NULL, payment_id TEXT, created_at BIGINT NOT NULL)`,
      `CREATE INDEX payment_attempts_invoice ON payment_attempts (invoice_id, id)`,
      `ALTER TABLE grants ADD COLUMN frozen_from BIGINT`,
      `ALTER TABLE grants ADD COLUMN unfrozen_at BIGINT`,
      `ALTER TABLE subscriptions ADD COLUMN past_due_at BIGINT`,
    ],
  },
  {
    version: 40,
    name: 'promotions and referrals',
    // Codes are their own rows (a shared code is one row, generated single-use codes one each), so
    // a redemption finds its campaign through one primary-key read and a single-use code is spent
    // by one conditional UPDATE. `promotions.redemptions` is the counter that max_redemptions is
    // checked against under the campaign row's lock. A customer can be referred once: the unique
    // index on `referred_id` makes a racing second referral wait for the first and fail.
    statements: [
      `CREATE TABLE promotions (
        id TEXT PRIMARY KEY, name TEXT, code TEXT, code_prefix TEXT, code_count BIGINT NOT NULL, credits BIGINT NOT NULL,
        priority BIGINT NOT NULL, grant_expires_in BIGINT, valid_from BIGINT, valid_until BIGINT, max_redemptions BIGINT,
        max_per_customer BIGINT NOT NULL, new_customers_only BIGINT NOT NULL, plans TEXT NOT NULL, active BIGINT NOT NULL,
        redemptions BIGINT NOT NULL, metadata TEXT NOT NULL, created_at BIGINT NOT NULL, deactivated_at BIGINT)`,
      `CREATE TABLE promotion_codes (
        code TEXT PRIMARY KEY, promotion_id TEXT NOT NULL, single_use BIGINT NOT NULL, redemptions BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX promotion_codes_promotion ON promotion_codes (promotion_id, code)`,
      `CREATE TABLE promotion_redemptions (
        id TEXT PRIMARY KEY, promotion_id TEXT NOT NULL, code TEXT NOT NULL, customer_id TEXT NOT NULL, grant_id TEXT NOT NULL,
        credits BIGINT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE INDEX promotion_redemptions_promotion ON promotion_redemptions (promotion_id, id)`,
      `CREATE INDEX promotion_redemptions_customer ON promotion_redemptions (customer_id, promotion_id)`,
      `CREATE UNIQUE INDEX promotion_redemptions_grant ON promotion_redemptions (grant_id)`,
      `CREATE TABLE referrals (
        id TEXT PRIMARY KEY, referrer_id TEXT NOT NULL, referred_id TEXT NOT NULL, reward_credits BIGINT NOT NULL,
        referred_credits BIGINT, status TEXT NOT NULL, invoice_id TEXT, referrer_grant_id TEXT, referred_grant_id TEXT,
        rewarded_at BIGINT, metadata TEXT NOT NULL, created_at BIGINT NOT NULL)`,
      `CREATE UNIQUE INDEX referrals_referred ON referrals (referred_id)`,
      `CREATE INDEX referrals_referrer ON referrals (referrer_id, id)`,
      `CREATE TABLE referral_claw_backs (
        id TEXT PRIMARY KEY, referral_id TEXT NOT NULL, return_id TEXT NOT NULL, customer_id TEXT NOT NULL, grant_id TEXT NOT NULL,
        credits BIGINT NOT NULL, txn_id TEXT, created_at BIGINT NOT NULL)`,
      `CREATE INDEX referral_claw_backs_return ON referral_claw_backs (return_id)`,
      `CREATE INDEX referral_claw_backs_referral ON referral_claw_backs (referral_id)`,
    ],
  },
  {
    version: 50,
    name: 'customer search',
    // The dashboard finds a customer by id, external id, email or the start of a name or email.
    statements: [
      `CREATE INDEX customers_name ON customers (name)`,
      `CREATE INDEX customers_email ON customers (email)`,
    ],
  },
  {
    version: 51,
    name: 'customer search ignores case',
    // Names and emails are matched by a prefix of their lower-case form, so "zeph" finds
    // "Zephyr". The search compares `lower(column)` with `lower(?)` in the database, so both sides
    // are lowered by the same function. PostgreSQL orders the index and the range bytewise
    // (COLLATE "C"): under a linguistic collation a prefix range is not a prefix match.
    statements: [
      `DROP INDEX customers_name`,
      `DROP INDEX customers_email`,
      `CREATE INDEX customers_name_lower ON customers (lower(name))`,
      `CREATE INDEX customers_email_lower ON customers (lower(email))`,
    ],
    byDialect: {
      postgres: [
        `DROP INDEX customers_name`,
        `DROP INDEX customers_email`,
        `CREATE INDEX customers_name_lower ON customers ((lower(name) COLLATE "C"))`,
        `CREATE INDEX customers_email_lower ON customers ((lower(email) COLLATE "C"))`,
      ],
    },
  },
  {
    version: 52,
    name: 'debt rows only while owed',
    // A customer's `debt` row now exists only while it is owed: the posting that pays a debt down
    // to zero deletes it (LedgerQueries.post). So the debt index no longer names `balance`, which
    // kept every balance upsert on PostgreSQL from being a heap-only update (an update may stay
    // on its page without touching the indexes only when no indexed column, a partial index's
    // predicate included, changes), and still holds only the customers the scheduler looks for.
    // Rows left at zero by earlier releases are deleted first.
    statements: [
      `DELETE FROM accounts WHERE code = 'debt' AND balance = 0`,
      `DROP INDEX accounts_in_debt`,
      `CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt'`,
    ],
  },
  {
    version: 53,
    name: 'overage by the hour',
    // Each customer's overage taken by usage, summed per hour of the usage's effective time and
    // kept in step by every posting (LedgerQueries.post), so that a period's overage is the sum of
    // its whole hours plus the entries of the two partial hours at its ends
    // (BillingQueries.overageConsumed), not a walk over every usage transaction of the period.
    // Filled here from the ledger as it stands.
    statements: overageTotals('overage_hours', 'hour_start', 3_600_000),
  },
  {
    version: 54,
    name: 'overage by the day',
    // The same sums per UTC day, kept beside the hourly ones by the same posting: a period's whole
    // days are read from these, so a month's overage reads about 31 day totals and at most 46
    // hourly ones at its two ends, where it read up to 744 hours (BillingQueries.overageConsumed).
    // Filled here from the ledger as it stands.
    statements: overageTotals('overage_days', 'day_start', 86_400_000),
  },
  {
    version: 55,
    name: 'usage charges left out of the account index',
    // A usage charge wrote one entry per grant it drew on, or its `overage` or `debt` entry, into
    // the account index: the costliest index a charge wrote (one leaf page per customer a commit
    // touches). The readers of those entries reach them through their transaction instead, by the
    // transactions' indexes and then the entries' primary key (grant flows, frozen and revoked
    // grants used, the balance check and its overage totals). `account_indexed` says which entries
    // the index holds: 0 for a usage charge's entries from now on, except those on a hold (the
    // hold traces look captures up by account), 1 for every other entry and for everything
    // written before (which stays in the index, so no row is rewritten). Queries that look an
    // account up by customer repeat the index's condition (ledger.ts, `indexedAccount`); those
    // that need the rest read `unindexedAccount` through the transactions. The index is rebuilt
    // inside the migration's transaction, one pass over the table, as migration 12 did.
    statements: [
      `ALTER TABLE ledger_entries ADD COLUMN account_indexed BIGINT NOT NULL DEFAULT 1`,
      `DROP INDEX ledger_entries_account`,
      `CREATE INDEX ledger_entries_account ON ledger_entries (customer_id, account) WHERE account NOT LIKE 'consumed:%' AND account_indexed = 1`,
    ],
  },
  {
    version: 56,
    name: 'usage charges found by id, out of the time index',
    // A usage charge wrote an entry into `ledger_transactions_effective` (customer, effective time):
    // a customer-keyed index, so one leaf page per customer a commit touches. A usage charge's id
    // now carries the minute of its event's timestamp (src/core/id-time.ts), so the charges of a
    // window are a range of ids in `ledger_transactions_customer`, which the charge writes anyway
    // (src/store/queries/usage-window.ts). `effective_indexed` says which transactions the time
    // index holds: 0 for such a charge from now on, 1 for every other transaction and for every
    // charge written before (whose id has the time it was recorded, so it stays in the index and
    // no row is rewritten). The index is rebuilt in the migration's transaction, one pass over the
    // table, as migrations 12 and 55 did.
    statements: [
      `ALTER TABLE ledger_transactions ADD COLUMN effective_indexed BIGINT NOT NULL DEFAULT 1`,
      `DROP INDEX ledger_transactions_effective`,
      `CREATE INDEX ledger_transactions_effective ON ledger_transactions (customer_id, effective_at) WHERE effective_indexed = 1`,
    ],
  },
  {
    version: 57,
    name: 'balances and totals clustered by customer',
    // On SQLite a table with a composite primary key is a B-tree of rows in insertion order plus
    // a second B-tree for the key, so an upsert of a customer's balance sought the key in one and
    // wrote the row in the other, and a customer's rows lay wherever they were first inserted:
    // its grants' accounts on the pages of the day the grants were made, its usage accounts and
    // running totals on other pages. Rebuilt `WITHOUT ROWID`, each of these tables is one B-tree
    // ordered by its key, the customer first, so a batch writes one page per customer for its
    // balances and one for its totals. Every row is copied as it is. PostgreSQL stores a table as
    // a heap beside its key's index whatever the declaration, so nothing changes there.
    statements: [],
    byDialect: {
      sqlite: [
        ...clusteredByKey('accounts', 'customer_id TEXT NOT NULL, code TEXT NOT NULL, balance BIGINT NOT NULL', 'customer_id, code'),
        `CREATE INDEX accounts_in_debt ON accounts (customer_id) WHERE code = 'debt'`,
        ...clusteredByKey('meter_totals',
          'customer_id TEXT NOT NULL, meter_id TEXT NOT NULL, period_start BIGINT NOT NULL, quantity BIGINT NOT NULL, credits BIGINT NOT NULL',
          'customer_id, meter_id, period_start'),
        ...clusteredByKey('meter_unique_values',
          'customer_id TEXT NOT NULL, meter_id TEXT NOT NULL, period_start BIGINT NOT NULL, value TEXT NOT NULL',
          'customer_id, meter_id, period_start, value'),
        ...clusteredByKey('overage_hours', 'customer_id TEXT NOT NULL, hour_start BIGINT NOT NULL, credits BIGINT NOT NULL', 'customer_id, hour_start'),
        ...clusteredByKey('overage_days', 'customer_id TEXT NOT NULL, day_start BIGINT NOT NULL, credits BIGINT NOT NULL', 'customer_id, day_start'),
      ],
    },
  },
  {
    version: 58,
    name: 'usage charges posted on their event row',
    // A usage event's charge was a ledger transaction and its entries in the ledger's tables, found
    // by customer through `ledger_transactions_customer`, and the event was keyed by customer and
    // its (caller's) id: two B-trees led by the customer, each one page per customer a commit
    // touches. Now the event's row is its own posting (src/store/queries/event-postings.ts): its
    // entries on it (`entries`, NULL when the charge is elsewhere or there is none), and the row
    // keyed by customer and `position`, its charge's transaction id (which carries the minute of
    // its timestamp) or an id made the same way, so one B-tree led by the customer serves the
    // customer's events, its usage charges in id order and by time window. The event id keeps its
    // unique index; a posting is found by its transaction id through `usage_events_txn` (postings
    // only, whose ids are time-ordered: it is appended to). Rows written before keep their charges
    // in the ledger's tables; their position is their charge's transaction id, or for an event
    // charged nothing the minute of its timestamp and its id. On SQLite the table is rebuilt (a
    // rowid table's primary key cannot change), every row copied; on PostgreSQL the key is swapped.
    statements: [],
    byDialect: {
      sqlite: [
        `CREATE TABLE usage_events_58 (
          customer_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, timestamp BIGINT NOT NULL,
          properties TEXT NOT NULL, body_hash TEXT NOT NULL, credits BIGINT NOT NULL, txn_id TEXT,
          rating TEXT NOT NULL, recorded_at BIGINT NOT NULL, position TEXT NOT NULL, entries TEXT,
          PRIMARY KEY (customer_id, position))`,
        `INSERT INTO usage_events_58 (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries)
          SELECT customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, COALESCE(txn_id, ${minuteIdSql('timestamp')} || '~' || id), NULL FROM usage_events ORDER BY rowid`,
        `DROP TABLE usage_events`,
        `ALTER TABLE usage_events_58 RENAME TO usage_events`,
        `CREATE UNIQUE INDEX usage_events_id_unique ON usage_events (id)`,
        `CREATE INDEX usage_events_txn ON usage_events (txn_id) WHERE entries IS NOT NULL`,
      ],
      postgres: [
        `ALTER TABLE usage_events ADD COLUMN position TEXT, ADD COLUMN entries TEXT`,
        `UPDATE usage_events SET position = COALESCE(txn_id, ${minuteIdSql('timestamp')} || '~' || id)`,
        `ALTER TABLE usage_events ALTER COLUMN position SET NOT NULL`,
        `ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey`,
        `ALTER TABLE usage_events ADD PRIMARY KEY (customer_id, position)`,
        `CREATE INDEX usage_events_txn ON usage_events (txn_id) WHERE entries IS NOT NULL`,
      ],
    },
  },
  {
    version: 59,
    name: 'closing corrections of ended subscriptions',
    // An ended subscription's periods can still receive late usage for the 35 days an event may be
    // late; its overage is billed then, once, by a `correction` invoice (close-subscription.ts).
    // `closing_due_at` is when that falls due, NULL once it ran (or while the subscription runs),
    // so the partial index holds only the closings to come and the scheduler finds them in time
    // order. Subscriptions that ended before are given theirs by the default window (35 days and
    // a millisecond after the end): late overage they were never billed for is billed then.
    statements: [
      `ALTER TABLE subscriptions ADD COLUMN closing_due_at BIGINT`,
      `UPDATE subscriptions SET closing_due_at = ended_at + 3024000001 WHERE status = 'canceled' AND ended_at IS NOT NULL AND period_index >= 0`,
      `CREATE INDEX subscriptions_closing_due ON subscriptions (closing_due_at, id) WHERE closing_due_at IS NOT NULL`,
    ],
  },
  {
    version: 60,
    name: 'void invoices give their overage back',
    // Releases before this one left a void invoice's `overage_invoiced` postings in place: its
    // overage was no longer owed, and the next invoice, counting only lines of invoices that are
    // not void, billed it and moved it out of `overage` a second time. `voidInvoice` now gives it
    // back; this gives it back for the invoices voided before, as of their void.
    statements: voidOverageGivenBack(),
  },
  {
    version: 61,
    name: 'credit note uses by invoice',
    // The reconciliation's balance check asks, per invoice of a slice, whether any credit note
    // use names it (`invoicesWithBalance`). Without an index on `invoice_id` each invoice scanned
    // every use: 20,000 invoices against 5,000 uses took 4.2 s on SQLite, 19 ms with it. Refunds'
    // uses name no invoice, so the index leaves them out.
    statements: [`CREATE INDEX credit_note_uses_invoice ON credit_note_uses (invoice_id) WHERE invoice_id IS NOT NULL`],
  },
  {
    version: 62,
    name: 'usage events found by customer through merged keys and a chained tail',
    // On SQLite the events' primary key (customer, position) put one page per customer a commit
    // touched into the write: with many customers and some history each customer's keys fill
    // pages of their own, and a commit of N customers wrote N of them (the flat-cost and
    // many-customer figures of docs/BENCHMARKS.md). Now no index led by the customer is written per
    // event: each row is numbered in insertion order (`seq`) and names its customer's event before
    // it (`prev`, by a trigger), `usage_heads` keeps each customer's newest event and how far its
    // keys are merged, and once a customer has `usageTailMerge` (64) events past the merge, a
    // trigger writes their keys to `usage_keys` (customer, position → seq) in one go: one page per
    // customer per 64 events. A customer's events are its keys and its tail walked back from the
    // head (src/store/queries/customer-events.ts). Every event already stored is merged here.
    // PostgreSQL keeps its key: its heap takes rows in arrival order and the key's pages are not
    // what limits it.
    statements: [],
    byDialect: {
      sqlite: [
        `CREATE TABLE usage_events_62 (
          seq INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, timestamp BIGINT NOT NULL,
          properties TEXT NOT NULL, body_hash TEXT NOT NULL, credits BIGINT NOT NULL, txn_id TEXT, rating TEXT NOT NULL,
          recorded_at BIGINT NOT NULL, position TEXT NOT NULL, entries TEXT, prev INTEGER)`,
        `INSERT INTO usage_events_62 (customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries)
          SELECT customer_id, id, type, timestamp, properties, body_hash, credits, txn_id, rating, recorded_at, position, entries FROM usage_events ORDER BY rowid`,
        `DROP TABLE usage_events`,
        `ALTER TABLE usage_events_62 RENAME TO usage_events`,
        `CREATE UNIQUE INDEX usage_events_id_unique ON usage_events (id)`,
        `CREATE INDEX usage_events_txn ON usage_events (txn_id) WHERE entries IS NOT NULL`,
        `CREATE TABLE usage_keys (customer_id TEXT NOT NULL, position TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (customer_id, position)) WITHOUT ROWID`,
        `INSERT INTO usage_keys (customer_id, position, seq) SELECT customer_id, position, seq FROM usage_events ORDER BY customer_id, position`,
        `CREATE TABLE usage_heads (customer_id TEXT NOT NULL PRIMARY KEY, head INTEGER NOT NULL, merged INTEGER NOT NULL, tail INTEGER NOT NULL, tail_from TEXT) WITHOUT ROWID`,
        `INSERT INTO usage_heads (customer_id, head, merged, tail, tail_from) SELECT customer_id, MAX(seq), MAX(seq), 0, NULL FROM usage_events GROUP BY customer_id`,
        // The link a column of the event's row, which the trigger rewrites (until migration 63).
        ...usageChainTriggers(`UPDATE usage_events SET prev = (SELECT h.head FROM usage_heads h WHERE h.customer_id = NEW.customer_id) WHERE seq = NEW.seq`, 'usage_events'),
      ],
      postgres: [],
    },
  },
  {
    version: 63,
    name: 'usage events chained in a narrow table',
    // Migration 62 kept each event's link to its customer's event before it (`prev`) on the event's
    // own row, written by its trigger rewriting the row it had just inserted, and a walk of a tail
    // read an event row a step. The links now live in `usage_chain (seq → prev)`, a narrow table
    // appended in insertion order: the trigger appends 16 bytes instead of rewriting the row, and a
    // walk reads a few pages instead of a row of the events' file a step (figure 1: 4.6–6.3 µs of
    // wall time an event less in process, benchmark-rounds.md "Round 33"). The links already written move
    // there and the column is dropped (SQLite rewrites the table). PostgreSQL has no chains.
    statements: [],
    byDialect: {
      sqlite: [
        `CREATE TABLE usage_chain (seq INTEGER PRIMARY KEY, prev INTEGER NOT NULL)`,
        `INSERT INTO usage_chain (seq, prev) SELECT seq, prev FROM usage_events WHERE prev IS NOT NULL ORDER BY seq`,
        `DROP TRIGGER usage_events_chain`,
        `DROP TRIGGER usage_heads_merge`,
        `ALTER TABLE usage_events DROP COLUMN prev`,
        // The link a row of its own, appended (a customer's first event has none).
        ...usageChainTriggers(`INSERT INTO usage_chain (seq, prev) SELECT NEW.seq, h.head FROM usage_heads h WHERE h.customer_id = NEW.customer_id`, 'usage_chain'),
      ],
      postgres: [],
    },
  },
  {
    version: 64,
    name: 'due work found by clock',
    // Due work was listed by joining each row to its customer for the clock, and two listings
    // read far more than they returned at every pass: SQLite began the closings at the clock's
    // customers (every one of them, for a clock or the real clock alike), and the renewals, their
    // index led by `status` with two statuses asked for, were read whole and sorted at each pass.
    // Over a population both grew with it at every pass, so a large renewal run cost more per item
    // than a small one (benchmark-rounds.md, "Round 35"). Each row that falls due now carries its
    // customer's clock (`test_clock_id`, NULL for the real clock; a customer's clock never changes,
    // and each insert copies it from the customer), and each listing has a partial index led by
    // the clock and ordered by when the row falls due, then its id: a pass reads the rows it
    // returns, in order, and no row of another clock. The status-led indexes served only these
    // listings and go. `invoices_due` stays: the past-due listing reads open invoices through it.
    statements: [
      ...['subscriptions', 'invoices', 'grants', 'holds'].flatMap((table) => [
        `ALTER TABLE ${table} ADD COLUMN test_clock_id TEXT`,
        // Only the rows of customers on a test clock are written: the real clock's stay NULL.
        `UPDATE ${table} SET test_clock_id = (SELECT c.test_clock_id FROM customers c WHERE c.id = ${table}.customer_id)
          WHERE customer_id IN (SELECT id FROM customers WHERE test_clock_id IS NOT NULL)`,
      ]),
      `DROP INDEX subscriptions_due`,
      `DROP INDEX subscriptions_closing_due`,
      `DROP INDEX grants_due`,
      `DROP INDEX holds_due`,
      `DROP INDEX invoices_next_attempt`,
      `CREATE INDEX subscriptions_renewal_due ON subscriptions (test_clock_id, period_end, id) WHERE status IN ('active', 'past_due')`,
      `CREATE INDEX subscriptions_closing_due ON subscriptions (test_clock_id, closing_due_at, id) WHERE closing_due_at IS NOT NULL`,
      `CREATE INDEX grants_expiry_due ON grants (test_clock_id, expires_at, id) WHERE status = 'active' AND expires_at IS NOT NULL`,
      `CREATE INDEX holds_expiry_due ON holds (test_clock_id, expires_at, id) WHERE status = 'active'`,
      `CREATE INDEX invoices_past_due_pending ON invoices (test_clock_id, due_at, id) WHERE status = 'open' AND past_due_at IS NULL AND due_at IS NOT NULL`,
      `CREATE INDEX invoices_retry_due ON invoices (test_clock_id, next_attempt_at, id) WHERE status = 'open' AND next_attempt_at IS NOT NULL`,
    ],
  },
  {
    version: 65,
    name: 'auto top-ups checked when due',
    // Auto top-up was due work that listed every armed customer of the clock and read each one's
    // grants, at every tick of the real-clock scheduler: with 20,000 armed customers and none
    // below its threshold, a tick cost 262–286 ms (benchmark-rounds.md, "Round 35"). Now an armed
    // customer carries when its credits are next to be checked against its threshold
    // (`topup_check_at`, NULL: no check to come): set when its credits may fall below it (the
    // low-balance signals found them below, credits were revoked, an unpaid invoice freezes what
    // it bought from a time, auto top-up was set up or re-armed), the earliest such time kept.
    // The listing reads only the checks due, by the partial index led by the clock; a check buys
    // when below and clears the time. Every customer armed now is checked at once, as the listing
    // did at every tick.
    statements: [
      `ALTER TABLE customers ADD COLUMN topup_check_at BIGINT`,
      `UPDATE customers SET topup_check_at = 0 WHERE topup_armed = 1 AND topup_threshold IS NOT NULL`,
      `DROP INDEX customers_topup_armed`,
      `CREATE INDEX customers_topup_check ON customers (test_clock_id, topup_check_at, id) WHERE topup_check_at IS NOT NULL`,
    ],
  },
  {
    version: 66,
    name: 'debts checked when credits become usable',
    // Debt settlement listed every customer in debt, of every clock, with a read of its grants
    // each, at every pass of due work: with 20,000 customers in debt and nothing to pay with, a
    // tick of the real-clock scheduler cost 28 ms (benchmark-rounds.md, "Round 36"). It also listed a
    // debtor whose only credits were frozen by an unpaid invoice, which it could not pay from, at
    // every pass again: a test clock's advance never ended. Now a customer carries when its debt
    // is next to be checked (`debt_check_at`, NULL: no check to come), asked at each moment
    // credits may become usable to it (a grant taking effect, credits coming back from a hold or
    // a chargeback won, an unfreeze, a debt recorded beside credits usable now), the earliest
    // kept. The listing reads only the checks due, by the partial index led by the clock. Every
    // customer in debt now is checked at once, and every customer with a grant issued to take
    // effect later at its time; the index of the debt rows had no other reader and goes.
    statements: [
      `ALTER TABLE customers ADD COLUMN debt_check_at BIGINT`,
      `UPDATE customers SET debt_check_at = 0 WHERE id IN (SELECT customer_id FROM accounts WHERE code = 'debt')`,
      `UPDATE customers SET debt_check_at = (SELECT MIN(g.effective_at) FROM grants g WHERE g.customer_id = customers.id AND g.status = 'active' AND g.effective_at > g.created_at)
        WHERE debt_check_at IS NULL AND id IN (SELECT customer_id FROM grants WHERE status = 'active' AND effective_at > created_at)`,
      `DROP INDEX accounts_in_debt`,
      `CREATE INDEX customers_debt_check ON customers (test_clock_id, debt_check_at, id) WHERE debt_check_at IS NOT NULL`,
    ],
  },
  {
    version: 67,
    name: 'expired grants found by their expiry',
    // A late event (stamped before its customer's clock, which is nearly every event a client
    // stamps itself) may be paid by grants that have expired since its time (PRODUCT §5), so each
    // ingestion step with one read its customers' expired grants: a search of each customer's
    // grants, which found nothing unless a grant had expired after the event's time. The step now
    // first reads the latest expiry of any expired grant, one step down this index, and skips
    // the search when that is not after its earliest late event (benchmark-rounds.md, "Round 41").
    statements: [`CREATE INDEX grants_expired_at ON grants (expires_at) WHERE status = 'expired' AND expires_at IS NOT NULL`],
  },
  {
    version: 68,
    name: 'credit notes reversed by chargebacks',
    // A chargeback on an invoice whose fee a note already credited back takes back of that note what
    // it returns beyond what the invoice kept: a use of kind `reversed` naming the chargeback
    // (`return_id`), and `restored` when the chargeback is won. The note keeps the net reversed; the
    // chargeback what it took back and what it could not, already applied or paid out (shortfall).
    // The reconciliation finds a chargeback's uses by the index on `return_id`.
    statements: [
      `ALTER TABLE credit_notes ADD COLUMN amount_reversed BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE credit_note_uses ADD COLUMN return_id TEXT`,
      `CREATE INDEX credit_note_uses_return ON credit_note_uses (return_id) WHERE return_id IS NOT NULL`,
      `ALTER TABLE refunds ADD COLUMN notes_reversed BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE refunds ADD COLUMN notes_shortfall BIGINT NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 69,
    name: 'account balances bounded',
    // Every balance stays within `limits.accountBalanceMaxMicro` (9 × 10^18 micro-credits) either
    // side of zero, checked by the database on every upsert of `LedgerQueries.post`: a posting that
    // would pass it fails, its transaction rolls back whole, and the store answers
    // `BalanceOutOfRange` (store.ts). Without it PostgreSQL failed only past 2^63 − 1 (SQLSTATE
    // 22003, a 500), and SQLite turned the overflowing `+` into a REAL: a floating-point balance.
    // SQLite adds a CHECK only by rebuilding the table (still `WITHOUT ROWID`, migration 57); the
    // rows are copied as they are, a balance already out of range included (the reconciliation
    // names it), as PostgreSQL's NOT VALID leaves existing rows unchecked.
    statements: [],
    byDialect: {
      postgres: [`ALTER TABLE accounts ADD CONSTRAINT ${accountBalanceBoundConstraint} CHECK (${accountBalanceBound}) NOT VALID`],
      sqlite: [
        `PRAGMA ignore_check_constraints = ON`,
        ...clusteredByKey('accounts', `customer_id TEXT NOT NULL, code TEXT NOT NULL, balance BIGINT NOT NULL CONSTRAINT ${accountBalanceBoundConstraint} CHECK (${accountBalanceBound})`,
          'customer_id, code'),
        `PRAGMA ignore_check_constraints = OFF`,
      ],
    },
  },
  {
    version: 70,
    name: 'test clock advance failures',
    // An advance whose due work threw leaves its clock `internal_failure` (as Stripe's test clocks
    // name it) with the error and when, until the next advance starts or one reaches its target:
    // before, the clock read `ready` short of the target, which a client polling for `ready` took
    // for done.
    statements: [
      `ALTER TABLE test_clocks ADD COLUMN advance_error TEXT`,
      `ALTER TABLE test_clocks ADD COLUMN advance_failed_at BIGINT`,
    ],
  },
  {
    version: 71,
    name: 'credit note shares of fee invoices',
    // A note for a fee's unused time gives back the money of the invoices that paid that fee: the
    // fee's own invoice and, when a plan change's charge was paid in part by the credit of the fee
    // before it, that fee's invoice, and so on back through the period's changes. Each part is a
    // row, fixed when the note is issued; an invoice's refund is limited by the parts on it, and
    // its chargeback takes back of those notes. Notes issued before this were counted whole
    // against the fee their credit line names, as they still are.
    statements: noteShares,
    byDialect: {
      sqlite: [
        ...noteShares,
        `INSERT INTO credit_note_shares (credit_note_id, invoice_id, customer_id, amount)
          SELECT n.id, json_extract(l.refs, '$.fee_invoice'), n.customer_id, n.amount FROM credit_notes n JOIN invoice_lines l ON l.id = n.invoice_line_id
          WHERE n.source = 'proration' AND json_extract(l.refs, '$.fee_invoice') IS NOT NULL`,
      ],
      postgres: [
        ...noteShares,
        `INSERT INTO credit_note_shares (credit_note_id, invoice_id, customer_id, amount)
          SELECT n.id, l.refs::json->>'fee_invoice', n.customer_id, n.amount FROM credit_notes n JOIN invoice_lines l ON l.id = n.invoice_line_id
          WHERE n.source = 'proration' AND l.refs::json->>'fee_invoice' IS NOT NULL`,
      ],
    },
  },
];

/** The advisory lock that serializes migrations across server processes on PostgreSQL. */
const migrationLockKey = 7240501;

/** Applies every migration not yet applied, each in its own transaction. Safe to run concurrently. */
export async function migrate(db: SqlDatabase, nowMs: number): Promise<number[]> {
  // Under the same lock as the migrations: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe
  // against itself, and several servers starting together on an empty database would otherwise
  // fail with a unique violation on the system catalog.
  await db.transaction(async (c) => {
    if (c.dialect === 'postgres') await c.query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`);
    await c.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (c) => {
      if (c.dialect === 'postgres') await c.query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`);
      const rows = await c.query(`SELECT version FROM schema_migrations WHERE version = ?`, [migration.version]);
      if (rows.length > 0) return false;
      for (const statement of migration.byDialect?.[c.dialect] ?? migration.statements) await c.run(statement);
      await c.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, [
        migration.version,
        migration.name,
        nowMs,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
