// The bank's portfolio (issue 17 item 4): its live financings (GET /financings) joined with
// their items (one GET /items?ids=: debtor, maturity, outstanding), exposure by borrower, debtor,
// scenario (the financing's item's trade's, given by GET /financings), remaining tenor and days
// overdue as charts and tables, each table exportable as CSV.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Alert, Button, Card, Col, Row, Space, Statistic, Table, Typography } from "antd";
import dayjs from "dayjs";
import { must } from "../../api/client";
import { EChart } from "../../components/EChart";
import { ScrollX } from "../../components/ScrollX";
import { useI18n, type MessageKey } from "../../i18n";
import { useSession } from "../../session";
import { CsvButton, ItemDrawer, emptyText, useRefusal } from "./common";
import {
  exposureBy, exposureByScenario, formatMinor, LIVE, OVERDUE_BANDS, portfolioRows, readItemsAt, TENOR_BANDS,
  type Exposure, type FinancingView, type ItemView, type PortfolioRow,
} from "./model";

/** Reads the items of `financings` in one `GET /items?ids=` (null where the API answered none). */
export async function readItems(api: ReturnType<typeof useSession>["api"], financings: FinancingView[]) {
  const ids = financings.map((f) => f.item_id).filter((i): i is string => Boolean(i));
  return readItemsAt<ItemView>(ids, async (joined) =>
    must(await api.client.GET("/api/v1/items", { params: { query: { ids: joined } } })) as unknown as ItemView[],
  );
}

export function ExposureBlock({ title, data, label, kind }: {
  title: string; data: Exposure[]; label: (k: string) => string; kind: "bar" | "pie";
}) {
  const { t } = useI18n();
  const option = useMemo(() => {
    const names = data.map((e) => `${label(e.key)}${new Set(data.map((d) => d.currency)).size > 1 ? ` (${e.currency})` : ""}`);
    const values = data.map((e) => e.amount / 100);
    return kind === "pie"
      ? { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "65%"], data: names.map((n, i) => ({ name: n, value: values[i] })) }] }
      : {
          tooltip: { trigger: "axis" },
          grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
          xAxis: { type: "value" },
          yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 120, overflow: "truncate" } },
          series: [{ type: "bar", data: values, itemStyle: { color: "#1456b8" } }],
        };
  }, [data, label, kind]);
  const columns = [
    { title: t("portfolio.key"), value: (e: Exposure) => label(e.key) },
    { title: t("portfolio.currency"), value: (e: Exposure) => e.currency },
    { title: t("portfolio.count"), value: (e: Exposure) => e.count },
    { title: t("portfolio.amount"), value: (e: Exposure) => (e.amount / 100).toFixed(2) },
    { title: t("portfolio.share"), value: (e: Exposure) => `${(e.share * 100).toFixed(1)}%` },
  ];
  return (
    <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{title}</h2>} extra={<CsvButton name={title} columns={columns} rows={data} />}>
      {data.length > 0 && <EChart option={option} height={200} label={title} />}
      <Table<Exposure>
        size="small"
        rowKey={(e) => `${e.currency}:${e.key}`}
        pagination={{ pageSize: 5, hideOnSinglePage: true }}
        dataSource={data}
        locale={emptyText(t("portfolio.empty"))}
        columns={[
          { title: t("portfolio.key"), render: (_, e) => label(e.key) },
          { title: t("portfolio.count"), dataIndex: "count", align: "right", width: 60 },
          { title: t("portfolio.amount"), align: "right", render: (_, e) => `${e.currency} ${formatMinor(e.amount)}` },
          { title: t("portfolio.share"), align: "right", width: 70, render: (_, e) => `${(e.share * 100).toFixed(1)}%` },
        ]}
      />
    </Card>
  );
}

