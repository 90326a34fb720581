import { debtSettlement, grantExpiry, holdExpiry, type DueWorkKind } from './due-work.ts';
import { autoTopUp } from './purchases.ts';
import { subscriptionRenewal } from './renew-subscription.ts';
import { subscriptionClosing } from './close-subscription.ts';
import { dunningRetry, invoicePastDue } from './dunning.ts';

/**
 * Everything the scheduler and test clocks run, in tie order: at one instant holds expire first,
 * then renewals (which read the old allowance for rollover), then the closing corrections of
 * ended subscriptions (billing beside the renewals), then grant expiries, then debt
 * settlement from credits that became usable, then top-ups (which see the balance after all of that),
 * then invoices whose due date passed and dunning retries.
 */
export const allDueWork: DueWorkKind[] = [holdExpiry, subscriptionRenewal, subscriptionClosing, grantExpiry, debtSettlement, autoTopUp, invoicePastDue, dunningRetry];
