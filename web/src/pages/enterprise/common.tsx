// Pieces the enterprise's screens share: an API refusal in words, reading JSON the routes
// answer untyped.
import { ApiError } from "../../api/client";
import { useI18n } from "../../i18n";

/** The words of a refusal: the problem's detail with its status, or the error's text. */
export function useWords(): (e: unknown) => string {
  const { t } = useI18n();
  return (e) =>
    e instanceof ApiError ? t("ent.refused", { status: e.status, detail: e.detail }) : t("common.error", { detail: String(e) });
}

export function money(m: { amount: string; currency: string } | null | undefined): string {
  return m ? `${m.currency} ${m.amount}` : "—";
}
