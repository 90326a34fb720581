// Generated from the OpenAPI document by `npm run generate:sdk`. Do not edit.
export const operationTable = {
  advanceTestClock: {
    method: "POST",
    path: "/v1/test_clocks/{id}/advance",
    list: false
  },
  applyBalanceToInvoice: {
    method: "POST",
    path: "/v1/invoices/{id}/apply_balance",
    list: false
  },
  authorizeUsage: {
    method: "POST",
    path: "/v1/customers/{id}/authorize",
    list: false
  },
  cancelSubscription: {
    method: "POST",
    path: "/v1/subscriptions/{id}/cancel",
    list: false
  },
  captureHold: {
    method: "POST",
    path: "/v1/holds/{id}/capture",
    list: false
  },
  changeSubscription: {
    method: "POST",
    path: "/v1/subscriptions/{id}/change",
    list: false
  },
  checkLedger: {
    method: "GET",
    path: "/v1/ledger/check",
    list: false
  },
  closeChargeback: {
    method: "POST",
    path: "/v1/chargebacks/{id}/close",
    list: false
  },
  createApiKey: {
    method: "POST",
    path: "/v1/api_keys",
    list: false
  },
  createChargeback: {
    method: "POST",
    path: "/v1/chargebacks",
    list: false
  },
  createCreditNote: {
    method: "POST",
    path: "/v1/credit_notes",
    list: false
  },
  createCustomer: {
    method: "POST",
    path: "/v1/customers",
    list: false
  },
  createGrant: {
    method: "POST",
    path: "/v1/grants",
    list: false
  },
  createHold: {
    method: "POST",
    path: "/v1/holds",
    list: false
  },
  createMeter: {
    method: "POST",
    path: "/v1/meters",
    list: false
  },
  createPlan: {
    method: "POST",
    path: "/v1/plans",
    list: false
  },
  createPromotion: {
    method: "POST",
    path: "/v1/promotions",
    list: false
  },
  createReferral: {
    method: "POST",
    path: "/v1/referrals",
    list: false
  },
  createRefund: {
    method: "POST",
    path: "/v1/refunds",
    list: false
  },
  createSubscription: {
    method: "POST",
    path: "/v1/subscriptions",
    list: false
  },
  createTestClock: {
    method: "POST",
    path: "/v1/test_clocks",
    list: false
  },
  createWebhookEndpoint: {
    method: "POST",
    path: "/v1/webhook_endpoints",
    list: false
  },
  deactivatePromotion: {
    method: "POST",
    path: "/v1/promotions/{id}/deactivate",
    list: false
  },
  deleteWebhookEndpoint: {
    method: "DELETE",
    path: "/v1/webhook_endpoints/{id}",
    list: false
  },
  getAgingReport: {
    method: "GET",
    path: "/v1/reports/aging",
    list: false
  },
  getBalance: {
    method: "GET",
    path: "/v1/customers/{id}/balance",
    list: false
  },
  getChargeback: {
    method: "GET",
    path: "/v1/chargebacks/{id}",
    list: false
  },
  getCreditNote: {
    method: "GET",
    path: "/v1/credit_notes/{id}",
    list: false
  },
  getCreditNotesReport: {
    method: "GET",
    path: "/v1/reports/credit_notes",
    list: false
  },
  getCustomer: {
    method: "GET",
    path: "/v1/customers/{id}",
    list: false
  },
  getDeferredRevenueReport: {
    method: "GET",
    path: "/v1/reports/deferred_revenue",
    list: false
  },
  getGrant: {
    method: "GET",
    path: "/v1/grants/{id}",
    list: false
  },
  getHealth: {
    method: "GET",
    path: "/healthz",
    list: false
  },
  getHold: {
    method: "GET",
    path: "/v1/holds/{id}",
    list: false
  },
  getInvoice: {
    method: "GET",
    path: "/v1/invoices/{id}",
    list: false
  },
  getLedgerTransaction: {
    method: "GET",
    path: "/v1/ledger/transactions/{id}",
    list: false
  },
  getMeter: {
    method: "GET",
    path: "/v1/meters/{id}",
    list: false
  },
  getMoneyBalance: {
    method: "GET",
    path: "/v1/customers/{id}/money_balance",
    list: false
  },
  getOverageReport: {
    method: "GET",
    path: "/v1/reports/overage",
    list: false
  },
  getPlan: {
    method: "GET",
    path: "/v1/plans/{id}",
    list: false
  },
  getPromotion: {
    method: "GET",
    path: "/v1/promotions/{id}",
    list: false
  },
  getPromotionalReport: {
    method: "GET",
    path: "/v1/reports/promotional",
    list: false
  },
  getReconciliation: {
    method: "GET",
    path: "/v1/reconciliation",
    list: false
  },
  getReferral: {
    method: "GET",
    path: "/v1/referrals/{id}",
    list: false
  },
  getRefund: {
    method: "GET",
    path: "/v1/refunds/{id}",
    list: false
  },
  getRefundsReport: {
    method: "GET",
    path: "/v1/reports/refunds",
    list: false
  },
  getRevenueReport: {
    method: "GET",
    path: "/v1/reports/revenue",
    list: false
  },
  getSession: {
    method: "GET",
    path: "/v1/session",
    list: false
  },
  getSubscription: {
    method: "GET",
    path: "/v1/subscriptions/{id}",
    list: false
  },
  getTestClock: {
    method: "GET",
    path: "/v1/test_clocks/{id}",
    list: false
  },
  getUsageEvent: {
    method: "GET",
    path: "/v1/usage_events/{id}",
    list: false
  },
  getUsageReport: {
    method: "GET",
    path: "/v1/reports/usage",
    list: false
  },
  getUsageSeries: {
    method: "GET",
    path: "/v1/customers/{id}/usage_series",
    list: false
  },
  getWebhookEndpoint: {
    method: "GET",
    path: "/v1/webhook_endpoints/{id}",
    list: false
  },
  ingestEvents: {
    method: "POST",
    path: "/v1/events",
    list: false
  },
  listApiKeys: {
    method: "GET",
    path: "/v1/api_keys",
    list: true
  },
  listChargebacks: {
    method: "GET",
    path: "/v1/chargebacks",
    list: true
  },
  listCreditNotes: {
    method: "GET",
    path: "/v1/credit_notes",
    list: true
  },
  listCustomerCreditNotes: {
    method: "GET",
    path: "/v1/customers/{id}/credit_notes",
    list: true
  },
  listCustomers: {
    method: "GET",
    path: "/v1/customers",
    list: true
  },
  listDomainEvents: {
    method: "GET",
    path: "/v1/domain_events",
    list: true
  },
  listGrants: {
    method: "GET",
    path: "/v1/grants",
    list: true
  },
  listHolds: {
    method: "GET",
    path: "/v1/holds",
    list: true
  },
  listInvoices: {
    method: "GET",
    path: "/v1/invoices",
    list: true
  },
  listLedgerTransactions: {
    method: "GET",
    path: "/v1/ledger/transactions",
    list: true
  },
  listMeters: {
    method: "GET",
    path: "/v1/meters",
    list: true
  },
  listPaymentAttempts: {
    method: "GET",
    path: "/v1/invoices/{id}/payment_attempts",
    list: false
  },
  listPlans: {
    method: "GET",
    path: "/v1/plans",
    list: true
  },
  listPromotionCodes: {
    method: "GET",
    path: "/v1/promotions/{id}/codes",
    list: true
  },
  listPromotionRedemptions: {
    method: "GET",
    path: "/v1/promotions/redemptions",
    list: true
  },
  listPromotions: {
    method: "GET",
    path: "/v1/promotions",
    list: true
  },
  listReferrals: {
    method: "GET",
    path: "/v1/referrals",
    list: true
  },
  listRefunds: {
    method: "GET",
    path: "/v1/refunds",
    list: true
  },
  listSubscriptions: {
    method: "GET",
    path: "/v1/subscriptions",
    list: true
  },
  listUnmatchedStripeEvents: {
    method: "GET",
    path: "/v1/integrations/stripe/unmatched",
    list: true
  },
  listUsageEvents: {
    method: "GET",
    path: "/v1/usage_events",
    list: true
  },
  listWebhookDeliveries: {
    method: "GET",
    path: "/v1/webhook_endpoints/{id}/deliveries",
    list: true
  },
  listWebhookEndpoints: {
    method: "GET",
    path: "/v1/webhook_endpoints",
    list: true
  },
  previewRefund: {
    method: "POST",
    path: "/v1/refunds/preview",
    list: false
  },
  previewSubscriptionCancel: {
    method: "POST",
    path: "/v1/subscriptions/{id}/cancel/preview",
    list: false
  },
  previewSubscriptionChange: {
    method: "POST",
    path: "/v1/subscriptions/{id}/change/preview",
    list: false
  },
  promotionsReport: {
    method: "GET",
    path: "/v1/reports/promotions",
    list: false
  },
  purchaseCredits: {
    method: "POST",
    path: "/v1/customers/{id}/purchases",
    list: false
  },
  receiveStripeWebhook: {
    method: "POST",
    path: "/v1/integrations/stripe/webhook",
    list: false
  },
  recordPayment: {
    method: "POST",
    path: "/v1/invoices/{id}/payments",
    list: false
  },
  recordPaymentAttempt: {
    method: "POST",
    path: "/v1/invoices/{id}/payment_attempts",
    list: false
  },
  redeemPromotion: {
    method: "POST",
    path: "/v1/promotions/redeem",
    list: false
  },
  refundCreditNote: {
    method: "POST",
    path: "/v1/credit_notes/{id}/refund",
    list: false
  },
  releaseHold: {
    method: "POST",
    path: "/v1/holds/{id}/release",
    list: false
  },
  replayWebhooks: {
    method: "POST",
    path: "/v1/webhook_endpoints/{id}/replay",
    list: false
  },
  resolveStripeEvent: {
    method: "POST",
    path: "/v1/integrations/stripe/events/{id}/resolve",
    list: false
  },
  retryWebhookDelivery: {
    method: "POST",
    path: "/v1/webhook_deliveries/{id}/retry",
    list: false
  },
  revokeApiKey: {
    method: "POST",
    path: "/v1/api_keys/{id}/revoke",
    list: false
  },
  rotateWebhookSecret: {
    method: "POST",
    path: "/v1/webhook_endpoints/{id}/rotate_secret",
    list: false
  },
  setAutoTopUp: {
    method: "POST",
    path: "/v1/customers/{id}/auto_top_up",
    list: false
  },
  updateCustomer: {
    method: "POST",
    path: "/v1/customers/{id}",
    list: false
  },
  updateWebhookEndpoint: {
    method: "POST",
    path: "/v1/webhook_endpoints/{id}",
    list: false
  },
  voidGrant: {
    method: "POST",
    path: "/v1/grants/{id}/void",
    list: false
  },
  voidInvoice: {
    method: "POST",
    path: "/v1/invoices/{id}/void",
    list: false
  }
} as const;
