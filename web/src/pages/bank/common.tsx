// Pieces the bank's and the supervisor's screens share: an API refusal in words, the item
// (evidence) drawer, a table's CSV button.
import { useEffect, useState } from "react";
import { Alert, Button, Descriptions, Drawer, Spin, Table, Typography } from "antd";
import type { ReactNode } from "react";
import { DownloadOutlined } from "@ant-design/icons";
import { ApiError, must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { downloadCsv, toCsv, type CsvColumn } from "../supervision/csv";
import type { ItemView } from "./model";

/** The words of a refusal: the problem's detail with its status, or the error's text. */
export function useRefusal(): (e: unknown) => string {
  const { t } = useI18n();
  return (e) =>
    e instanceof ApiError ? t("bank.refused", { status: e.status, detail: e.detail }) : t("common.error", { detail: String(e) });
}

/** Reads GET /items/{id}: the item or the refusal's words. */
export async function readItem(api: ReturnType<typeof useSession>["api"], itemId: string): Promise<ItemView> {
  return must(
    await api.client.GET("/api/v1/items/{item_id}", { params: { path: { item_id: itemId } } }),
  ) as unknown as ItemView;
}

export function ItemDrawer({ itemId, onClose }: { itemId: string | null; onClose: () => void }) {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [item, setItem] = useState<ItemView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setItem(null);
    setError(null);
    if (!itemId) return;
    let gone = false;
    readItem(api, itemId).then(
      (found) => !gone && setItem(found),
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, itemId]);
  return (
    <Drawer open={itemId !== null} onClose={onClose} width={Math.min(720, window.innerWidth)} title={itemId ? t("bank.item.title", { id: itemId }) : ""}>
      {error && <Alert type="error" showIcon message={t("bank.item.unavailable", { detail: error })} />}
      {!error && !item && itemId && <Spin aria-label={t("common.loading")} />}
      {item && (
        <>
          <Descriptions column={1} size="small" bordered data-testid="item-evidence">
            <Descriptions.Item label={t("bank.item.trade")}>{item.trade_id}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.debtor")}>{item.debtor}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.creditor")}>{item.creditor}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.basis")}>{item.basis}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.status")}>
              {tOr(`itemStatus.${item.status}`, item.status)}
              {item.disputed ? ` · ${t("bank.item.disputed")}` : ""}
            </Descriptions.Item>
            <Descriptions.Item label={t("bank.item.issue")}>{item.issue_date}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.maturity")}>{item.maturity_date}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.face")}>{item.face_value.currency} {item.face_value.amount}</Descriptions.Item>
            <Descriptions.Item label={t("bank.item.outstanding")}>{item.outstanding.currency} {item.outstanding.amount}</Descriptions.Item>
          </Descriptions>
          <h2 style={{ fontSize: 16, marginTop: 16 }}>{t("bank.item.holdings")}</h2>
          <ScrollX label={t("bank.item.holdings")}>
            <Table locale={emptyText(t("sup.noRows"))}
              size="small"
              rowKey="holding_id"
              pagination={false}
              dataSource={item.holdings}
              columns={[
                { title: t("bank.item.holder"), dataIndex: "holder" },
                { title: t("bank.item.value"), render: (_, h) => `${h.value.currency} ${h.value.amount}` },
                { title: t("bank.item.outstanding"), render: (_, h) => h.outstanding.amount },
                {
                  title: t("bank.item.pledge"),
                  render: (_, h) => (h.pledge ? `${h.pledge.bank ?? ""} ${h.pledge.principal.amount} (${h.pledge.status})` : "—"),
                },
              ]}
            />
          </ScrollX>
          {item.pending.length > 0 && (
            <p style={{ marginTop: 12 }}>
              {t("bank.item.pending")}: {item.pending.map((p) => `${p.op} (${p.status})`).join(", ")}
            </p>
          )}
        </>
      )}
    </Drawer>
  );
}

export function CsvButton<T>({ name, columns, rows }: { name: string; columns: CsvColumn<T>[]; rows: T[] }) {
  const { t } = useI18n();
  return (
    <Button size="small" icon={<DownloadOutlined />} disabled={!rows.length} onClick={() => downloadCsv(name, toCsv(columns, rows))}>
      {t("common.exportCsv")}
    </Button>
  );
}

/** A table's empty text at full contrast (Ant Design's own grey falls short of WCAG AA). */
export function emptyText(text: string): { emptyText: ReactNode } {
  return { emptyText: <Typography.Text>{text}</Typography.Text> };
}
