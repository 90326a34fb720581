export { TallyClient, createTally, type Tally, type TallyOptions, type CallOptions, type Input, type Reply, type OperationId, type Methods, type Schemas } from './client.ts';
export { TallyError, TallyNetworkError, type FieldError } from './errors.ts';
export { verifyWebhook, signWebhook, WebhookVerificationError, webhookToleranceSeconds, type WebhookMessage } from './webhooks.ts';
export type { components, operations, paths } from './openapi.ts';
export { operationTable } from './operations.ts';
