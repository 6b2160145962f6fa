// The supervision dashboard (issue 17 item 5) for the regulator, the operator and a local
// government: the regulator's figures by scenario (GET /regulator/figures) or a scenario
// platform's (GET /platforms/{id}/figures), charts and tables, concentration by core
// enterprise and bank, and the rows behind the figures where the API gives them (GET
// /financings with their items; a platform's GET /platforms/{id}/trades), each table
// exportable as CSV.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Alert, Button, Card, Col, Row, Select, Space, Statistic, Table, Typography } from "antd";
import dayjs from "dayjs";
import { must } from "../../api/client";
import { EChart } from "../../components/EChart";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { CsvButton, ItemDrawer, emptyText, useRefusal } from "../bank/common";
import { formatMinor, LIVE, portfolioRows, type FinancingView } from "../bank/model";
import { readItems } from "../bank/Portfolio";
import {
  amountsText, concentration, enterprisesFinanced, nonPerforming, platformFinancings, ratio, scenarioRows,
  settlementRows, termRows, type PlatformFigures, type PlatformTrade, type ScenarioFigures, type Share,
} from "./figures";

const pct = (r: number | null | undefined) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(2)}%`);
const ratioText = (r: Record<string, number>) => Object.entries(r).map(([c, v]) => `${c} ${pct(v)}`).join(" · ") || "—";
const H2 = ({ children }: { children: string }) => <h2 style={{ fontSize: 16, margin: 0 }}>{children}</h2>;

function Kpis({ items }: { items: [string, string | number][] }) {
  return (
    <Row gutter={[12, 12]} data-testid="kpis">
      {items.map(([title, value]) => (
        <Col key={title} xs={12} md={8} xl={6}>
          <Card size="small"><Statistic title={title} value={value} valueStyle={{ fontSize: 18 }} /></Card>
        </Col>
      ))}
    </Row>
  );
}

function ShareBlock({ title, data, name }: { title: string; data: Share[]; name: (k: string) => string }) {
  const { t } = useI18n();
  const option = useMemo(
    () => ({
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.map((s) => ({ name: `${name(s.key)} (${s.currency})`, value: s.amount / 100 })) }],
    }),
    [data, name],
  );
  const columns = [
    { title: t("sup.party"), value: (s: Share) => name(s.key) },
    { title: t("portfolio.currency"), value: (s: Share) => s.currency },
    { title: t("sup.count"), value: (s: Share) => s.count },
    { title: t("sup.amount"), value: (s: Share) => (s.amount / 100).toFixed(2) },
    { title: t("sup.share"), value: (s: Share) => pct(s.share) },
  ];
  return (
    <Card size="small" title={<H2>{title}</H2>} extra={<CsvButton name={title} columns={columns} rows={data} />}>
      {data.length > 0 && <EChart option={option} height={200} label={title} />}
      <Table<Share> locale={emptyText(t("sup.noRows"))}
        size="small" rowKey={(s) => `${s.currency}:${s.key}`} dataSource={data} pagination={{ pageSize: 5, hideOnSinglePage: true }}
        columns={[
          { title: t("sup.party"), render: (_, s) => name(s.key) },
          { title: t("sup.count"), dataIndex: "count", align: "right", width: 60 },
          { title: t("sup.amount"), align: "right", render: (_, s) => `${s.currency} ${formatMinor(s.amount)}` },
          { title: t("sup.share"), align: "right", width: 80, render: (_, s) => pct(s.share) },
        ]}
      />
    </Card>
  );
}

export function Dashboard() {
  const { t } = useI18n();
  const { api, me } = useSession();
  const regulatorView = Boolean(me && (me.org_types.includes("regulator") || me.org_types.includes("platform_operator")));
  const [platforms, setPlatforms] = useState<{ id: string; name: string }[]>([]);
  const [scope, setScope] = useState<string | null>(regulatorView ? "all" : null);
  const [error, setError] = useState<string | null>(null);
  const words = useRefusal();

  useEffect(() => {
    let gone = false;
    api.client.GET("/api/v1/platforms", {}).then(
      (a) => {
        if (gone || !a.data) return;
        setPlatforms(a.data.map((p) => ({ id: p.id, name: p.name })));
        if (!regulatorView && a.data.length) setScope((s) => s ?? a.data[0].id);
      },
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, regulatorView]);

  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Card>
        <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
          <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("sup.title")}</Typography.Title>
          <Space>
            <label htmlFor="sup-scope">{t("sup.scope")}</label>
            <Select
              id="sup-scope"
              style={{ minWidth: 260 }}
              value={scope ?? undefined}
              onChange={setScope}
              options={[
                ...(regulatorView ? [{ value: "all", label: t("sup.scopeAll") }] : []),
                ...platforms.map((p) => ({ value: p.id, label: p.name })),
              ]}
              notFoundContent={t("sup.noPlatforms")}
            />
          </Space>
        </Space>
        {error && <Alert style={{ marginTop: 12 }} type="error" showIcon message={error} />}
      </Card>
      {scope === "all" && <AllScenarios />}
      {scope && scope !== "all" && <PlatformScope key={scope} platformId={scope} />}
      {!scope && !regulatorView && <Alert type="info" showIcon message={t("sup.noPlatforms")} />}
    </Space>
  );
}

function Missing({ text }: { text: string }) {
  const { t } = useI18n();
  return <Alert type="info" showIcon message={t("sup.missingTitle")} description={text} data-testid="missing-figures" />;
}

function AllScenarios() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const today = dayjs().format("YYYY-MM-DD");
  const [figures, setFigures] = useState<Record<string, ScenarioFigures> | null>(null);
  const [financings, setFinancings] = useState<FinancingView[] | null>(null);
  const [rows, setRows] = useState<ReturnType<typeof portfolioRows>>([]);
  const [error, setError] = useState<string | null>(null);
  const [finError, setFinError] = useState<string | null>(null);
  const [filter, setFilter] = useState("all");
  const [itemId, setItemId] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setFigures(must(await api.client.GET("/api/v1/regulator/figures", {})) as unknown as Record<string, ScenarioFigures>);
      setError(null);
    } catch (e) {
      setError(words(e));
    }
    try {
      const fins = must(await api.client.GET("/api/v1/financings", {})) as unknown as FinancingView[];
      setFinancings(fins);
      const lent = fins.filter((f) => LIVE.has(f.status) || f.status === "repaid");
      const items = await readItems(api, lent);
      setRows(portfolioRows(lent.map((f) => ({ ...f, status: LIVE.has(f.status) ? f.status : "active" })), items, today));
      setFinError(null);
    } catch (e) {
      setFinError(words(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, today]);
  useEffect(() => void load(), [load]);

  const all = figures?.all;
  const scenarios = useMemo(() => (figures ? scenarioRows(figures) : []), [figures]);
  const byBank = useMemo(() => concentration(rows, (r) => r.bank_id, (r) => r.currency, (r) => r.principal), [rows]);
  const byCore = useMemo(() => concentration(rows, (r) => r.debtor, (r) => r.currency, (r) => r.principal), [rows]);
  const plain = useCallback((k: string) => k, []);
  const scenarioName = (s: string) => (s === "all" ? t("sup.filter.all") : tOr(`scenario.${s}`, s));
  const money = (a: Record<string, string> | undefined) => amountsText(a, formatMinor);

  if (error) return <Alert type="error" showIcon message={error} />;
  if (!all) return null;
  const npl = nonPerforming(all.settlement, all.outstanding_amount);
  const scenarioColumns = [
    { title: t("sup.scenario"), value: (r: (typeof scenarios)[number]) => scenarioName(r.scenario) },
    { title: t("sup.trades"), value: (r: (typeof scenarios)[number]) => r.trades },
    { title: t("sup.verified"), value: (r: (typeof scenarios)[number]) => r.verified },
    { title: t("sup.failed"), value: (r: (typeof scenarios)[number]) => r.failed },
    { title: t("sup.itemsIssued"), value: (r: (typeof scenarios)[number]) => r.items_issued },
    { title: t("sup.issuedAmount"), value: (r: (typeof scenarios)[number]) => money(r.issued_amount) },
    { title: t("sup.financed"), value: (r: (typeof scenarios)[number]) => r.financed },
    { title: t("sup.financedAmount"), value: (r: (typeof scenarios)[number]) => money(r.financed_amount) },
    { title: t("sup.outstanding"), value: (r: (typeof scenarios)[number]) => money(r.outstanding_amount) },
    { title: t("sup.settled"), value: (r: (typeof scenarios)[number]) => r.settled },
    { title: t("sup.overdue"), value: (r: (typeof scenarios)[number]) => r.overdue },
    { title: t("sup.overdueRatio"), value: (r: (typeof scenarios)[number]) => ratioText(ratio(r.overdue_amount, r.outstanding_amount)) },
    { title: t("sup.declined"), value: (r: (typeof scenarios)[number]) => r.declined },
    { title: t("sup.referred"), value: (r: (typeof scenarios)[number]) => r.referred },
  ];
  const terms = termRows(all.term_distribution);
  const termColumns = [
    { title: t("sup.termBucket"), value: (r: (typeof terms)[number]) => r.bucket },
    { title: t("sup.count"), value: (r: (typeof terms)[number]) => r.count },
    { title: t("sup.share"), value: (r: (typeof terms)[number]) => pct(r.share) },
    { title: t("sup.termLimit"), value: (r: (typeof terms)[number]) => tOr(`sup.limit.${r.limit}`, r.limit) },
  ];
  const settlement = all.settlement ? settlementRows(all.settlement) : [];
  const stName = (k: string) => (k.startsWith("overdue ") ? t("sup.st.overdue", { band: k.slice(8) }) : tOr(`sup.st.${k}`, k));
  const stColumns = [
    { title: t("sup.settlementItem"), value: (r: (typeof settlement)[number]) => stName(r.key) },
    { title: t("sup.count"), value: (r: (typeof settlement)[number]) => r.count },
    { title: t("sup.amount"), value: (r: (typeof settlement)[number]) => Object.entries(r.amount).map(([c, v]) => `${c} ${(v / 100).toFixed(2)}`).join(" · ") },
  ];
  const shown = (financings ?? []).filter((f) =>
    filter === "all" ? true : filter === "financed" ? LIVE.has(f.status) || f.status === "repaid" : f.status === filter,
  );
  const finColumns = [
    { title: t("bank.col.id"), value: (f: FinancingView) => f.financing_id },
    { title: t("bank.col.status"), value: (f: FinancingView) => tOr(`bank.finStatus.${f.status}`, f.status) },
    { title: t("bank.col.borrower"), value: (f: FinancingView) => f.borrower_id },
    { title: t("sup.bank"), value: (f: FinancingView) => f.bank_id },
    { title: t("bank.col.requested"), value: (f: FinancingView) => `${f.currency} ${f.requested ?? ""}` },
    { title: t("bank.col.principal"), value: (f: FinancingView) => (f.principal ? `${f.currency} ${f.principal}` : "") },
    { title: t("bank.col.pd"), value: (f: FinancingView) => (f.decision?.pd ?? null) === null ? "" : pct(f.decision?.pd) },
  ];
  const days = all.days_to_pay;
  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Kpis
        items={[
          [t("sup.trades"), `${all.trades} (${t("sup.verified")} ${all.verified} · ${t("sup.failed")} ${all.failed})`],
          [t("sup.itemsIssued"), `${all.items_issued} · ${money(all.issued_amount)}`],
          [t("sup.financedAmount"), `${all.financed} · ${money(all.financed_amount)}`],
          [t("sup.outstanding"), money(all.outstanding_amount)],
          [t("sup.settledAmount"), `${all.settled} · ${money(all.settled_amount)}`],
          [t("sup.overdueAmount"), `${all.overdue} · ${money(all.overdue_amount)}`],
          [t("sup.overdueRatio"), ratioText(ratio(all.overdue_amount, all.outstanding_amount))],
          [t("sup.npl"), Object.entries(npl).map(([c, v]) => `${c} ${pct(v.ratio)}`).join(" · ") || "—"],
          [t("sup.enterprisesFinanced"), financings ? enterprisesFinanced(financings) : "—"],
          [`${t("sup.declined")} / ${t("sup.referred")}`, `${all.declined} / ${all.referred}`],
          [t("sup.riskAlerts"), all.risk_alerts],
          [t("sup.daysToPay"), days.mean === null ? t("sup.daysToPayNone") : t("sup.daysToPayText", { settled: days.settled, mean: days.mean, over: days.over_60 })],
        ]}
      />
      <Card size="small" title={<H2>{t("sup.byScenario")}</H2>} extra={<CsvButton name="scenarios" columns={scenarioColumns} rows={scenarios} />}>
        <EChart
          label={t("sup.byScenario")}
          height={220}
          option={{
            tooltip: { trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
            xAxis: { type: "category", data: scenarios.filter((s) => s.scenario !== "all").map((s) => scenarioName(s.scenario)) },
            yAxis: { type: "value" },
            series: (["trades", "items_issued", "financed", "overdue"] as const).map((k, i) => ({
              type: "bar",
              name: [t("sup.trades"), t("sup.itemsIssued"), t("sup.financed"), t("sup.overdue")][i],
              data: scenarios.filter((s) => s.scenario !== "all").map((s) => s[k]),
            })),
          }}
        />
        <Table locale={emptyText(t("sup.noRows"))}
          size="small" rowKey="scenario" dataSource={scenarios} pagination={false} scroll={{ x: 1200 }}
          columns={scenarioColumns.map((c) => ({ title: c.title, render: (_: unknown, r: (typeof scenarios)[number]) => c.value(r) }))}
        />
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card size="small" title={<H2>{t("sup.term")}</H2>} extra={<CsvButton name="terms" columns={termColumns} rows={terms} />}>
            <EChart
              label={t("sup.term")}
              height={200}
              option={{ tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "65%"], data: terms.map((r) => ({ name: r.bucket, value: r.count })) }] }}
            />
            <Table size="small" rowKey="bucket" locale={emptyText(t("sup.noRows"))} dataSource={terms} pagination={false}
              columns={termColumns.map((c) => ({ title: c.title, render: (_: unknown, r: (typeof terms)[number]) => c.value(r) }))} />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={<H2>{t("sup.settlement")}</H2>} extra={<CsvButton name="settlement" columns={stColumns} rows={settlement} />}>
            {all.settlement && (
              <Typography.Paragraph>
                {t("sup.routes", { locked: all.settlement.routes.locked, changed: all.settlement.routes.changed,
                  open: all.settlement.margin_calls.open, met: all.settlement.margin_calls.met, sold: all.settlement.margin_calls.sold })}
              </Typography.Paragraph>
            )}
            <Table size="small" rowKey="key" locale={emptyText(t("sup.noRows"))} dataSource={settlement} pagination={false}
              columns={stColumns.map((c) => ({ title: c.title, render: (_: unknown, r: (typeof settlement)[number]) => c.value(r) }))} />
          </Card>
        </Col>
        {finError ? (
          <Col span={24}><Alert type="warning" showIcon message={t("sup.financingsRefused", { detail: finError })} /></Col>
        ) : (
          <>
            <Col xs={24} xl={12}><ShareBlock title={t("sup.byCore")} data={byCore} name={plain} /></Col>
            <Col xs={24} xl={12}><ShareBlock title={t("sup.byBank")} data={byBank} name={plain} /></Col>
          </>
        )}
      </Row>
      {financings && (
        <Card
          size="small"
          title={<H2>{t("sup.drillFinancings")}</H2>}
          extra={
            <Space>
              <Select aria-label={t("sup.filter")} value={filter} onChange={setFilter} style={{ minWidth: 140 }}
                options={["all", "financed", "declined", "referred"].map((v) => ({ value: v, label: t(`sup.filter.${v}` as "sup.filter.all") }))} />
              <CsvButton name="financings" columns={finColumns} rows={shown} />
            </Space>
          }
        >
          <Table<FinancingView> locale={emptyText(t("sup.noRows"))}
            size="small" rowKey="financing_id" dataSource={shown} scroll={{ x: 1000 }} pagination={{ pageSize: 10 }}
            columns={[
              ...finColumns.map((c) => ({ title: c.title, render: (_: unknown, f: FinancingView) => c.value(f) })),
              { title: t("sup.items"), render: (_: unknown, f: FinancingView) => f.item_id ? (
                <Button type="link" size="small" onClick={() => setItemId(f.item_id)} aria-label={`${t("sup.openItem")} ${f.item_id}`}>{t("sup.openItem")}</Button>
              ) : "—" },
            ]}
          />
        </Card>
      )}
      <Missing text={t("sup.missingAll")} />
      <ItemDrawer itemId={itemId} onClose={() => setItemId(null)} />
    </Space>
  );
}

function PlatformScope({ platformId }: { platformId: string }) {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [fig, setFig] = useState<PlatformFigures | null>(null);
  const [trades, setTrades] = useState<PlatformTrade[]>([]);
  const [names, setNames] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState("all");
  const [itemId, setItemId] = useState<string | null>(null);

  useEffect(() => {
    let gone = false;
    const path = { params: { path: { platform_id: platformId } } };
    Promise.all([
      api.client.GET("/api/v1/platforms/{platform_id}/figures", path).then(must),
      api.client.GET("/api/v1/platforms/{platform_id}/trades", path).then(must),
      api.client.GET("/api/v1/platforms/{platform_id}", path).then(must),
    ]).then(
      ([f, tr, detail]) => {
        if (gone) return;
        setFig(f as unknown as PlatformFigures);
        setTrades(tr as unknown as PlatformTrade[]);
        const d = detail as { members: { org_id: string; name: string }[]; banks: { bank_id: string; name: string }[] };
        setNames(Object.fromEntries([...d.members.map((m) => [m.org_id, m.name]), ...d.banks.map((b) => [b.bank_id, b.name])]));
      },
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, platformId]);

  const name = useCallback((id: string) => names[id] ?? id, [names]);
  const financed = useMemo(() => platformFinancings(trades), [trades]);
  const byCore = useMemo(() => concentration(financed, (r) => r.core, (r) => r.currency, (r) => r.minor), [financed]);
  const byBank = useMemo(() => concentration(financed, (r) => r.bank_id, (r) => r.currency, (r) => r.minor), [financed]);
  if (error) return <Alert type="error" showIcon message={error} />;
  if (!fig) return null;
  const money = (a: Record<string, string>) => amountsText(a, formatMinor);
  const shown = trades.filter((tr) =>
    filter === "all" ? true
      : filter === "verified" ? tr.status === "verified" || tr.status === "partial"
      : filter === "failed" ? tr.status === "failed"
      : filter === "financed" ? tr.financings.some((f) => LIVE.has(f.status) || f.status === "repaid")
      : tr.items.some((i) => i.status === filter),
  );
  const flat = shown.flatMap((tr) =>
    (tr.items.length ? tr.items : [null]).map((i) => ({ tr, i, fins: tr.financings.filter((f) => i && f.item_id === i.item_id) })),
  );
  type Flat = (typeof flat)[number];
  const columns = [
    { title: t("sup.trade"), value: (r: Flat) => r.tr.trade_id },
    { title: t("sup.scenario"), value: (r: Flat) => tOr(`scenario.${r.tr.scenario}`, r.tr.scenario) },
    { title: t("sup.seller"), value: (r: Flat) => name(r.tr.seller_id) },
    { title: t("sup.buyer"), value: (r: Flat) => name(r.tr.buyer_id) },
    { title: t("sup.tradeStatus"), value: (r: Flat) => r.tr.status },
    { title: t("sup.items"), value: (r: Flat) => r.i?.item_id ?? "" },
    { title: t("bank.item.face"), value: (r: Flat) => (r.i ? `${r.i.currency} ${r.i.face_value}` : "") },
    { title: t("bank.item.outstanding"), value: (r: Flat) => r.i?.outstanding ?? "" },
    { title: t("bank.item.status"), value: (r: Flat) => r.i?.status ?? "" },
    { title: t("bank.item.maturity"), value: (r: Flat) => r.i?.maturity_date ?? "" },
    { title: t("sup.drillFinancings"), value: (r: Flat) => r.fins.map((f) => `${name(f.bank_id)} ${f.status} ${f.principal}`).join("; ") },
  ];
  const scen = Object.entries(fig.by_scenario).map(([scenario, v]) => ({ scenario, ...v }));
  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Kpis
        items={[
          [t("sup.members"), fig.members],
          [t("sup.banks"), `${fig.banks} · ${t("sup.products")} ${fig.products}`],
          [t("sup.trades"), `${fig.trades} (${t("sup.verified")} ${fig.verified})`],
          [t("sup.itemsIssued"), `${fig.items_issued} · ${money(fig.issued_amount)}`],
          [t("sup.financings"), `${fig.financings} (${t("sup.declined")} ${fig.declined} · ${t("sup.referred")} ${fig.referred})`],
          [t("sup.financedAmount"), `${fig.financed} · ${money(fig.financed_amount)}`],
          [t("sup.enterprisesFinanced"), new Set(financed.map((f) => f.seller)).size],
          [t("sup.outstanding"), money(fig.outstanding_amount)],
          [t("sup.settled"), fig.settled],
          [t("sup.overdueAmount"), `${fig.overdue} · ${money(fig.overdue_amount)}`],
          [t("sup.overdueRatio"), ratioText(ratio(fig.overdue_amount, fig.outstanding_amount))],
        ]}
      />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={8}>
          <Card size="small" title={<H2>{t("sup.byScenario")}</H2>}>
            <Table size="small" rowKey="scenario" locale={emptyText(t("sup.noRows"))} dataSource={scen} pagination={false}
              columns={[
                { title: t("sup.scenario"), render: (_, r) => tOr(`scenario.${r.scenario}`, r.scenario) },
                { title: t("sup.trades"), dataIndex: "trades", align: "right" },
                { title: t("sup.items"), dataIndex: "items", align: "right" },
              ]} />
          </Card>
        </Col>
        <Col xs={24} xl={8}><ShareBlock title={t("sup.byCore")} data={byCore} name={name} /></Col>
        <Col xs={24} xl={8}><ShareBlock title={t("sup.byBank")} data={byBank} name={name} /></Col>
      </Row>
      <Card
        size="small"
        title={<H2>{t("sup.drillTrades")}</H2>}
        extra={
          <Space>
            <Select aria-label={t("sup.filter")} value={filter} onChange={setFilter} style={{ minWidth: 160 }}
              options={["all", "verified", "failed", "financed", "overdue", "settled"].map((v) => ({ value: v, label: t(`sup.filter.${v}` as "sup.filter.all") }))} />
            <CsvButton name={`trades-${platformId}`} columns={columns} rows={flat} />
          </Space>
        }
      >
        <Table<Flat> locale={emptyText(t("sup.noRows"))}
          size="small" rowKey={(r) => `${r.tr.trade_id}:${r.i?.item_id ?? ""}`} dataSource={flat} scroll={{ x: 1300 }} pagination={{ pageSize: 10 }}
          columns={[
            ...columns.map((c) => ({ title: c.title, render: (_: unknown, r: Flat) => c.value(r) })),
            { title: t("sup.openItem"), render: (_: unknown, r: Flat) => r.i ? (
              <Button type="link" size="small" onClick={() => setItemId(r.i!.item_id)} aria-label={`${t("sup.openItem")} ${r.i.item_id}`}>{t("sup.openItem")}</Button>
            ) : "—" },
          ]}
        />
      </Card>
      <Missing text={t("sup.missingPlatform")} />
      <ItemDrawer itemId={itemId} onClose={() => setItemId(null)} />
    </Space>
  );
}

