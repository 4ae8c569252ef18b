/**
 * Governance events: proposals, votes, merges and forks of the governance process, and the webhooks
 * that report them. All are module-owned (published by a governance module that lists them in its
 * manifest's `publishes`) and lossless.
 *
 * @module
 */
import type { EventSpec } from "../catalog.ts";

const base = { category: "governance", owner: "module", delivery: "lossless" } as const;

/**
 * The governance category.
 *
 * @example
 * ```ts
 * import { GOVERNANCE_EVENTS } from "@blvm/node/protocol";
 * console.log(GOVERNANCE_EVENTS.GovernanceProposalVoted.owner); // "module"
 * ```
 */
export const GOVERNANCE_EVENTS = {
  GovernanceProposalCreated: {
    ...base,
    doc: "A governance proposal was opened for pull request `pr_number` of `repository`, at review tier `tier`.",
    fields: { proposal_id: "string", repository: "string", pr_number: "uint", tier: "string" },
  },
  GovernanceProposalVoted: {
    ...base,
    doc: "`voter` cast a vote on a governance proposal.",
    fields: { proposal_id: "string", voter: "string", vote: ["approve", "reject", "abstain"] },
  },
  GovernanceProposalMerged: {
    ...base,
    doc: "A governance proposal's pull request was merged.",
    fields: { proposal_id: "string", repository: "string", pr_number: "uint" },
  },
  GovernanceForkDetected: {
    ...base,
    doc: "A governance fork was detected: ruleset `ruleset_version` has been adopted by `adoption_count` nodes.",
    fields: { fork_id: "string", ruleset_version: "string", adoption_count: "uint" },
  },
  WebhookSent: {
    ...base,
    doc: "A webhook reporting `event_type` was delivered to `webhook_url`.",
    fields: { webhook_url: "string", event_type: "string", success: "bool" },
  },
  WebhookFailed: {
    ...base,
    doc: "A webhook reporting `event_type` could not be delivered to `webhook_url`.",
    fields: { webhook_url: "string", event_type: "string", error: "string" },
  },
} as const satisfies Record<string, EventSpec>;
