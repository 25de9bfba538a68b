/**
 * Where the requester lives decides which law answers the request. One row per region; a new region is a new row.
 */
import type { Regime } from "#db/schema/requests.ts";

export type Region = { code: string; label: string; regime: Regime; jurisdiction: string };

export const regions: readonly Region[] = [
  { code: "EU", label: "European Union / EEA", regime: "gdpr", jurisdiction: "EU" },
  { code: "UK", label: "United Kingdom", regime: "uk_gdpr", jurisdiction: "UK" },
  { code: "US-CA", label: "California, USA", regime: "ccpa", jurisdiction: "US-CA" },
  { code: "US-VA", label: "Virginia, USA", regime: "us_state", jurisdiction: "US-VA" },
  { code: "US-CO", label: "Colorado, USA", regime: "us_state", jurisdiction: "US-CO" },
  { code: "US-CT", label: "Connecticut, USA", regime: "us_state", jurisdiction: "US-CT" },
];

export const regionCodes = regions.map((r) => r.code) as [string, ...string[]];

export function regionByCode(code: string): Region | undefined {
  return regions.find((r) => r.code === code);
}

export const regimeLabels: Record<Regime, string> = {
  gdpr: "GDPR",
  uk_gdpr: "UK GDPR",
  ccpa: "CCPA / CPRA",
  us_state: "US state privacy law",
};
