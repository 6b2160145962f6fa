// My receivables and payables (issue 17 item 2): GET /position's holdings, payables,
// financings and operations waiting for the chain; an item opens its view (ItemPanel).
import { useCallback, useEffect, useState } from "react";
import { Alert, Button, Space, Table, Typography } from "antd";
import { StatusTag } from "../../components/StatusTag";
import { ReloadOutlined } from "@ant-design/icons";
import { useSearchParams } from "react-router-dom";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { money, useWords } from "./common";
import { ItemPanel } from "./ItemPanel";
import type { PositionView } from "./model";

export function usePosition() {
  const { api } = useSession();
  const words = useWords();
  const [position, setPosition] = useState<PositionView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      setPosition(must(await api.client.GET("/api/v1/position")) as unknown as PositionView);
    } catch (e) {
      setError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);
  return { position, error, loading, load };
}

export function Position() {
  const { t, tOr } = useI18n();
  const { position, error, loading, load } = usePosition();
  const [params, setParams] = useSearchParams();
  const open = params.get("item");
  const openItem = (id: string | null) => setParams(id ? { item: id } : {}, { replace: true });
  const itemLink = (id: string) => (
    <Button type="link" size="small" style={{ padding: 0 }} onClick={() => openItem(id)}>{id}</Button>
  );
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Space wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>
          {t("position.title")}{position ? ` · ${position.member}` : ""}
        </Typography.Title>
        <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading}>{t("common.refresh")}</Button>
      </Space>
      {error && <Alert type="error" showIcon message={error} />}
      <h2 style={{ fontSize: 16, margin: 0 }}>{t("position.holds")}</h2>
      <ScrollX label={t("position.holds")}>
        <Table
          data-testid="position-holds"
          size="small"
          rowKey="holding"
          loading={loading && !position}
          dataSource={position?.holds ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          columns={[
            { title: t("position.item"), dataIndex: "item", render: (id: string) => itemLink(id) },
            { title: t("position.holding"), dataIndex: "holding" },
            { title: t("position.debtor"), dataIndex: "debtor" },
            { title: t("position.maturity"), dataIndex: "maturity" },
            { title: t("position.outstanding"), render: (_, r) => money(r.outstanding), align: "right" },
            { title: t("position.pledgedTo"), dataIndex: "pledged_to", render: (b: string | null) => b ?? "—" },
          ]}
        />
      </ScrollX>
      <h2 style={{ fontSize: 16, margin: 0 }}>{t("position.owes")}</h2>
      <ScrollX label={t("position.owes")}>
        <Table
          data-testid="position-owes"
          size="small"
          rowKey="item"
          loading={loading && !position}
          dataSource={position?.owes ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          columns={[
            { title: t("position.item"), dataIndex: "item", render: (id: string) => itemLink(id) },
            { title: t("position.creditor"), dataIndex: "creditor" },
            { title: t("position.maturity"), dataIndex: "maturity" },
            { title: t("position.outstanding"), render: (_, r) => money(r.outstanding), align: "right" },
          ]}
        />
      </ScrollX>
      <h2 style={{ fontSize: 16, margin: 0 }}>{t("position.financed")}</h2>
      <ScrollX label={t("position.financed")}>
        <Table
          size="small"
          rowKey="request"
          dataSource={position?.financed ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          columns={[
            { title: t("financing.id"), dataIndex: "request" },
            { title: t("financing.status"), dataIndex: "status", render: (s: string) => <StatusTag tone="plain">{tOr(`bank.finStatus.${s}`, s)}</StatusTag> },
            { title: t("statement.bank"), dataIndex: "bank" },
            { title: t("financing.requested"), render: (_, r) => money(r.requested), align: "right" },
            { title: t("financing.principal"), render: (_, r) => money(r.principal), align: "right" },
          ]}
        />
      </ScrollX>
      {(position?.pending.length ?? 0) > 0 && (
        <>
          <h2 style={{ fontSize: 16, margin: 0 }}>{t("position.pending")}</h2>
          <Table
            size="small"
            rowKey="op"
            dataSource={position?.pending ?? []}
            pagination={false}
            columns={[
              { title: t("position.op"), dataIndex: "op" },
              { title: t("position.kind"), dataIndex: "kind" },
              { title: t("position.subject"), dataIndex: "subject" },
              { title: t("position.status"), dataIndex: "status" },
            ]}
          />
        </>
      )}
      <ItemPanel itemId={open} onClose={() => openItem(null)} onChanged={() => void load()} />
    </Space>
  );
}
