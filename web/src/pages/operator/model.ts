// The platform operator's and a local government's own screens (issue 16 item 1, issue 17
// item 1): who may open and act on them (the API's policy table, api/policy.py), the
// platforms a local government runs, and the body of a dispute's resolution.
import type { Me, Schemas } from "../../api/client";

export type Platform = Schemas["PlatformOut"];
export type Dispute = Schemas["DisputeOut"];
export type Outcome = Schemas["ResolutionIn"]["outcome"];
export const OUTCOMES: readonly Outcome[] = ["rejected", "upheld"];

type Screen = "platformAdmissions" | "disputes";

/** May `me` open `screen` (its list): platforms.applications.list for a local government's
 * admin, clerk and auditor; disputes.read for the operator's admin, clerk and auditor. */
export function mayOpen(me: Me | null, screen: Screen): boolean {
  if (!me) return false;
  const reader = ["admin", "clerk", "auditor"].includes(me.role);
  const type = screen === "platformAdmissions" ? "local_government" : "platform_operator";
  return reader && me.org_types.includes(type);
}

/** May `me` act there (platforms.applications.review, items.resolve_dispute,
 * applications.review): the organisation's admin only. */
export function mayDecide(me: Me | null, screen: Screen | "admissions"): boolean {
  if (!me || me.role !== "admin") return false;
  const type = screen === "platformAdmissions" ? "local_government" : "platform_operator";
  return me.org_types.includes(type);
}

/** The platforms `orgId` runs (it is their operator), by name. */
export function runBy(platforms: readonly Platform[], orgId: string): Platform[] {
  return platforms.filter((p) => p.operator_org_id === orgId).sort((a, b) => a.name.localeCompare(b.name));
}

/** The platform to show: the one asked for when it is among `mine`, else the first. */
export function chosenPlatform(mine: readonly Platform[], asked: string | null): Platform | null {
  return mine.find((p) => p.id === asked) ?? mine[0] ?? null;
}

/** The resolution's body (the reason trimmed), or null when the outcome or reason is missing. */
export function resolutionBody(outcome: string | undefined, reason: string | undefined): Schemas["ResolutionIn"] | null {
  const words = (reason ?? "").trim();
  if (!words || !OUTCOMES.includes(outcome as Outcome)) return null;
  return { outcome: outcome as Outcome, reason: words };
}

/** Days from the dispute's day to `today` (ISO dates); null when the day is not known. */
export function daysOpen(raisedOn: string | null | undefined, today: string): number | null {
  if (!raisedOn) return null;
  const ms = Date.parse(`${today}T00:00:00Z`) - Date.parse(`${raisedOn}T00:00:00Z`);
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 86_400_000)) : null;
}