export function Portfolio() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const today = dayjs().format("YYYY-MM-DD");
  const [rows, setRows] = useState<PortfolioRow[]>([]);
  const [unread, setUnread] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [itemId, setItemId] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const all = must(await api.client.GET("/api/v1/financings", {})) as unknown as FinancingView[];
      const live = all.filter((f) => LIVE.has(f.status));
      const items = await readItems(api, live);
      setUnread(live.filter((f) => !f.item_id || !items.get(f.item_id)).length);
      setRows(portfolioRows(live, items, today));
      setError(null);
    } catch (e) {
      setError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, today]);
  useEffect(() => void load(), [load]);

  const band = useCallback(
    (k: string) => (k === "unknown" ? t("portfolio.unknown") : k === "overdue" ? t("portfolio.overdue") : k === "current" ? t("portfolio.current") : k),
    [t],
  );
  const plain = useCallback((k: string) => k, []);
  const scenario = useCallback(
    (k: string) => (k === "unknown" ? t("portfolio.unknown") : tOr(`portfolio.scenario.${k}`, k)),
    [t, tOr],
  );
  const byScenario = useMemo(() => exposureByScenario(rows), [rows]);
  const byBorrower = useMemo(() => exposureBy(rows, (r) => r.borrower), [rows]);
  const byDebtor = useMemo(() => exposureBy(rows, (r) => r.debtor || t("portfolio.unknown")), [rows, t]);
  const byTenor = useMemo(() => exposureBy(rows, (r) => r.tenor, [...TENOR_BANDS, "unknown"]), [rows]);
  const byOverdue = useMemo(() => exposureBy(rows, (r) => r.overdue, [...OVERDUE_BANDS, "unknown"]), [rows]);
  const totals = useMemo(() => exposureBy(rows, (r) => r.currency), [rows]);
  const detail = [
    { title: t("bank.col.id"), value: (r: PortfolioRow) => r.financing_id },
    { title: t("bank.col.status"), value: (r: PortfolioRow) => tOr(`bank.finStatus.${r.status}`, r.status) },
    { title: t("bank.col.borrower"), value: (r: PortfolioRow) => r.borrower },
    { title: t("bank.item.debtor"), value: (r: PortfolioRow) => r.debtor },
    { title: t("portfolio.scenario"), value: (r: PortfolioRow) => scenario(r.scenario) },
    { title: t("portfolio.currency"), value: (r: PortfolioRow) => r.currency },
    { title: t("bank.col.principal"), value: (r: PortfolioRow) => (r.principal / 100).toFixed(2) },
    { title: t("portfolio.maturity"), value: (r: PortfolioRow) => r.maturity_date },
    { title: t("portfolio.daysToMaturity"), value: (r: PortfolioRow) => r.days_to_maturity },
    { title: t("portfolio.daysOverdue"), value: (r: PortfolioRow) => r.days_overdue },
  ];
  const titleOf = (k: MessageKey) => t(k);

  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Card>
        <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
          <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("portfolio.title")}</Typography.Title>
          <Space>
            <span>{t("portfolio.asOf", { date: today })}</span>
            <Button onClick={() => void load()} loading={loading}>{t("common.refresh")}</Button>
          </Space>
        </Space>
        {error && <Alert style={{ marginTop: 12 }} type="error" showIcon message={error} />}
        {unread > 0 && <Alert style={{ marginTop: 12 }} type="warning" showIcon message={t("portfolio.itemsUnread", { count: unread })} />}
        <Row gutter={16} style={{ marginTop: 12 }}>
          {totals.map((e) => (
            <Col key={e.currency}>
              <Statistic title={`${t("portfolio.total")} (${e.currency})`} value={formatMinor(e.amount)} suffix={`· ${e.count}`} />
            </Col>
          ))}
        </Row>
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}><ExposureBlock title={titleOf("portfolio.byBorrower")} data={byBorrower} label={plain} kind="bar" /></Col>
        <Col xs={24} xl={12}><ExposureBlock title={titleOf("portfolio.byDebtor")} data={byDebtor} label={plain} kind="pie" /></Col>
        <Col xs={24} xl={12} data-testid="exposure-by-scenario"><ExposureBlock title={titleOf("portfolio.byScenario")} data={byScenario} label={scenario} kind="pie" /></Col>
        <Col xs={24} xl={12}><ExposureBlock title={titleOf("portfolio.byTenor")} data={byTenor} label={band} kind="bar" /></Col>
        <Col xs={24} xl={12}><ExposureBlock title={titleOf("portfolio.byOverdue")} data={byOverdue} label={band} kind="bar" /></Col>
      </Row>
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("portfolio.rows")}</h2>} extra={<CsvButton name="portfolio" columns={detail} rows={rows} />}>
        <ScrollX label={t("portfolio.rows")}>
          <Table<PortfolioRow>
            size="small"
            rowKey="financing_id"
            loading={loading}
            dataSource={rows}
            locale={emptyText(t("portfolio.empty"))}
            columns={[
              ...detail.slice(0, 5).map((c) => ({ title: c.title, render: (_: unknown, r: PortfolioRow) => c.value(r) })),
              { title: t("bank.col.principal"), align: "right" as const, render: (_: unknown, r: PortfolioRow) => `${r.currency} ${formatMinor(r.principal)}` },
              ...detail.slice(7).map((c) => ({ title: c.title, render: (_: unknown, r: PortfolioRow) => c.value(r) ?? "—" })),
              {
                title: t("bank.col.evidence"),
                render: (_: unknown, r: PortfolioRow) =>
                  r.item_id ? (
                    <Button type="link" size="small" onClick={() => setItemId(r.item_id)} aria-label={`${t("bank.evidence")} ${r.item_id}`}>
                      {t("bank.evidence")}
                    </Button>
                  ) : "—",
              },
            ]}
          />
        </ScrollX>
      </Card>
      <ItemDrawer itemId={itemId} onClose={() => setItemId(null)} />
    </Space>
  );
}
