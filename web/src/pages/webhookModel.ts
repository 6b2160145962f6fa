// The webhooks screen's rules, kept apart from its components for Vitest.

/** The event kinds an endpoint can ask for (fourflow.services.webhooks.EVENT_KINDS). */
export const EVENT_KINDS = [
  "document.verified", "document.failed", "item.issued", "item.confirmed", "item.disputed",
  "item.dispute_withdrawn", "item.dispute_resolved", "item.overdue", "item.defaulted",
  "item.route_change", "financing.decided", "payment.routed",
] as const;

/** An absolute http(s) URL with a host (the API's check, so that the form says it first). */
export function webhookUrlOk(url: string): boolean {
  try {
    const u = new URL(url.trim());
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "" && !u.username && !u.password;
  } catch {
    return false;
  }
}
