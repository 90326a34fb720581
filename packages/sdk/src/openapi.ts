// Generated from the OpenAPI document by `npm run generate:sdk`. Do not edit.
export interface paths {
    "/v1/customers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List customers, or search them with q */
        get: operations["listCustomers"];
        put?: never;
        /** Create a customer */
        post: operations["createCustomer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a customer by id or external_id */
        get: operations["getCustomer"];
        put?: never;
        /** Update a customer */
        post: operations["updateCustomer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The exact balance now, with the per-grant breakdown */
        get: operations["getBalance"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/authorize": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Check an entitlement in real time, without side effects */
        post: operations["authorizeUsage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/meters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List meters */
        get: operations["listMeters"];
        put?: never;
        /** Create a meter with its rate */
        post: operations["createMeter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/meters/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a meter by id or code */
        get: operations["getMeter"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List grants, optionally of one customer */
        get: operations["listGrants"];
        put?: never;
        /** Grant credits to a customer */
        post: operations["createGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a grant */
        get: operations["getGrant"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/grants/{id}/void": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Revoke what is left of a grant */
        post: operations["voidGrant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Ingest up to 1000 usage events; each is rated and charged in the transaction that stores it */
        post: operations["ingestEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage_events/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Explain a charge: the event, its rating per meter and the grants that paid */
        get: operations["getUsageEvent"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage_events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List usage events
         * @description All usage events in the order of their ids, or with `customer` one customer's in the order they happened (by the minute of their timestamp, then as recorded). The cursor is an event id either way.
         */
        get: operations["listUsageEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/usage_series": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Consumption over time: quantity and credits per meter and per UTC hour or day
         * @description Summed in the database over the customer's usage events in the window, as exact decimal strings. Every bucket of the window is present (zeros included), at most 1000 per window. Bad input: 400 validation_failed naming the field (invalid_timestamp, invalid_window, too_many_buckets); an unknown meter: 404 meter_not_found.
         */
        get: operations["getUsageSeries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List holds, optionally of one customer
         * @description Every hold, active or closed (captured, released, expired), oldest first (`order=desc`: newest first). `held` is what an active hold still reserves: less than `credits` once a grant's void or expiry, or a refund's claw-back, took some back (`hold.reduced`).
         */
        get: operations["listHolds"];
        put?: never;
        /** Reserve credits for a long job */
        post: operations["createHold"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a hold */
        get: operations["getHold"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}/capture": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Charge actual usage from the hold and release the rest
         * @description The event is paid as ingestion pays it at its `timestamp` (default: now): what the hold reserves of grants that cannot pay it then (not started yet, expired or frozen at that time) goes back to them first and is not used; what it reserves of the others pays first (`captured`); the grants live at the event's time pay the rest, then overage or debt. Whatever is left goes back to its grants. A refused capture changes nothing: the hold stays active.
         */
        post: operations["captureHold"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/holds/{id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Free a hold */
        post: operations["releaseHold"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/test_clocks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create a test clock */
        post: operations["createTestClock"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/test_clocks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a test clock */
        get: operations["getTestClock"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/test_clocks/{id}/advance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Advance a test clock, running everything due on the way in time order, as a job: status ready (with ran) when done within the wait bound, else advancing (poll the clock until ready) */
        post: operations["advanceTestClock"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api_keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List API keys */
        get: operations["listApiKeys"];
        put?: never;
        /** Create an API key; the secret is shown once */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api_keys/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Revoke an API key */
        post: operations["revokeApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ledger/transactions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List ledger transactions with their entries
         * @description In id order (`order=desc`: newest first). A transaction's id follows the time it was written, except a usage charge's, which carries its event's timestamp: the charge of an event sent late lists at the time of its usage.
         */
        get: operations["listLedgerTransactions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ledger/transactions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a ledger transaction and walk to its cause */
        get: operations["getLedgerTransaction"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ledger/check": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Rebuild every balance from its entries and compare with the stored balances */
        get: operations["checkLedger"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/domain_events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The audit trail: every state change as a typed event */
        get: operations["listDomainEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness and database check */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/plans": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List plan versions */
        get: operations["listPlans"];
        put?: never;
        /** Create a plan, or a new version of a plan code */
        post: operations["createPlan"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/plans/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a plan by code (latest version) or version id */
        get: operations["getPlan"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List subscriptions */
        get: operations["listSubscriptions"];
        put?: never;
        /** Subscribe a customer to a plan (anniversary periods) */
        post: operations["createSubscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a subscription with its timeline */
        get: operations["getSubscription"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/change": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Change plan now (prorated money and credits in one transaction) or at period end */
        post: operations["changeSubscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel now (prorated credit) or at period end */
        post: operations["cancelSubscription"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List invoices by customer, subscription and period */
        get: operations["listInvoices"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch an invoice with its lines and payments */
        get: operations["getInvoice"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{id}/payments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Record a payment; paid in full activates the credits it bought
         * @description An open invoice, or one marked uncollectible: paid in full, an uncollectible invoice becomes paid and the credits its being uncollectible revoked come back as new grants (metadata.restores), unless expired or of an ended subscription. Refusals: invoice_not_open (paid or void), overpayment.
         */
        post: operations["recordPayment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{id}/void": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Void an open, unpaid invoice */
        post: operations["voidInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/purchases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Buy credits: an invoice and a paid grant, active once the invoice is paid */
        post: operations["purchaseCredits"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/auto_top_up": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Configure auto top-up: below a threshold, buy a pack (once per crossing) */
        post: operations["setAutoTopUp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/refunds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List refunds */
        get: operations["listRefunds"];
        put?: never;
        /** Record a refund on an invoice and claw back credits by policy */
        post: operations["createRefund"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/refunds/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a refund */
        get: operations["getRefund"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chargebacks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List chargebacks */
        get: operations["listChargebacks"];
        put?: never;
        /** Record a chargeback on an invoice and claw back credits by policy */
        post: operations["createChargeback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chargebacks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a chargeback */
        get: operations["getChargeback"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chargebacks/{id}/close": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Close a chargeback: lost keeps the claw-back, won restores it */
        post: operations["closeChargeback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/revenue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Revenue by plan and period: invoiced, paid, refunded, charged back, net
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getRevenueReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Credits consumed by plan (in effect at the time) and meter
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getUsageReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/overage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Overage revenue by the period it bills
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getOverageReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/refunds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Refund and chargeback impact: money returned against credits revoked, per policy
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getRefundsReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/promotional": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Promotional (non-revenue) consumption by grant source
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getPromotionalReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/deferred_revenue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Deferred revenue of credits bought at a cost basis: recognized, breakage, liability
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getDeferredRevenueReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/credit_notes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Credit notes issued, and the customer balance: opening, issued, applied, paid out, closing
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getCreditNotesReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/aging": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Past-due invoices still unpaid, by days past due: 0–30, 31–60, 61–90, 90+
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["getAgingReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reconciliation": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Check that credits and money reconcile; lists every discrepancy with ids */
        get: operations["getReconciliation"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/refunds/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Preview a refund: the credits it would revoke, without writing anything */
        post: operations["previewRefund"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/change/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Preview a plan change: proration lines and credit changes, without writing anything */
        post: operations["previewSubscriptionChange"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/subscriptions/{id}/cancel/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Preview a cancellation: the final invoice and credit changes, without writing anything */
        post: operations["previewSubscriptionCancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who the calling key is: its scopes and, for a portal token, its customer */
        get: operations["getSession"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/credit_notes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List credit notes, optionally of one customer */
        get: operations["listCreditNotes"];
        put?: never;
        /** Issue a goodwill credit note: money kept as the customer's balance */
        post: operations["createCreditNote"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/credit_notes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List one customer's credit notes */
        get: operations["listCustomerCreditNotes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/credit_notes/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a credit note with each use of it (applied to invoices, paid out) and whose money it gives back */
        get: operations["getCreditNote"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/credit_notes/{id}/refund": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pay out a refundable credit note (all that remains, or an amount)
         * @description Refusals: credit_note_not_refundable, amount_exceeds_remaining, customer_has_unpaid_invoices (the customer owes money on open or uncollectible invoices in the note's currency: apply the balance to them first; details.invoices names them).
         */
        post: operations["refundCreditNote"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/customers/{id}/money_balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The customer's money balance per currency (credit notes left to apply) */
        get: operations["getMoneyBalance"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{id}/apply_balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Apply the customer's balance to an unpaid invoice, oldest credit note first
         * @description Open or uncollectible invoices; a paid or void one is invoice_not_open, and one already pushed to Stripe (which collects the amount it was pushed with) is invoice_in_provider.
         */
        post: operations["applyBalanceToInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/integrations/stripe/unmatched": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Stripe events kept for review: no Tally invoice matched, or the flow refused them */
        get: operations["listUnmatchedStripeEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/integrations/stripe/events/{id}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Settle a Stripe event kept for review, with a note of how it was dealt with
         * @description For an unmatched or rejected event (say, money Stripe collected on an invoice voided in Tally, refunded in Stripe): its status becomes resolved, outcome.resolution keeps the note, it leaves the review list and the reconciliation, and stripe_event.resolved is recorded. No money or credits move. Refusals: stripe_event_not_found, stripe_event_not_in_review.
         */
        post: operations["resolveStripeEvent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_endpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List webhook endpoints */
        get: operations["listWebhookEndpoints"];
        put?: never;
        /** Create a webhook endpoint; its signing secret is shown in this reply only */
        post: operations["createWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_endpoints/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a webhook endpoint */
        get: operations["getWebhookEndpoint"];
        put?: never;
        /** Update a webhook endpoint (url, event types, disabled, description, metadata) */
        post: operations["updateWebhookEndpoint"];
        /** Delete a webhook endpoint and its deliveries */
        delete: operations["deleteWebhookEndpoint"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_endpoints/{id}/rotate_secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Rotate the signing secret; the old one keeps signing alongside for 24 hours */
        post: operations["rotateWebhookSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_endpoints/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List an endpoint's deliveries, each with every attempt (oldest first, or newest first with order=desc) */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_deliveries/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send a delivery again now (also a failed or a succeeded one) */
        post: operations["retryWebhookDelivery"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook_endpoints/{id}/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Send every event the endpoint wants, recorded since a time, again */
        post: operations["replayWebhooks"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/invoices/{id}/payment_attempts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The payment attempts of an invoice, oldest first */
        get: operations["listPaymentAttempts"];
        put?: never;
        /**
         * Record a payment attempt: succeeded pays the invoice; failed makes it past due and schedules retries
         * @description A succeeded attempt may pay an uncollectible invoice late (as a payment does); a failed one is for open invoices only. Refusals: invoice_not_open, overpayment.
         */
        post: operations["recordPaymentAttempt"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List campaigns, oldest first */
        get: operations["listPromotions"];
        put?: never;
        /** Create a campaign with one shared code or generated single-use codes */
        post: operations["createPromotion"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions/redeem": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Redeem a code for a customer: a promotional grant linked to the campaign and code
         * @description Refusals: promotion_not_found, promotion_inactive, promotion_expired, promotion_already_redeemed, promotion_exhausted, promotion_not_eligible.
         */
        post: operations["redeemPromotion"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions/redemptions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List redemptions, of one campaign or one customer */
        get: operations["listPromotionRedemptions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a campaign */
        get: operations["getPromotion"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions/{id}/deactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stop a campaign: later redemptions are refused (promotion_inactive) */
        post: operations["deactivatePromotion"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/promotions/{id}/codes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A campaign's codes: a page of JSON, or every code as CSV (Accept: text/csv) for export */
        get: operations["listPromotionCodes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports/promotions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Per campaign and per referrer: redemptions, credits granted, consumed, expired, revoked, and the revenue those customers paid afterwards
         * @description JSON by default; one CSV table of the rows with Accept: text/csv.
         */
        get: operations["promotionsReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/referrals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List referrals, optionally by referrer, referred, or either (customer) */
        get: operations["listReferrals"];
        put?: never;
        /**
         * Record a referral: promotional grants to the referrer (and the referred) when the referred customer's first invoice is paid
         * @description Refusals: customer_not_found, referral_to_self, customer_already_referred, referral_not_eligible (the referred customer has paid before).
         */
        post: operations["createReferral"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/referrals/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Fetch a referral with its rewards and claw-backs */
        get: operations["getReferral"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/integrations/stripe/webhook": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Receive a Stripe event (signed with Stripe-Signature; no API key)
         * @description Verifies the signature (300 s tolerance) over the raw body, then applies invoice.paid, invoice.payment_failed, charge.refunded, charge.dispute.created and charge.dispute.closed once per Stripe event id. Other types are acknowledged and ignored; events for no known invoice are kept at GET /v1/integrations/stripe/unmatched.
         */
        post: operations["receiveStripeWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description Every error the server sends has this shape.
         * @example {
         *       "error": {
         *         "code": "validation_failed",
         *         "message": "credits: must match pattern",
         *         "details": {
         *           "fields": [
         *             {
         *               "field": "credits",
         *               "code": "invalid_format",
         *               "message": "must match pattern"
         *             }
         *           ]
         *         }
         *       }
         *     }
         */
        Error: {
            error: {
                /**
                 * @description Stable snake_case code; branch on this, not on the message.
                 * @example insufficient_credits
                 */
                code: string;
                /**
                 * @description A sentence for people.
                 * @example The customer has 10 credits available; 25 are needed.
                 */
                message: string;
                /** @description Facts about the error; `fields` lists every bad field ({field, code, message}) of a request that failed validation. */
                details?: {
                    [key: string]: unknown;
                };
            };
        };
        /** @description How a meter prices its quantity: per unit, graduated tiers, or packages. */
        Rate: {
            /** @enum {string} */
            model: "per_unit";
            credits_per_unit: string;
        } | {
            /** @enum {string} */
            model: "graduated";
            tiers: {
                up_to: number | string | null;
                credits_per_unit: string;
            }[];
        } | {
            /** @enum {string} */
            model: "package";
            package_size: number | string;
            credits_per_package: string;
        };
        /**
         * @description A customer: holds credits, pays invoices.
         * @example {
         *       "id": "cus_01J0Z3",
         *       "object": "customer",
         *       "external_id": "acme",
         *       "name": "Acme Inc.",
         *       "email": "billing@acme.test",
         *       "currency": "USD",
         *       "test_clock": null,
         *       "overage": false,
         *       "low_balance_threshold": null,
         *       "auto_top_up": null,
         *       "net_days": 0,
         *       "metadata": {},
         *       "provider": null,
         *       "provider_customer_id": null,
         *       "created_at": "2026-05-01T00:00:00.000Z"
         *     }
         */
        Customer: {
            /** @description cus_… */
            id: string;
            /** @enum {string} */
            object: "customer";
            /** @description Your id for this customer; usable wherever a customer id is. */
            external_id: string | null;
            name: string | null;
            email: string | null;
            /** @description ISO 4217 code of its invoices. */
            currency: string;
            test_clock: string | null;
            /** @description Consumption beyond grants goes to overage (billed) when true, to debt when false. */
            overage: boolean;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            low_balance_threshold: string | null;
            auto_top_up: {
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                threshold: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                credits: string;
                /**
                 * @description Integer count of minor units of the currency (cents for USD).
                 * @example 4900
                 */
                amount: number;
                /** @description False after a top-up until the balance rises above the threshold again. */
                armed: boolean;
            } | null;
            /** @description Payment terms: invoices are due this many days after finalization (0: on finalization). */
            net_days: number;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /** @description The payment provider the customer is linked to (`stripe`), once its first invoice was pushed. */
            provider: string | null;
            /** @description The customer's id at the provider (`cus_…` in Stripe). */
            provider_customer_id: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /** @description Credit notes left to apply, per currency; when the customer is fetched alone. */
            money_balance?: {
                /** @description ISO 4217 currency code. */
                currency: string;
                /** @description Minor units of credit notes left to apply. */
                amount: number;
            }[];
        };
        /** @description A meter: which usage events it counts, how it aggregates them, and their price in credits. */
        Meter: {
            /** @description mtr_… */
            id: string;
            /** @enum {string} */
            object: "meter";
            code: string;
            name: string | null;
            event_type: string;
            filter: {
                [key: string]: unknown;
            };
            aggregation: "count" | "sum" | "max" | "unique_count";
            value_property: string | null;
            rate: components["schemas"]["Rate"];
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /**
         * @description A block of credits: its category, priority, expiry and what remains of it.
         * @example {
         *       "id": "grt_01J0Z4",
         *       "object": "grant",
         *       "customer": "cus_01J0Z3",
         *       "credits": "1000",
         *       "remaining": "750.5",
         *       "category": "paid",
         *       "source": "purchase",
         *       "priority": 50,
         *       "status": "active",
         *       "effective_at": "2026-05-01T00:00:00.000Z",
         *       "expires_at": "2027-05-01T00:00:00.000Z",
         *       "invoice": null,
         *       "invoice_line": null,
         *       "subscription": null,
         *       "cost_basis": null,
         *       "closed_at": null,
         *       "close_reason": null,
         *       "frozen": false,
         *       "frozen_from": null,
         *       "unfrozen_at": null,
         *       "metadata": {},
         *       "created_at": "2026-05-01T00:00:00.000Z"
         *     }
         */
        Grant: {
            /** @description grt_… */
            id: string;
            /** @enum {string} */
            object: "grant";
            customer: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            credits: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            remaining: string;
            category: "paid" | "promotional";
            /** @description purchase, promotion, referral, adjustment, subscription, rollover… */
            source: string;
            /** @description Lower burns first. */
            priority: number;
            /** @description pending (not yet effective or unpaid), active, depleted, expired or voided. */
            status: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            effective_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            expires_at: string | null;
            invoice: string | null;
            invoice_line: string | null;
            subscription: string | null;
            cost_basis: {
                /**
                 * @description Integer count of minor units of the currency (cents for USD).
                 * @example 4900
                 */
                amount: number;
                currency: string;
            } | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            closed_at: string | null;
            close_reason: string | null;
            /** @description Not usable now: the invoice that bought it is unpaid past the grace period. */
            frozen: boolean;
            /**
             * Format: date-time
             * @description From when the grant stops paying while its invoice stays unpaid.
             * @example 2026-05-01T00:00:00.000Z
             */
            frozen_from: string | null;
            /**
             * Format: date-time
             * @description When its invoice was paid, ending the freeze.
             * @example 2026-05-01T00:00:00.000Z
             */
            unfrozen_at: string | null;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /**
         * @description The exact balance now, with the grants that make it up in burn-down order.
         * @example {
         *       "object": "balance",
         *       "customer": "cus_01J0Z3",
         *       "as_of": "2026-05-02T00:00:00.000Z",
         *       "available": "750.5",
         *       "paid": "750.5",
         *       "promotional": "0",
         *       "overage": "0",
         *       "debt": "0",
         *       "held": "0",
         *       "frozen": "0",
         *       "money_balance": [],
         *       "grants": [
         *         {
         *           "id": "grt_01J0Z4",
         *           "remaining": "750.5",
         *           "category": "paid",
         *           "priority": 50,
         *           "expires_at": null,
         *           "frozen": false
         *         }
         *       ]
         *     }
         */
        Balance: {
            /** @enum {string} */
            object: "balance";
            customer: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            as_of: string;
            /**
             * @description What the customer can spend now: usable grants minus holds.
             * @example 1500
             * @example 12.5
             */
            available: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            paid: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            promotional: string;
            /**
             * @description Consumed beyond grants, to be billed.
             * @example 1500
             * @example 12.5
             */
            overage: string;
            /**
             * @description Owed credits, settled from the next credits that arrive.
             * @example 1500
             * @example 12.5
             */
            debt: string;
            /**
             * @description Reserved by active holds.
             * @example 1500
             * @example 12.5
             */
            held: string;
            /**
             * @description In grants frozen because the invoice that bought them is unpaid past the grace period: shown, not usable.
             * @example 1500
             * @example 12.5
             */
            frozen: string;
            /** @description Money (not credits) the customer holds as credit notes, per currency. */
            money_balance: {
                /** @description ISO 4217 currency code. */
                currency: string;
                /** @description Minor units of credit notes left to apply. */
                amount: number;
            }[];
            grants: {
                id: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                remaining: string;
                category: "paid" | "promotional";
                priority: number;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                expires_at: string | null;
                frozen: boolean;
            }[];
        };
        /**
         * @description Whether the customer may consume now, or for an event stamped at another time, then (as ingestion would pay it: `available` is what the grants live then can pay); nothing is written.
         * @example {
         *       "allowed": true,
         *       "available": "750.5",
         *       "cost": "2.5",
         *       "reason": null
         *     }
         */
        Authorization: {
            allowed: boolean;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            available: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            cost: string;
            reason: string | null;
        };
        /** @description Credits reserved for a long job. */
        Hold: {
            /** @description hld_… */
            id: string;
            /** @enum {string} */
            object: "hold";
            customer: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            credits: string;
            /**
             * @description Credits it reserves now: its credits, less what a refund, a chargeback, the expiry or void of the grant that gave them, or the void of its invoice, took back while it was active; 0 once closed.
             * @example 40
             */
            held: string;
            /** @description active, captured, released or expired. */
            status: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            expires_at: string;
            event: string | null;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            captured: string | null;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            closed_at: string | null;
        };
        /**
         * @description The outcome of one ingested event: accepted (charged), duplicate (already recorded) or rejected (with its error).
         * @example {
         *       "id": "evt_123",
         *       "status": "accepted",
         *       "credits": "2.5",
         *       "paid_by": [
         *         {
         *           "grant": "grt_01J0Z4",
         *           "credits": "2.5"
         *         }
         *       ],
         *       "overage": "0",
         *       "debt": "0"
         *     }
         */
        UsageEventResult: {
            id: string;
            status: "accepted" | "duplicate" | "rejected";
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            credits?: string;
            /** @description Who paid, in burn-down order. */
            paid_by?: {
                /** @description The grant (or hold) that paid. */
                grant: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                credits: string;
            }[];
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            overage?: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            debt?: string;
            error?: {
                code: string;
                message: string;
                field?: string;
            };
        };
        /** @description A balanced ledger transaction: its entries sum to zero, and it names its cause. */
        LedgerTransaction: {
            /** @description txn_… */
            id: string;
            /** @enum {string} */
            object: "ledger_transaction";
            customer: string;
            /** @description grant, usage, expiry, void, refund, chargeback, hold, … */
            kind: string;
            /** @description What made this change: a usage event, a grant, an invoice, a refund… */
            cause: {
                type: string;
                id: string;
            };
            refs: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            effective_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            entries: {
                account: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                amount: string;
            }[];
        };
        /** @description A recorded usage event with its rating per meter and the payment of its charge. */
        UsageEvent: {
            id: string;
            /** @enum {string} */
            object: "usage_event";
            customer: string;
            type: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            timestamp: string;
            properties: {
                [key: string]: unknown;
            };
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            credits: string;
            rating: {
                meter: string;
                quantity: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                credits: string;
            }[];
            /** @description Who paid, in burn-down order. */
            paid_by?: {
                /** @description The grant (or hold) that paid. */
                grant: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                credits: string;
            }[];
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            overage?: string;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            debt?: string;
            /** @description The charge: the full transaction when fetched alone, its id in lists. */
            transaction: components["schemas"]["LedgerTransaction"] | string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            recorded_at: string;
        };
        /** @description A typed state change, recorded in the transaction that made it. */
        DomainEvent: {
            id: string;
            /** @enum {string} */
            object: "event";
            /** @example grant.created */
            type: string;
            customer: string | null;
            data: unknown;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description An API key (its secret is shown once, at creation). */
        ApiKey: {
            id: string;
            /** @enum {string} */
            object: "api_key";
            name: string | null;
            scopes: string[];
            /** @description The customer a portal token is bound to. */
            customer: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            revoked_at: string | null;
        };
        /** @description Simulated time for the customers attached to it. */
        TestClock: {
            id: string;
            /** @enum {string} */
            object: "test_clock";
            name: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            frozen_time: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /** @description advancing while an advance runs as a job; ready once everything due up to its target has run; internal_failure when the due work of the last advance threw (see failure): frozen_time is where it got to, and the next advance runs on from there. */
            status: "advancing" | "ready" | "internal_failure";
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            advancing_to: string | null;
            failure: {
                /** @description The error the due work threw. */
                message: string;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                failed_at: string;
            } | null;
        };
        /** @description A plan version. */
        Plan: {
            id: string;
            /** @enum {string} */
            object: "plan";
            code: string;
            version: number;
            name: string;
            currency: string;
            interval: "month" | "year";
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            /**
             * @description Credits as an exact decimal string (up to 6 fraction digits).
             * @example 1500
             * @example 12.5
             */
            included_credits: string;
            rollover: {
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                max_credits: string;
            } | null;
            overage: {
                unit_amount_per_credit: string;
                /**
                 * @description Credits as an exact decimal string (up to 6 fraction digits).
                 * @example 1500
                 * @example 12.5
                 */
                limit_credits: string | null;
            } | null;
            rates: {
                [key: string]: components["schemas"]["Rate"];
            };
            subscribed: boolean;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description A customer on a plan, with its current period. */
        Subscription: {
            id: string;
            /** @enum {string} */
            object: "subscription";
            customer: string;
            plan: string;
            /** @description scheduled, active, past_due, canceled or ended. */
            status: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            start_at: string;
            current_period: {
                index: number;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                start: string | null;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                end: string | null;
            } | null;
            pending_plan: string | null;
            cancel_at_period_end: boolean;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            canceled_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            ended_at: string | null;
            /**
             * Format: date-time
             * @description When it last went past due (an invoice unpaid past its due date).
             * @example 2026-05-01T00:00:00.000Z
             */
            past_due_at: string | null;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description A subscription with its plan timeline and its periods. */
        SubscriptionDetail: {
            id: string;
            /** @enum {string} */
            object: "subscription";
            customer: string;
            plan: string;
            /** @description scheduled, active, past_due, canceled or ended. */
            status: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            start_at: string;
            current_period: {
                index: number;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                start: string | null;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                end: string | null;
            } | null;
            pending_plan: string | null;
            cancel_at_period_end: boolean;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            canceled_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            ended_at: string | null;
            /**
             * Format: date-time
             * @description When it last went past due (an invoice unpaid past its due date).
             * @example 2026-05-01T00:00:00.000Z
             */
            past_due_at: string | null;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            timeline: {
                plan: string;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                start_at: string;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                end_at: string | null;
                reason: string;
            }[];
            periods: {
                index: number;
                plan: string;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                start: string;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                end: string;
                invoice: string | null;
                grant: string | null;
            }[];
        };
        InvoiceLine: {
            id: string;
            /** @description subscription_fee, proration_credit, proration_charge, overage, credit_purchase, adjustment. */
            type: string;
            description: string;
            quantity: string;
            /** @description Minor units per unit, as a decimal string. */
            unit_amount: string;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_start: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_end: string;
            refs: {
                [key: string]: string;
            };
        };
        /** @description An invoice with its lines and what was paid, refunded and charged back. */
        Invoice: {
            id: string;
            /** @enum {string} */
            object: "invoice";
            customer: string;
            subscription: string | null;
            plan: string | null;
            /** @description `subscription`: a period's fee in advance and overage in arrears; `proration`: a mid-period change; `purchase`: credits bought; `final`: a subscription's end; `correction`: late overage of an ended subscription's periods, billed once no more of it can arrive (35 days after the five minutes past the end that the ended subscription still owns). */
            kind: "subscription" | "proration" | "purchase" | "final" | "correction";
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_start: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_end: string | null;
            currency: string;
            status: "draft" | "open" | "paid" | "void" | "uncollectible";
            lines: components["schemas"]["InvoiceLine"][];
            /**
             * @description The sum of the lines.
             * @example 4900
             */
            subtotal: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            total: number;
            /**
             * @description Paid from the customer's money balance (credit notes) at finalization.
             * @example 4900
             */
            balance_applied: number;
            /**
             * @description Total less the balance applied.
             * @example 4900
             */
            amount_due: number;
            /**
             * @description Still to pay while open or uncollectible (an uncollectible invoice can still be paid); 0 when paid or void.
             * @example 4900
             */
            amount_remaining: number;
            credit_note: string | null;
            /**
             * Format: date-time
             * @description Finalization plus the customer's payment terms (net_days).
             * @example 2026-05-01T00:00:00.000Z
             */
            due_at: string | null;
            /** @description Open and past due: its due date passed or a payment attempt failed. */
            past_due: boolean;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            past_due_at: string | null;
            /**
             * Format: date-time
             * @description When the next dunning retry runs.
             * @example 2026-05-01T00:00:00.000Z
             */
            next_payment_attempt: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            uncollectible_at: string | null;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_paid: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_refunded: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_charged_back: number;
            provider: string | null;
            provider_invoice_id: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            finalized_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            paid_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            voided_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description Money received on an invoice. */
        Payment: {
            id: string;
            /** @enum {string} */
            object: "payment";
            invoice: string;
            customer: string;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            currency: string;
            provider: string | null;
            provider_payment_id: string | null;
            /** @description How it was paid: by the provider, or from the money balance (`balance`). */
            method: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description An invoice with its payments. */
        InvoiceDetail: {
            id: string;
            /** @enum {string} */
            object: "invoice";
            customer: string;
            subscription: string | null;
            plan: string | null;
            /** @description `subscription`: a period's fee in advance and overage in arrears; `proration`: a mid-period change; `purchase`: credits bought; `final`: a subscription's end; `correction`: late overage of an ended subscription's periods, billed once no more of it can arrive (35 days after the five minutes past the end that the ended subscription still owns). */
            kind: "subscription" | "proration" | "purchase" | "final" | "correction";
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_start: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            period_end: string | null;
            currency: string;
            status: "draft" | "open" | "paid" | "void" | "uncollectible";
            lines: components["schemas"]["InvoiceLine"][];
            /**
             * @description The sum of the lines.
             * @example 4900
             */
            subtotal: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            total: number;
            /**
             * @description Paid from the customer's money balance (credit notes) at finalization.
             * @example 4900
             */
            balance_applied: number;
            /**
             * @description Total less the balance applied.
             * @example 4900
             */
            amount_due: number;
            /**
             * @description Still to pay while open or uncollectible (an uncollectible invoice can still be paid); 0 when paid or void.
             * @example 4900
             */
            amount_remaining: number;
            credit_note: string | null;
            /**
             * Format: date-time
             * @description Finalization plus the customer's payment terms (net_days).
             * @example 2026-05-01T00:00:00.000Z
             */
            due_at: string | null;
            /** @description Open and past due: its due date passed or a payment attempt failed. */
            past_due: boolean;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            past_due_at: string | null;
            /**
             * Format: date-time
             * @description When the next dunning retry runs.
             * @example 2026-05-01T00:00:00.000Z
             */
            next_payment_attempt: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            uncollectible_at: string | null;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_paid: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_refunded: number;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount_charged_back: number;
            provider: string | null;
            provider_invoice_id: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            finalized_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            paid_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            voided_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            payments: components["schemas"]["Payment"][];
        };
        /** @description The payment recorded, with the invoice as it now stands. */
        PaymentResult: {
            id: string;
            /** @enum {string} */
            object: "payment";
            invoice: components["schemas"]["Invoice"];
            customer: string;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            currency: string;
            provider: string | null;
            provider_payment_id: string | null;
            /** @description How it was paid: by the provider, or from the money balance (`balance`). */
            method: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description A credit purchase: its invoice, and the paid grant it activates once paid. */
        Purchase: {
            invoice: components["schemas"]["Invoice"];
            grant: components["schemas"]["Grant"];
        };
        /** @description A campaign: its code (or generated single-use codes), the credits a redemption grants, and its limits. */
        Promotion: {
            /** @description prm_… */
            id: string;
            /** @enum {string} */
            object: "promotion";
            name: string | null;
            /** @description The shared code; null when single-use codes were generated. */
            code: string | null;
            codes: {
                count: number;
                prefix: string | null;
            } | null;
            /**
             * @description Credits as an exact decimal string.
             * @example 50
             */
            credits: string;
            priority: number;
            /** @description Seconds after redemption until the grant expires. */
            grant_expires_in: number | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            valid_from: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            valid_until: string | null;
            max_redemptions: number | null;
            max_per_customer: number;
            new_customers_only: boolean;
            plans: string[];
            active: boolean;
            redemptions: number;
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            deactivated_at: string | null;
        };
        /** @description One code of a campaign, with how often it was redeemed. */
        PromotionCode: {
            code: string;
            promotion: string;
            single_use: boolean;
            redemptions: number;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            created_at: string;
        };
        /** @description A redemption: the promotional grant (source `promotion`) a code gave a customer. */
        PromotionRedemption: {
            /** @description rdm_… */
            id: string;
            /** @enum {string} */
            object: "promotion_redemption";
            promotion: string;
            code: string;
            customer: string;
            grant: string;
            /**
             * @description Credits as an exact decimal string.
             * @example 50
             */
            credits: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            grant_expires_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            created_at: string;
        };
        /** @description The unspent part of a referral reward taken back by a refund or lost chargeback of the rewarding invoice. */
        ReferralClawBack: {
            /** @description rcb_… */
            id: string;
            referral: string;
            /** @description The refund or chargeback that caused it. */
            return: string;
            customer: string;
            grant: string;
            /**
             * @description Credits as an exact decimal string.
             * @example 50
             */
            credits: string;
            /** @description The revoke transaction (null when nothing was left to take). */
            transaction: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            created_at: string;
        };
        /** @description A referral: rewards when the referred customer's first invoice is paid with money (not only from the balance), clawed back with its money. */
        Referral: {
            /** @description rfl_… */
            id: string;
            /** @enum {string} */
            object: "referral";
            referrer: string;
            referred: string;
            /**
             * @description Credits as an exact decimal string.
             * @example 50
             */
            reward_credits: string;
            /**
             * @description Credits as an exact decimal string.
             * @example 50
             */
            referred_credits: string | null;
            status: "pending" | "rewarded";
            /** @description The referred customer's first invoice paid with money. */
            invoice: string | null;
            referrer_grant: string | null;
            referred_grant: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            rewarded_at: string | null;
            claw_backs: components["schemas"]["ReferralClawBack"][];
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            created_at: string;
        };
        /** @description Per campaign and per referrer: redemptions, the fate of the credits granted, and the revenue their customers paid afterwards. */
        PromotionsReport: {
            /** @enum {string} */
            object: "report";
            /** @enum {string} */
            report: "promotions";
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            from: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             */
            to: string | null;
            customer: string | null;
            rows: {
                kind: "campaign" | "referrer";
                promotion: string | null;
                code: string | null;
                referrer: string | null;
                /** @description Redemptions (campaign) or rewarded referrals (referrer) in the window. */
                redemptions: number;
                grants: number;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_granted: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_consumed: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_expired: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_revoked: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_unspent: string;
                /** @description Minor units those customers paid after their redemption or referral (in the window), by currency. */
                revenue_after: {
                    [key: string]: number;
                };
                customers: number;
            }[];
            totals: {
                /** @description Redemptions (campaign) or rewarded referrals (referrer) in the window. */
                redemptions: number;
                grants: number;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_granted: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_consumed: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_expired: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_revoked: string;
                /**
                 * @description Credits as an exact decimal string.
                 * @example 50
                 */
                credits_unspent: string;
                /** @description Minor units those customers paid after their redemption or referral (in the window), by currency. */
                revenue_after: {
                    [key: string]: number;
                };
                customers: number;
            };
        };
        /** @description Money returned on an invoice, and the credits clawed back by its policy. */
        Refund: {
            id: string;
            /** @enum {string} */
            object: "refund";
            customer: string;
            invoice: string;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            currency: string;
            reason: string;
            credit_policy: "proportional" | "full" | "unused_only" | "none";
            /**
             * @description Credits the invoice granted.
             * @example 1500
             * @example 12.5
             */
            credits_granted: string;
            /**
             * @description Credits taken back from the grants.
             * @example 1500
             * @example 12.5
             */
            credits_revoked: string;
            /**
             * @description Credits the policy asked for that were already spent.
             * @example 1500
             * @example 12.5
             */
            credits_shortfall: string;
            shortfall: "debt" | "write_off";
            status: string;
            transaction: string | null;
            restore_transaction: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            closed_at: string | null;
            /** @description Referral rewards of this invoice taken back with its money (PRODUCT §15). */
            referral_claw_backs: components["schemas"]["ReferralClawBack"][];
            /** @description `balance` keeps the money as a credit note, refundable unless a note that is not refundable (goodwill) paid for it. */
            to: "cash" | "balance";
            credit_note: string | null;
        };
        /** @description A disputed payment: credits clawed back, restored if won. */
        Chargeback: {
            id: string;
            /** @enum {string} */
            object: "chargeback";
            customer: string;
            invoice: string;
            /**
             * @description Integer count of minor units of the currency (cents for USD).
             * @example 4900
             */
            amount: number;
            currency: string;
            reason: string;
            credit_policy: "proportional" | "full" | "unused_only" | "none";
            /**
             * @description Credits the invoice granted.
             * @example 1500
             * @example 12.5
             */
            credits_granted: string;
            /**
             * @description Credits taken back from the grants.
             * @example 1500
             * @example 12.5
             */
            credits_revoked: string;
            /**
             * @description Credits the policy asked for that were already spent.
             * @example 1500
             * @example 12.5
             */
            credits_shortfall: string;
            shortfall: "debt" | "write_off";
            status: string;
            transaction: string | null;
            restore_transaction: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            closed_at: string | null;
            /** @description Referral rewards of this invoice taken back with its money (PRODUCT §15). */
            referral_claw_backs: components["schemas"]["ReferralClawBack"][];
            /**
             * @description Minor units taken back of credit notes that had credited the fee of its invoice back (a cancellation's or downgrade's unused time): what the chargeback returns beyond what the invoice kept, from what was left of them. Restored if won.
             * @example 4900
             */
            credit_notes_reversed: number;
            /**
             * @description What the chargeback returns beyond what the invoice kept that those notes no longer held (applied to invoices or paid out already).
             * @example 4900
             */
            credit_notes_shortfall: number;
        };
        /** @description A finance report: rows and totals (the CSV form is the rows table). */
        Report: {
            /** @enum {string} */
            object: "report";
            /** @example revenue */
            report: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            from: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            to: string | null;
            customer: string | null;
            rows: {
                [key: string]: unknown;
            }[];
            /** @description Totals per currency (or per meter, kind…), or one object for the promotional report. */
            totals: unknown;
        };
        /**
         * @description Every check, and every discrepancy with the ids of the records it names.
         * @example {
         *       "object": "reconciliation",
         *       "ok": true,
         *       "checks": [
         *         {
         *           "name": "transactions_balance",
         *           "ok": true
         *         }
         *       ],
         *       "discrepancies": []
         *     }
         */
        Reconciliation: {
            /** @enum {string} */
            object: "reconciliation";
            ok: boolean;
            checks: {
                name: string;
                ok: boolean;
            }[];
            discrepancies: {
                check: string;
                message: string;
                ids: string[];
            }[];
        };
        /** @description Money owed to the customer, kept as balance and applied to invoices oldest first. */
        CreditNote: {
            /** @description cn_… */
            id: string;
            /** @enum {string} */
            object: "credit_note";
            customer: string;
            /** @description ISO 4217 currency code. */
            currency: string;
            /** @description Minor units issued. */
            amount: number;
            /** @description Minor units left: amount − applied − refunded − reversed. */
            remaining: number;
            amount_applied: number;
            /** @description Minor units paid out in cash. */
            amount_refunded: number;
            /** @description Minor units taken back by chargebacks of the invoice whose fee the note credited back (less what won ones restored). */
            amount_reversed: number;
            source: "proration" | "refund" | "goodwill" | "invoice_void";
            reason: string;
            refundable: boolean;
            status: "open" | "closed";
            invoice: string | null;
            invoice_line: string | null;
            refund: string | null;
            metadata: {
                [key: string]: string;
            };
            /**
             * @description RFC 3339 date-time in UTC.
             * @example 2026-01-31T10:00:00Z
             */
            created_at: string;
            /** @description Each use of the note; only when fetched alone. */
            uses?: {
                id: string;
                /** @description `reversed`: taken back by a chargeback of the invoice whose fee the note credited (`invoice`); `restored`: given back when that chargeback was won. */
                kind: "applied" | "refunded" | "reversed" | "restored";
                invoice: string | null;
                payment: string | null;
                chargeback: string | null;
                amount: number;
                /**
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-01-31T10:00:00Z
                 */
                created_at: string;
            }[];
            /** @description A note for a fee's unused time (source `proration`): whose money it gives back, to the cent: the fee's own invoice and, when a plan change's charge was paid in part by the credit of the fee before it, that fee's invoice, in that proportion (back through the period's changes). Empty for other notes; only when fetched alone. */
            gives_back?: {
                /** @description An invoice that paid the fee the note credits back. */
                invoice: string;
                /** @description Minor units of the note that give back this invoice's money: a refund of the invoice returns at most what it was paid less its returns and these parts. */
                amount: number;
            }[];
        };
        /** @description The customer's money balance per currency. */
        MoneyBalance: {
            /** @enum {string} */
            object: "money_balance";
            customer: string;
            balances: {
                /** @description ISO 4217 currency code. */
                currency: string;
                /** @description Minor units of credit notes left to apply. */
                amount: number;
            }[];
        };
        /** @description Where webhooks go, and which types. The signing secret is never shown here. */
        WebhookEndpoint: {
            /** @description whk_… */
            id: string;
            /** @enum {string} */
            object: "webhook_endpoint";
            url: string;
            description: string | null;
            /** @description The event types delivered, or `["*"]` for all. */
            event_types: string[];
            disabled: boolean;
            /** @description `disabled_by_user`, or `failing` (5 days of failed deliveries). */
            disabled_reason: string | null;
            /**
             * Format: date-time
             * @description After a rotation: until when the previous secret still signs.
             */
            previous_secret_expires_at: string | null;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            failing_since: string | null;
            /** @description Your key-value pairs, returned as given. */
            metadata: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            updated_at: string;
        };
        /** @description One domain event sent to one endpoint, with every attempt. */
        WebhookDelivery: {
            /** @description dlv_… */
            id: string;
            /** @enum {string} */
            object: "webhook_delivery";
            endpoint: string;
            /** @description The domain event id, sent as `webhook-id` on every attempt. */
            event: string;
            event_type: string;
            status: "pending" | "succeeded" | "failed";
            attempt_count: number;
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            next_attempt_at: string | null;
            attempts: {
                attempt: number;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                attempted_at: string;
                /** @description The HTTP status, or null when no answer came. */
                status_code: number | null;
                /** @description `timeout`, `connection_refused`, … */
                error: string | null;
                /** @description The first 1 KiB of the response. */
                response_body: string | null;
                duration_ms: number;
                /**
                 * Format: date-time
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-05-01T00:00:00.000Z
                 */
                next_attempt_at: string | null;
            }[];
            /**
             * Format: date-time
             * @description RFC 3339 date-time in UTC.
             * @example 2026-05-01T00:00:00.000Z
             */
            created_at: string;
        };
        /** @description What POST /v1/refunds would do with the same body, computed by running it and rolling it back: nothing is stored. */
        RefundPreview: {
            /** @enum {string} */
            object: "refund_preview";
            refund: components["schemas"]["Refund"];
            /** @description The ledger transactions the call would post (ids are provisional). */
            ledger_transactions: components["schemas"]["LedgerTransaction"][];
            /** @description The invoices it would issue, with their lines (proration, final). */
            invoices: components["schemas"]["Invoice"][];
            /** @description The credit notes it would issue. */
            credit_notes: components["schemas"]["CreditNote"][];
            /** @description The domain event types it would record. */
            events: string[];
        };
        /** @description What the change or cancellation would do, computed by running it and rolling it back: nothing is stored. */
        SubscriptionPreview: {
            /** @enum {string} */
            object: "subscription_preview";
            subscription: components["schemas"]["Subscription"];
            /** @description The ledger transactions the call would post (ids are provisional). */
            ledger_transactions: components["schemas"]["LedgerTransaction"][];
            /** @description The invoices it would issue, with their lines (proration, final). */
            invoices: components["schemas"]["Invoice"][];
            /** @description The credit notes it would issue. */
            credit_notes: components["schemas"]["CreditNote"][];
            /** @description The domain event types it would record. */
            events: string[];
        };
        /**
         * @description A customer's consumption per meter and per UTC hour or day: every bucket of the window, zeros included.
         * @example {
         *       "object": "usage_series",
         *       "customer": "cus_01JD8Q0000000000000000",
         *       "meter": null,
         *       "interval": "day",
         *       "from": "2026-05-01T00:00:00Z",
         *       "to": "2026-05-03T00:00:00Z",
         *       "credits": "4.5",
         *       "series": [
         *         {
         *           "meter": "llm_tokens",
         *           "quantity": "2250",
         *           "credits": "4.5",
         *           "data": [
         *             {
         *               "start": "2026-05-01T00:00:00Z",
         *               "quantity": "1500",
         *               "credits": "3"
         *             },
         *             {
         *               "start": "2026-05-02T00:00:00Z",
         *               "quantity": "750",
         *               "credits": "1.5"
         *             }
         *           ]
         *         }
         *       ]
         *     }
         */
        UsageSeries: {
            /** @enum {string} */
            object: "usage_series";
            customer: string;
            /** @description The meter asked for (its code), or null: every meter used in the window. */
            meter: string | null;
            interval: "hour" | "day";
            /**
             * Format: date-time
             * @description The first bucket's start: `from` rounded down to the hour or day (UTC).
             * @example 2026-05-01T00:00:00.000Z
             */
            from: string;
            /**
             * Format: date-time
             * @description The last bucket's end: `to` rounded up to the hour or day (UTC).
             * @example 2026-05-01T00:00:00.000Z
             */
            to: string;
            /**
             * @description All credits charged in the window, over the meters shown.
             * @example 1500
             * @example 12.5
             */
            credits: string;
            /** @description One series per meter, by code. */
            series: {
                /** @description The meter code. */
                meter: string;
                /**
                 * @description The quantity counted in the window.
                 * @example 1500
                 * @example 0.25
                 */
                quantity: string;
                /**
                 * @description The credits charged in the window.
                 * @example 1500
                 * @example 12.5
                 */
                credits: string;
                /** @description One point per bucket, oldest first. */
                data: {
                    /**
                     * Format: date-time
                     * @description RFC 3339 date-time in UTC.
                     * @example 2026-05-01T00:00:00.000Z
                     */
                    start: string;
                    /**
                     * @description The quantity the meter counted in this bucket.
                     * @example 1500
                     * @example 0.25
                     */
                    quantity: string;
                    /**
                     * @description The credits the meter charged in this bucket.
                     * @example 1500
                     * @example 12.5
                     */
                    credits: string;
                }[];
            }[];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listCustomers: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Search: an id, external id or email, or the start of a name or email. */
                q?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of customers. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Customer"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createCustomer: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    external_id?: string;
                    name?: string;
                    email?: string;
                    /** @description ISO 4217 currency code. */
                    currency: string;
                    test_clock?: string;
                    /** @description Consumption beyond grants goes to overage (billed) when true, to debt when false. */
                    overage?: boolean;
                    low_balance_threshold?: string | null;
                    /** @description Payment terms: invoices are due this many days after finalization (default 0: on finalization). */
                    net_days?: number;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The customer created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Customer"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getCustomer: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The customer. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Customer"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    updateCustomer: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name?: string;
                    email?: string;
                    overage?: boolean;
                    low_balance_threshold?: string | null;
                    /** @description Payment terms: invoices are due this many days after finalization (default 0: on finalization). */
                    net_days?: number;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The customer as updated. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Customer"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getBalance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The balance. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Balance"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    authorizeUsage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    credits?: string;
                    event?: {
                        type: string;
                        /**
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-01-31T10:00:00Z
                         */
                        timestamp?: string;
                        properties?: {
                            [key: string]: unknown;
                        };
                    };
                };
            };
        };
        responses: {
            /** @description Whether the usage is allowed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Authorization"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listMeters: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of meters. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Meter"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createMeter: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    code: string;
                    name?: string;
                    event_type: string;
                    filter?: {
                        [key: string]: string | number | boolean;
                    };
                    aggregation: "count" | "sum" | "max" | "unique_count";
                    value_property?: string;
                    /** @description per_unit, graduated (up_to inclusive, null last) or package (partial blocks round up), in credits. */
                    rate: {
                        /** @enum {string} */
                        model: "per_unit";
                        credits_per_unit: string;
                    } | {
                        /** @enum {string} */
                        model: "graduated";
                        tiers: {
                            up_to: (number | string) | null;
                            credits_per_unit: string;
                        }[];
                    } | {
                        /** @enum {string} */
                        model: "package";
                        package_size: number | string;
                        credits_per_package: string;
                    };
                };
            };
        };
        responses: {
            /** @description The meter created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Meter"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMeter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The meter. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Meter"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listGrants: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of grants. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Grant"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createGrant: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    customer: string;
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    credits: string;
                    category: "paid" | "promotional";
                    source: "purchase" | "promotion" | "referral" | "adjustment";
                    /** @description Lower burns first (default 50). */
                    priority?: number;
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    effective_at?: string;
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    expires_at?: string;
                    /** @description An invoice of the customer the credits were bought on (a purchase made through Tally names its own). */
                    invoice?: string;
                    cost_basis?: {
                        /** @description Integer count of minor units of the currency. */
                        amount: number;
                        /** @description ISO 4217 currency code. */
                        currency: string;
                    };
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The grant created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The grant. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    voidGrant: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    reason: string;
                };
            };
        };
        responses: {
            /** @description The grant, voided. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Grant"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    ingestEvents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    events: {
                        /** @description The caller's idempotency key for this event. */
                        id: string;
                        /** @description Customer id or external_id. */
                        customer: string;
                        type: string;
                        /**
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-01-31T10:00:00Z
                         */
                        timestamp?: string;
                        properties?: {
                            [key: string]: unknown;
                        };
                    }[];
                };
            };
        };
        responses: {
            /** @description One result per event, in order. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        results: components["schemas"]["UsageEventResult"][];
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsageEvent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The usage event with its charge. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageEvent"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listUsageEvents: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of usage events. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["UsageEvent"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsageSeries: {
        parameters: {
            query?: {
                /** @description A meter code or id: only this meter. Default: every meter the customer used. */
                meter?: string;
                /**
                 * @description Start of the window, rounded down to the hour or day (UTC). Default: 30 buckets before `to`.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), rounded up to the hour or day (UTC). Default: the customer's now (its test clock, if any).
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Bucket size (default day). At most 1000 buckets per window. */
                interval?: "hour" | "day";
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The series, one per meter. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageSeries"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listHolds: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of holds. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Hold"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createHold: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    customer: string;
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    credits: string;
                    /** @description Seconds until the hold frees itself. */
                    expires_in: number;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The hold created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHold: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The hold. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    captureHold: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    event: {
                        /** @description The caller's idempotency key for this event. */
                        id: string;
                        type: string;
                        /**
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-01-31T10:00:00Z
                         */
                        timestamp?: string;
                        properties?: {
                            [key: string]: unknown;
                        };
                    };
                };
            };
        };
        responses: {
            /** @description The hold, captured, with the result of its event. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description hld_… */
                        id: string;
                        /** @enum {string} */
                        object: "hold";
                        customer: string;
                        /**
                         * @description Credits as an exact decimal string (up to 6 fraction digits).
                         * @example 1500
                         * @example 12.5
                         */
                        credits: string;
                        /**
                         * @description Credits it reserves now: its credits, less what a refund, a chargeback, the expiry or void of the grant that gave them, or the void of its invoice, took back while it was active; 0 once closed.
                         * @example 40
                         */
                        held: string;
                        /** @description active, captured, released or expired. */
                        status: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        expires_at: string;
                        event: string | null;
                        /**
                         * @description Credits as an exact decimal string (up to 6 fraction digits).
                         * @example 1500
                         * @example 12.5
                         */
                        captured: string | null;
                        /** @description Your key-value pairs, returned as given. */
                        metadata: {
                            [key: string]: string;
                        };
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        created_at: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        closed_at: string | null;
                        result: components["schemas"]["UsageEventResult"];
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    releaseHold: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The hold, released. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Hold"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createTestClock: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    frozen_time: string;
                    name?: string;
                };
            };
        };
        responses: {
            /** @description The test clock created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TestClock"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getTestClock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The test clock. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TestClock"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    advanceTestClock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description RFC 3339 date-time in UTC, before 9900-01-01T00:00:00Z: not before the clock's frozen_time and at most 10 years (3,660 days) after it.
                     * @example 2026-01-31T10:00:00Z
                     */
                    frozen_time: string;
                };
            };
        };
        responses: {
            /** @description The test clock: ready at its new time, or still advancing towards advancing_to. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        /** @enum {string} */
                        object: "test_clock";
                        name: string | null;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        frozen_time: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        created_at: string;
                        /** @description advancing while an advance runs as a job; ready once everything due up to its target has run; internal_failure when the due work of the last advance threw (see failure): frozen_time is where it got to, and the next advance runs on from there. */
                        status: "advancing" | "ready" | "internal_failure";
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        advancing_to: string | null;
                        failure: {
                            /** @description The error the due work threw. */
                            message: string;
                            /**
                             * Format: date-time
                             * @description RFC 3339 date-time in UTC.
                             * @example 2026-05-01T00:00:00.000Z
                             */
                            failed_at: string;
                        } | null;
                        /** @description Due work items run on the way; present once the clock is ready. */
                        ran?: number;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listApiKeys: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of API keys. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["ApiKey"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name?: string;
                    scopes: ("admin" | "ingest" | "read")[];
                    /** @description Bind the key to one customer (a portal token, read scope only). */
                    customer?: string;
                };
            };
        };
        responses: {
            /** @description The API key with its secret. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        /** @enum {string} */
                        object: "api_key";
                        name: string | null;
                        scopes: string[];
                        /** @description The customer a portal token is bound to. */
                        customer: string | null;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        created_at: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        revoked_at: string | null;
                        /** @description The key itself; shown only in this reply. */
                        secret: string;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    revokeApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key is revoked. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        /** @enum {string} */
                        object: "api_key";
                        revoked: boolean;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listLedgerTransactions: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of ledger transactions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["LedgerTransaction"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getLedgerTransaction: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The transaction. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LedgerTransaction"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    checkLedger: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description What the rebuild found. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        ok: boolean;
                        unbalanced_transactions: {
                            transaction: string;
                            sum: string;
                            entries: number;
                        }[];
                        balance_discrepancies: {
                            customer: string;
                            account: string;
                            stored: string;
                            summed: string;
                        }[];
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listDomainEvents: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of domain events. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["DomainEvent"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The server and its database answer. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        ok: boolean;
                        /** @example sqlite */
                        database: string;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPlans: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of plan versions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Plan"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createPlan: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    code: string;
                    name: string;
                    /** @description ISO 4217 currency code. */
                    currency: string;
                    interval: "month" | "year";
                    /** @description Integer count of minor units of the currency. */
                    amount: number;
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    included_credits: string;
                    rollover?: {
                        /**
                         * @description Most credits a period carries into the next: what was left of its allowance and rollover at its end, unless frozen then for an unpaid fee.
                         * @example 1500
                         * @example 0.000250
                         */
                        max_credits: string;
                    };
                    overage?: {
                        /** @description Minor units per credit, as a decimal string ("0.1" = $0.001 a credit), up to 10^12 with up to 6 fraction digits. */
                        unit_amount_per_credit: string;
                        /**
                         * @description Most overage credits a period may add through authorization: POST /v1/customers/{id}/authorize answers allowed false, reason overage_limit_reached, beyond it. Ingestion never refuses usage for it; what is consumed is billed.
                         * @example 1500
                         * @example 0.000250
                         */
                        limit_credits?: string;
                    };
                    /** @description Rate overrides per meter code. */
                    rates?: {
                        [key: string]: {
                            /** @enum {string} */
                            model: "per_unit";
                            credits_per_unit: string;
                        } | {
                            /** @enum {string} */
                            model: "graduated";
                            tiers: {
                                up_to: (number | string) | null;
                                credits_per_unit: string;
                            }[];
                        } | {
                            /** @enum {string} */
                            model: "package";
                            package_size: number | string;
                            credits_per_package: string;
                        };
                    };
                };
            };
        };
        responses: {
            /** @description The plan version created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Plan"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPlan: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The plan version. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Plan"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listSubscriptions: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of subscriptions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Subscription"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    customer: string;
                    /** @description Plan code (latest version) or plan version id. */
                    plan: string;
                    /**
                     * @description The anchor of the periods (default now): at most 35 days past (too_old), and not before the customer's previous subscription ended (before_previous_end).
                     * @example 2026-01-31T10:00:00Z
                     */
                    start_at?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The subscription created. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The subscription with its timeline and periods. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionDetail"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    changeSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    plan: string;
                    timing: "immediate" | "period_end";
                };
            };
        };
        responses: {
            /** @description The subscription as changed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    cancelSubscription: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    timing: "immediate" | "period_end";
                };
            };
        };
        responses: {
            /** @description The subscription as canceled. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Subscription"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listInvoices: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
                subscription?: string;
                /**
                 * @description RFC 3339 date-time in UTC.
                 * @example 2026-01-31T10:00:00Z
                 */
                period_start?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of invoices. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Invoice"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getInvoice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invoice with its payments. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvoiceDetail"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    recordPayment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Minor units received. */
                    amount: number;
                    provider?: string;
                    provider_payment_id?: string;
                };
            };
        };
        responses: {
            /** @description The payment recorded. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PaymentResult"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    voidInvoice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invoice, voided. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invoice"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    purchaseCredits: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    credits: string;
                    /** @description Integer count of minor units of the currency. */
                    amount: number;
                    priority?: number;
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    expires_at?: string;
                };
            };
        };
        responses: {
            /** @description The invoice and the grant it will activate. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Purchase"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    setAutoTopUp: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    auto_top_up: {
                        /**
                         * @description Credits as a decimal string, up to 6 fraction digits.
                         * @example 1500
                         * @example 0.000250
                         */
                        threshold: string;
                        /**
                         * @description Credits as a decimal string, up to 6 fraction digits.
                         * @example 1500
                         * @example 0.000250
                         */
                        credits: string;
                        /** @description Integer count of minor units of the currency. */
                        amount: number;
                    } | null;
                };
            };
        };
        responses: {
            /** @description The customer with its auto top-up settings. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Customer"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listRefunds: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of refunds. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Refund"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createRefund: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    invoice: string;
                    /** @description Minor units returned to the customer. */
                    amount: number;
                    reason: string;
                    credit_policy: "proportional" | "full" | "unused_only" | "none";
                    /** @description What happens to credits that cannot be revoked because they were spent (default: the server setting). */
                    shortfall?: "debt" | "write_off";
                    /** @description Refunds: `cash` (default) returns the money; `balance` keeps it as a credit note, refundable unless a note that is not refundable (goodwill) paid for it. */
                    to?: "cash" | "balance";
                };
            };
        };
        responses: {
            /** @description The refund recorded. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Refund"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getRefund: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The refund. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Refund"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listChargebacks: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of chargebacks. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Chargeback"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createChargeback: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    invoice: string;
                    /** @description Minor units returned to the customer. */
                    amount: number;
                    reason: string;
                    credit_policy: "proportional" | "full" | "unused_only" | "none";
                    /** @description What happens to credits that cannot be revoked because they were spent (default: the server setting). */
                    shortfall?: "debt" | "write_off";
                    /** @description Refunds: `cash` (default) returns the money; `balance` keeps it as a credit note, refundable unless a note that is not refundable (goodwill) paid for it. */
                    to?: "cash" | "balance";
                };
            };
        };
        responses: {
            /** @description The chargeback recorded. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Chargeback"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getChargeback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The chargeback. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Chargeback"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    closeChargeback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    outcome: "won" | "lost";
                };
            };
        };
        responses: {
            /** @description The chargeback, closed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Chargeback"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getRevenueReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getUsageReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOverageReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getRefundsReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPromotionalReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDeferredRevenueReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getCreditNotesReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getAgingReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Report"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getReconciliation: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every check and every discrepancy. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Reconciliation"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    previewRefund: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    invoice: string;
                    /** @description Minor units returned to the customer. */
                    amount: number;
                    reason: string;
                    credit_policy: "proportional" | "full" | "unused_only" | "none";
                    /** @description What happens to credits that cannot be revoked because they were spent (default: the server setting). */
                    shortfall?: "debt" | "write_off";
                    /** @description Refunds: `cash` (default) returns the money; `balance` keeps it as a credit note, refundable unless a note that is not refundable (goodwill) paid for it. */
                    to?: "cash" | "balance";
                };
            };
        };
        responses: {
            /** @description The refund as it would be recorded. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RefundPreview"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    previewSubscriptionChange: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    plan: string;
                    timing: "immediate" | "period_end";
                };
            };
        };
        responses: {
            /** @description The change as it would be made. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionPreview"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    previewSubscriptionCancel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    timing: "immediate" | "period_end";
                };
            };
        };
        responses: {
            /** @description The cancellation as it would be made. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SubscriptionPreview"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The calling key. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "session";
                        scopes: string[];
                        /** @description The customer a portal token is bound to; null for other keys. */
                        customer: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listCreditNotes: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of credit notes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["CreditNote"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createCreditNote: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Customer id or external_id. */
                    customer: string;
                    /** @description Minor units owed to the customer, kept as balance. */
                    amount: number;
                    /** @description When given, must be the customer's currency. */
                    currency?: string;
                    reason: string;
                    /** @description Whether the note may be paid out in cash (default false: balance only). */
                    refundable?: boolean;
                    /** @description An invoice of the customer the note relates to (not void). */
                    invoice?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The credit note issued. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreditNote"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listCustomerCreditNotes: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of credit notes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["CreditNote"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getCreditNote: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The credit note with its uses. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreditNote"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    refundCreditNote: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Minor units to pay out (default: all that remains). */
                    amount?: number;
                };
            };
        };
        responses: {
            /** @description The credit note after the payout. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreditNote"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMoneyBalance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The money balance. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MoneyBalance"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    applyBalanceToInvoice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invoice with the balance applied. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invoice"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listUnmatchedStripeEvents: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Stripe events kept for review, oldest first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: {
                            /** @description The Stripe event id (`evt_…`). */
                            id: string;
                            /** @enum {string} */
                            object: "stripe_event";
                            /** @example invoice.paid */
                            type: string;
                            /** @description `processed` (applied), `ignored` (a type Tally does not act on), `unmatched` (no Tally invoice), `rejected` (the flow refused it), `resolved` (one kept for review that an operator settled; `outcome.resolution` says how). */
                            status: "processed" | "ignored" | "unmatched" | "rejected" | "resolved";
                            /** @description The id of the Stripe object the event is about. */
                            object_id: string | null;
                            /** @description The Tally invoice it was matched to. */
                            invoice: string | null;
                            /** @description What the event did: the payment, refund or chargeback ids it recorded, or why it was not applied. */
                            outcome: {
                                [key: string]: unknown;
                            };
                            /** Format: date-time */
                            received_at: string;
                            /** @description The event as Stripe sent it. */
                            payload: {
                                [key: string]: unknown;
                            };
                        }[];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    resolveStripeEvent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description How it was settled outside Tally (a refund in Stripe, a payment matched by hand). */
                    note: string;
                };
            };
        };
        responses: {
            /** @description The event, resolved. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description The Stripe event id (`evt_…`). */
                        id: string;
                        /** @enum {string} */
                        object: "stripe_event";
                        /** @example invoice.paid */
                        type: string;
                        /** @description `processed` (applied), `ignored` (a type Tally does not act on), `unmatched` (no Tally invoice), `rejected` (the flow refused it), `resolved` (one kept for review that an operator settled; `outcome.resolution` says how). */
                        status: "processed" | "ignored" | "unmatched" | "rejected" | "resolved";
                        /** @description The id of the Stripe object the event is about. */
                        object_id: string | null;
                        /** @description The Tally invoice it was matched to. */
                        invoice: string | null;
                        /** @description What the event did: the payment, refund or chargeback ids it recorded, or why it was not applied. */
                        outcome: {
                            [key: string]: unknown;
                        };
                        /** Format: date-time */
                        received_at: string;
                        /** @description The event as Stripe sent it. */
                        payload: {
                            [key: string]: unknown;
                        };
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listWebhookEndpoints: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of webhook endpoints. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["WebhookEndpoint"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description https, or http to a public address.
                     * @example https://example.com/webhooks/tally
                     */
                    url: string;
                    /**
                     * @description The event types to receive, or `["*"]` for all.
                     * @example [
                     *       "*"
                     *     ]
                     * @example [
                     *       "credits.balance_low",
                     *       "invoice.paid"
                     *     ]
                     */
                    event_types?: string[];
                    description?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The endpoint with its signing secret, shown only here. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description whk_… */
                        id: string;
                        /** @enum {string} */
                        object: "webhook_endpoint";
                        url: string;
                        description: string | null;
                        /** @description The event types delivered, or `["*"]` for all. */
                        event_types: string[];
                        disabled: boolean;
                        /** @description `disabled_by_user`, or `failing` (5 days of failed deliveries). */
                        disabled_reason: string | null;
                        /**
                         * Format: date-time
                         * @description After a rotation: until when the previous secret still signs.
                         */
                        previous_secret_expires_at: string | null;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        failing_since: string | null;
                        /** @description Your key-value pairs, returned as given. */
                        metadata: {
                            [key: string]: string;
                        };
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        created_at: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        updated_at: string;
                        /** @description The signing secret (`whsec_…`). Shown in this reply only; stored encrypted. */
                        secret: string;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The webhook endpoint. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    updateWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description https, or http to a public address.
                     * @example https://example.com/webhooks/tally
                     */
                    url?: string;
                    /**
                     * @description The event types to receive, or `["*"]` for all.
                     * @example [
                     *       "*"
                     *     ]
                     * @example [
                     *       "credits.balance_low",
                     *       "invoice.paid"
                     *     ]
                     */
                    event_types?: string[];
                    description?: string | null;
                    disabled?: boolean;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The endpoint as updated. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoint is deleted. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        id: string;
                        /** @enum {string} */
                        object: "webhook_endpoint";
                        /** @enum {boolean} */
                        deleted: true;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    rotateWebhookSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoint with its new secret, shown only here. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description whk_… */
                        id: string;
                        /** @enum {string} */
                        object: "webhook_endpoint";
                        url: string;
                        description: string | null;
                        /** @description The event types delivered, or `["*"]` for all. */
                        event_types: string[];
                        disabled: boolean;
                        /** @description `disabled_by_user`, or `failing` (5 days of failed deliveries). */
                        disabled_reason: string | null;
                        /**
                         * Format: date-time
                         * @description After a rotation: until when the previous secret still signs.
                         */
                        previous_secret_expires_at: string | null;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        failing_since: string | null;
                        /** @description Your key-value pairs, returned as given. */
                        metadata: {
                            [key: string]: string;
                        };
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        created_at: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        updated_at: string;
                        /** @description The signing secret (`whsec_…`). Shown in this reply only; stored encrypted. */
                        secret: string;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of deliveries, oldest first (newest first with order=desc). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["WebhookDelivery"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    retryWebhookDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The delivery, due now. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDelivery"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    replayWebhooks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /**
                     * @description RFC 3339 date-time in UTC.
                     * @example 2026-01-31T10:00:00Z
                     */
                    since: string;
                };
            };
        };
        responses: {
            /** @description How many deliveries the replay created. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "webhook_replay";
                        endpoint: string;
                        /**
                         * Format: date-time
                         * @description RFC 3339 date-time in UTC.
                         * @example 2026-05-01T00:00:00.000Z
                         */
                        since: string;
                        /** @description Deliveries created, one per event the endpoint wants. */
                        deliveries: number;
                        /** @description True when more events remain than one replay sends (10,000): replay again from a later time. */
                        truncated: boolean;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPaymentAttempts: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The attempts of the invoice, oldest first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: {
                            /** @description pat_… */
                            id: string;
                            /** @enum {string} */
                            object: "payment_attempt";
                            invoice: string;
                            customer: string;
                            outcome: "succeeded" | "failed";
                            failure_code: string | null;
                            /** @description 1 for the first attempt on the invoice. */
                            attempt: number;
                            source: "api" | "dunning" | "provider";
                            payment: string | null;
                            /** Format: date-time */
                            created_at: string;
                        }[];
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    recordPaymentAttempt: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    outcome: "succeeded" | "failed";
                    /** @description Why it failed (card_declined, insufficient_funds…). */
                    failure_code?: string;
                    /** @description Succeeded only: minor units received (default: all that is due). */
                    amount?: number;
                    provider?: string;
                    provider_payment_id?: string;
                };
            };
        };
        responses: {
            /** @description The attempt, with the invoice as it now stands. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @description pat_… */
                        id: string;
                        /** @enum {string} */
                        object: "payment_attempt";
                        invoice: string;
                        customer: string;
                        outcome: "succeeded" | "failed";
                        failure_code: string | null;
                        /** @description 1 for the first attempt on the invoice. */
                        attempt: number;
                        source: "api" | "dunning" | "provider";
                        payment: string | null;
                        /** Format: date-time */
                        created_at: string;
                        invoice_detail: components["schemas"]["Invoice"];
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPromotions: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of campaigns. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Promotion"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createPromotion: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    name?: string;
                    /** @description Matched without regard to case. */
                    code?: string;
                    codes?: {
                        /** @description Single-use codes to generate (at most 10000). */
                        count: number;
                        prefix?: string;
                    };
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    credits: string;
                    /** @description Burn-down priority of the grants (default 50). */
                    priority?: number;
                    /** @description Seconds after redemption until the grant expires. */
                    grant_expires_in?: number;
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    valid_from?: string;
                    /**
                     * @description RFC 3339 date-time in UTC, from 0100-01-01T00:00:00Z and before 9900-01-01T00:00:00Z.
                     * @example 2026-01-31T10:00:00Z
                     */
                    valid_until?: string;
                    max_redemptions?: number;
                    /** @description Default 1. */
                    max_per_customer?: number;
                    /** @description Only customers with no money paid, no subscription ever and no earlier redemption. */
                    new_customers_only?: boolean;
                    /** @description Only subscribers of these plan codes. */
                    plans?: string[];
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The campaign, with its terms. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promotion"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    redeemPromotion: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Matched without regard to case. */
                    code: string;
                    /** @description Customer id or external_id. */
                    customer: string;
                };
            };
        };
        responses: {
            /** @description The redemption and the grant it made. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromotionRedemption"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPromotionRedemptions: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
                promotion?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of redemptions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["PromotionRedemption"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getPromotion: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The campaign. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promotion"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deactivatePromotion: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The campaign, inactive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Promotion"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPromotionCodes: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of codes (JSON), or every code (CSV). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["PromotionCode"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    promotionsReport: {
        parameters: {
            query?: {
                /**
                 * @description Start of the window (inclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                from?: string;
                /**
                 * @description End of the window (exclusive), RFC 3339. Open when left out.
                 * @example 2026-01-31T10:00:00Z
                 */
                to?: string;
                /** @description Only this customer (id or external_id). */
                customer?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report (JSON), or its rows (CSV). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PromotionsReport"];
                    "text/csv": string;
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listReferrals: {
        parameters: {
            query?: {
                /** @description Page size, 1 to 100 (default 20); another is `400 validation_failed` with `limit` at fault (`out_of_range`). */
                limit?: string;
                /** @description The cursor: the last id of the previous page (its `next_cursor`). It must name a record of this list, filters included (a record that has since left a filter it can leave, such as a Stripe event resolved or a customer renamed out of a search, still continues it); another is `400 validation_failed` with `starting_after` at fault (`cursor_not_found`). */
                starting_after?: string;
                /** @description `desc`: newest first, and `starting_after` continues towards older records. Default `asc` (the order they were written). */
                order?: "asc" | "desc";
                /** @description Only this customer's records (its id or external_id). */
                customer?: string;
                referrer?: string;
                referred?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of referrals. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {string} */
                        object: "list";
                        data: components["schemas"]["Referral"][];
                        has_more: boolean;
                        /** @description Pass as `starting_after` to read the next page; null on the last page. */
                        next_cursor: string | null;
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createReferral: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description Customer id or external_id. */
                    referrer: string;
                    /** @description Customer id or external_id. */
                    referred: string;
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    reward_credits: string;
                    /**
                     * @description Credits as a decimal string, up to 6 fraction digits.
                     * @example 1500
                     * @example 0.000250
                     */
                    referred_credits?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                };
            };
        };
        responses: {
            /** @description The referral, pending until the first paid invoice. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Referral"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getReferral: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The referral. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Referral"];
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    receiveStripeWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The acknowledgement Stripe receives. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @enum {boolean} */
                        received: true;
                        /** @description The Stripe event id. */
                        event: string;
                        /** @description True when this event id was received before; nothing was applied again. */
                        duplicate: boolean;
                        /** @description `processed` (applied), `ignored` (a type Tally does not act on), `unmatched` (no Tally invoice), `rejected` (the flow refused it), `resolved` (one kept for review that an operator settled; `outcome.resolution` says how). */
                        status: "processed" | "ignored" | "unmatched" | "rejected" | "resolved";
                        /** @description The Tally invoice the event was matched to. */
                        invoice: string | null;
                        /** @description What the event did: the payment, refund or chargeback ids it recorded, or why it was not applied. */
                        outcome: {
                            [key: string]: unknown;
                        };
                    };
                };
            };
            /** @description An error with its stable code. */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description An error with its stable code. */
            "5XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
