/**
 * The request types as people meet them: label, URL slug and, in plain words, what will happen.
 * Browser-safe (no server imports), shared by pages, emails and the staff console.
 */
import type { Regime, RequestType } from "#db/schema/requests.ts";

type TypeInfo = {
  label: string;
  slug: string;
  /** What we will do, shown before the requester submits. */
  summary: string;
  /** What happens next, shown after verification and in the acknowledgement email. */
  nextSteps: string;
  /** The laws under which the type is offered. */
  regimes: readonly Regime[];
};

const ALL: readonly Regime[] = ["gdpr", "uk_gdpr", "ccpa", "us_state"];

export const requestTypeInfo: Record<RequestType, TypeInfo> = {
  access: {
    label: "Access my data",
    slug: "access",
    summary:
      "We will send you a copy of the personal data we hold about you, with what we use it for, who we share it with, how long we keep it and where it came from.",
    nextSteps: "We are gathering your data from our systems. When it is ready you can download it from your private status page.",
    regimes: ALL,
  },
  portability: {
    label: "Export my data",
    slug: "portability",
    summary: "We will give you the data you provided to us in a machine-readable format (JSON) that you can take to another service.",
    nextSteps: "We are preparing a machine-readable export. When it is ready you can download it from your private status page.",
    regimes: ALL,
  },
  deletion: {
    label: "Delete my data",
    slug: "deletion",
    summary:
      "We will delete the personal data we hold about you, except what the law requires us to keep (for example invoices for tax purposes). We will tell you what we deleted and what we kept and why.",
    nextSteps: "We are reviewing your request. After we delete your data we will send you a summary of what was deleted and what we had to keep.",
    regimes: ALL,
  },
  correction: {
    label: "Correct my data",
    slug: "correction",
    summary: "Tell us what is wrong and what is right. We will correct it everywhere we hold it.",
    nextSteps: "A member of our privacy team will check the correction and update our systems.",
    regimes: ALL,
  },
  opt_out: {
    label: "Do not sell or share my data",
    slug: "opt-out",
    summary:
      "We will stop selling or sharing your personal data for cross-context behavioural advertising. No verification is needed; we act within 15 business days.",
    nextSteps: "We are applying your opt-out in our systems.",
    regimes: ["ccpa", "us_state"],
  },
  limit_sensitive: {
    label: "Limit use of my sensitive data",
    slug: "limit-sensitive",
    summary: "We will use your sensitive personal information only for what is necessary to provide the service you asked for.",
    nextSteps: "We are applying the limit in our systems.",
    regimes: ["ccpa"],
  },
  objection: {
    label: "Object to processing",
    slug: "objection",
    summary: "Tell us which use of your data you object to and why. Our privacy team will review it and stop that processing unless we have compelling legitimate grounds.",
    nextSteps: "A member of our privacy team will review your objection and reply.",
    regimes: ["gdpr", "uk_gdpr"],
  },
  restriction: {
    label: "Restrict processing",
    slug: "restriction",
    summary: "Ask us to keep your data but stop using it while, for example, its accuracy is checked. Our privacy team will review your request.",
    nextSteps: "A member of our privacy team will review your request and reply.",
    regimes: ["gdpr", "uk_gdpr"],
  },
};

export const requestTypeLabels = Object.fromEntries(
  Object.entries(requestTypeInfo).map(([k, v]) => [k, v.label]),
) as Record<RequestType, string>;

export function requestTypeFromSlug(slug: string): RequestType | undefined {
  return (Object.keys(requestTypeInfo) as RequestType[]).find((t) => requestTypeInfo[t].slug === slug);
}

/** The order the types are offered in. */
export const offeredTypes: RequestType[] = ["access", "portability", "deletion", "correction", "opt_out", "limit_sensitive", "objection", "restriction"];
