// The supervision dashboard (issue 17 item 5) for the regulator, the operator and a local
// government: GET /supervision/figures of the whole platform (by scenario and by platform) or of
// a scenario platform, charts (ECharts) and tables; every figure drills down to the trades
// behind it (GET /supervision/trades, a page at a time) and each trade to its on-chain evidence
// (GET /supervision/trades/{id}/evidence); fraud signals on demand (GET /supervision/alerts);
// every table exports CSV, the whole page XLSX and a PDF report (export code loaded on use).
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Alert, Button, Card, Col, Descriptions, Drawer, Row, Select, Space, Spin, Statistic, Table, Tag, Typography } from "antd";
import { must } from "../../api/client";
import { Deferred } from "../../components/Deferred";
import { EChart } from "../../components/EChart";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { CsvButton, emptyText, useRefusal } from "../bank/common";
import { formatMinor, toMinor } from "../bank/model";
import { TERM_LIMIT } from "./figures";
import {
  daysToPaySlices, flatRows, ratesText, ratioText, scenarioBlocks, sumsText, tierRows,
  type Alerts, type Block, type Drill, type Evidence, type Figures, type ShareRow, type TradePage,
} from "./model";
import type { ReportTable } from "./report";

const H2 = ({ children }: { children: string }) => <h2 style={{ fontSize: 16, margin: 0 }}>{children}</h2>;
const pct = (r: number | null | undefined) => (r === null || r === undefined ? "—" : `${(r * 100).toFixed(2)}%`);
const PAGE = 10;

type Api = ReturnType<typeof useSession>["api"];
// The supervision routes answer plain JSON objects (typed here, in model.ts).
const get = async <T,>(api: Api, path: string, query: Record<string, string | number | undefined>): Promise<T> => {
  const client = api.client as unknown as { GET: (p: string, o: object) => Promise<{ data?: unknown; error?: unknown; response: Response }> };
  const params = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== ""));
  const [route, id] = path.split("#");
  return must(await client.GET(`/api/v1${route}`, { params: { query: params, ...(id ? { path: { trade_id: id } } : {}) } })) as T;
};

export function Dashboard() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const words = useRefusal();
  const regulatorView = Boolean(me && (me.org_types.includes("regulator") || me.org_types.includes("platform_operator")));
  const [search, setSearch] = useSearchParams();
  const [platforms, setPlatforms] = useState<{ id: string; name: string; scenarios: string[] }[]>([]);
  const [error, setError] = useState<string | null>(null);
  const platform = search.get("platform") ?? (regulatorView ? "" : platforms[0]?.id ?? "");
  const scenario = search.get("scenario") ?? "";
  const [figures, setFigures] = useState<Figures | null>(null);
  const [drill, setDrill] = useState<Drill>({ figure: "trades" });
  const [fraud, setFraud] = useState<Alerts | null>(null);
  const [scanning, setScanning] = useState(false);

  useEffect(() => {
    let gone = false;
    api.client.GET("/api/v1/platforms", {}).then(
      (a) => !gone && a.data && setPlatforms(a.data.map((p) => ({ id: p.id, name: p.name, scenarios: p.scenarios }))),
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);

  const ready = regulatorView || Boolean(platform);
  useEffect(() => {
    if (!ready) return;
    let gone = false;
    setFigures(null);
    setFraud(null);
    get<Figures>(api, "/supervision/figures", { platform_id: platform || undefined, scenario: scenario || undefined }).then(
      (f) => {
        if (gone) return;
        setFigures(f);
        setError(null);
      },
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, platform, scenario, ready]);

  const choose = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    setSearch(next, { replace: true });
    setDrill({ figure: "trades" });
  };
  const scan = async () => {
    setScanning(true);
    try {
      setFraud(await get<Alerts>(api, "/supervision/alerts", { platform_id: platform || undefined, scenario: scenario || undefined }));
    } catch (e) {
      setError(words(e));
    } finally {
      setScanning(false);
    }
  };
  const scenarios = [...new Set(platforms.flatMap((p) => p.scenarios))].sort();
  const scopeName = platform ? platforms.find((p) => p.id === platform)?.name ?? platform : t("sup.scopeAll");
  const tables = figures ? reportTables(figures, t, tOr) : [];
  const exportAs = async (kind: "xlsx" | "pdf") => {
    const title = `${t("sup.title")} · ${scopeName}${scenario ? ` · ${tOr(`scenario.${scenario}`, scenario)}` : ""}`;
    const meta = t("sup.asOf", { date: figures?.as_of ?? "" });
    if (kind === "xlsx") await (await import("./xlsx")).downloadXlsx(`supervision-${figures?.as_of}`, tables);
    else await (await import("./report")).downloadPdf(`supervision-${figures?.as_of}`, title, meta, tables);
  };

  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Card>
        <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
          <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("sup.title")}</Typography.Title>
          <Space wrap>
            <label htmlFor="sup-scope">{t("sup.scope")}</label>
            <Select id="sup-scope" style={{ minWidth: 240 }} value={platform || "all"} onChange={(v) => choose("platform", v === "all" ? "" : v)}
              options={[...(regulatorView ? [{ value: "all", label: t("sup.scopeAll") }] : []), ...platforms.map((p) => ({ value: p.id, label: p.name }))]}
              notFoundContent={t("sup.noPlatforms")} />
            <label htmlFor="sup-scenario">{t("sup.scenario")}</label>
            <Select id="sup-scenario" style={{ minWidth: 160 }} value={scenario || "all"} onChange={(v) => choose("scenario", v === "all" ? "" : v)}
              options={[{ value: "all", label: t("sup.allScenarios") }, ...scenarios.map((s) => ({ value: s, label: tOr(`scenario.${s}`, s) }))]} />
            <Link to={`/supervision/network${platform ? `?platform=${platform}` : ""}`} data-testid="network-link">{t("sup.network")}</Link>
            <Button size="small" disabled={!figures} onClick={() => void exportAs("xlsx")} data-testid="export-xlsx">{t("sup.exportXlsx")}</Button>
            <Button size="small" disabled={!figures} onClick={() => void exportAs("pdf")} data-testid="export-pdf">{t("sup.exportPdf")}</Button>
          </Space>
        </Space>
        {figures && <Typography.Text type="secondary">{t("sup.asOf", { date: figures.as_of })}</Typography.Text>}
        {error && <Alert style={{ marginTop: 12 }} type="error" showIcon message={error} />}
      </Card>
      {!ready && !error && <Alert type="info" showIcon message={t("sup.noPlatforms")} />}
      {ready && !figures && !error && <Spin aria-label={t("common.loading")} />}
      {figures && (
        <FigureView figures={figures} onDrill={setDrill} fraud={fraud} scanning={scanning} onScan={() => void scan()} tables={tables} />
      )}
      {/* the drill-down's first page is asked for beside the figures, not after them */}
      {ready && <DrillDown key={`${platform}:${scenario}:${drill.figure}:${drill.key ?? ""}`} drill={drill} onDrill={setDrill} platform={platform} scenario={scenario} />}
      {figures && <Alert type="info" showIcon message={t("sup.missingTitle")} description={t("sup.missingAll")} data-testid="missing-figures" />}
    </Space>
  );
}

type T = ReturnType<typeof useI18n>["t"];
type TOr = ReturnType<typeof useI18n>["tOr"];

/** Every table of the page, for the XLSX workbook and the PDF report. */
function reportTables(f: Figures, t: T, tOr: TOr): ReportTable[] {
  const all = f.all;
  const money = (s: { count: number; amount: Record<string, string> }) => sumsText(s, formatMinor);
  const kpis = kpiRows(all, t).map(([name, value]) => [name, value]);
  const byScenario = scenarioBlocks(f).map((b) => [
    b.scenario === "all" ? t("sup.filter.all") : tOr(`scenario.${b.scenario}`, b.scenario), b.trades, b.verified, b.failed,
    money(b.items), money(b.financing.issued), money(b.financing.outstanding), ratioText(b.overdue_ratio), ratioText(b.non_performing_ratio),
  ]);
  const tables: ReportTable[] = [
    { name: t("sup.kpis"), columns: [t("sup.figure"), t("sup.value")], rows: kpis },
    { name: t("sup.byScenario"), columns: [t("sup.scenario"), t("sup.trades"), t("sup.verified"), t("sup.failed"), t("sup.itemsIssued"), t("sup.financedAmount"), t("sup.finOutstanding"), t("sup.overdueRatio"), t("sup.npl")], rows: byScenario },
  ];
  if (f.by_platform) {
    tables.push({ name: t("sup.byPlatform"), columns: [t("sup.platform"), t("sup.trades"), t("sup.verified"), t("sup.financedAmount"), t("sup.overdueRatio")],
      rows: f.by_platform.map((p) => [p.name, p.trades, p.verified, money(p.financing.issued), ratioText(p.overdue_ratio)]) });
  }
  tables.push(
    { name: t("sup.byTier"), columns: [t("sup.tier"), t("sup.enterprisesFinanced"), t("sup.count"), t("sup.amount")],
      rows: tierRows(all.smes_financed_by_tier).map((r) => [r.tier === null ? t("sup.noTier") : r.tier, r.enterprises, r.count, formatMinor(r.minor)]) },
    { name: t("sup.term"), columns: [t("sup.termBucket"), t("sup.count"), t("sup.termLimit")],
      rows: Object.entries(all.term_distribution).map(([b, n]) => [b, n, t(`sup.limit.${TERM_LIMIT[b]}` as "sup.limit.within")]) },
    { name: t("sup.byCore"), columns: [t("sup.party"), t("portfolio.currency"), t("sup.count"), t("sup.amount"), t("sup.share")],
      rows: all.concentration.core.map((s) => [s.name, s.currency, s.count, s.amount, pct(s.share)]) },
    { name: t("sup.byBank"), columns: [t("sup.party"), t("portfolio.currency"), t("sup.count"), t("sup.amount"), t("sup.share")],
      rows: all.concentration.bank.map((s) => [s.name, s.currency, s.count, s.amount, pct(s.share)]) },
    { name: t("sup.modelAlerts"), columns: [t("sup.alertKind"), t("sup.alertMetric"), t("sup.value"), t("sup.alertMessage")],
      rows: f.alerts.model_latest.map((a) => [a.kind, a.metric, a.value, a.message]) },
  );
  return tables;
}

function kpiRows(all: Block, t: T): [string, string | number, Drill | null][] {
  const money = (s: { count: number; amount: Record<string, string> }) => sumsText(s, formatMinor);
  const d = all.days_to_pay;
  return [
    [t("sup.members"), all.enterprises_registered, null],
    [t("sup.enterprisesFinanced"), all.enterprises_financed, { figure: "financed" }],
    [t("sup.trades"), all.trades, { figure: "trades" }],
    [t("sup.verified"), all.verified, { figure: "verified" }],
    [t("sup.failed"), all.failed, { figure: "failed" }],
    [t("sup.itemsIssued"), money(all.items), { figure: "items" }],
    [t("sup.financedAmount"), money(all.financing.issued), { figure: "financed" }],
    [t("sup.finOutstanding"), money(all.financing.outstanding), { figure: "outstanding" }],
    [t("sup.finSettled"), money(all.financing.settled), { figure: "settled" }],
    [`${t("sup.declined")} / ${t("sup.referred")}`, `${all.financing.declined} / ${all.financing.referred}`, { figure: "declined" }],
    [t("sup.rates"), ratesText(all.rates), { figure: "financed" }],
    [t("sup.overdueAmount"), money(all.overdue), { figure: "overdue" }],
    [t("sup.overdueRatio"), ratioText(all.overdue_ratio), { figure: "overdue" }],
    [t("sup.npl"), ratioText(all.non_performing_ratio), { figure: "non_performing" }],
    [t("sup.daysToPay"), d.mean === null ? t("sup.daysToPayNone") : t("sup.daysToPayText", { settled: d.settled, mean: d.mean, over: d.over_60 }), { figure: "over_60" }],
  ];
}

function Kpis({ all, onDrill }: { all: Block; onDrill: (d: Drill) => void }) {
  const { t } = useI18n();
  return (
    <Row gutter={[12, 12]} data-testid="kpis">
      {kpiRows(all, t).map(([title, value, drill]) => (
        <Col key={title} xs={12} md={8} xl={6}>
          <Card size="small" hoverable={Boolean(drill)}>
            <Statistic title={title} value={value} valueStyle={{ fontSize: 18 }} />
            {drill && (
              <Button type="link" size="small" style={{ padding: 0 }} onClick={() => onDrill(drill)} aria-label={`${t("sup.drill")}: ${title}`}>
                {t("sup.drill")}
              </Button>
            )}
          </Card>
        </Col>
      ))}
    </Row>
  );
}

function Shares({ title, rows, figure, onDrill }: { title: string; rows: ShareRow[]; figure: "core" | "bank"; onDrill: (d: Drill) => void }) {
  const { t } = useI18n();
  const option = useMemo(() => ({
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: rows.slice(0, 12).map((s) => ({ name: `${s.name} (${s.currency})`, value: toMinor(s.amount) / 100 })) }],
  }), [rows]);
  const columns = [
    { title: t("sup.party"), value: (s: ShareRow) => s.name },
    { title: t("portfolio.currency"), value: (s: ShareRow) => s.currency },
    { title: t("sup.count"), value: (s: ShareRow) => s.count },
    { title: t("sup.amount"), value: (s: ShareRow) => s.amount },
    { title: t("sup.share"), value: (s: ShareRow) => pct(s.share) },
  ];
  return (
    <Card size="small" title={<H2>{title}</H2>} extra={<CsvButton name={figure} columns={columns} rows={rows} />}>
      {rows.length > 0 && <EChart option={option} height={200} label={title} />}
      <ScrollX label={title}>
        <Table<ShareRow> className="ff-nowrap" locale={emptyText(t("sup.noRows"))} size="small" rowKey={(s) => `${s.currency}:${s.org_id}`} dataSource={rows}
          pagination={{ pageSize: 5, hideOnSinglePage: true }}
          columns={[
            { title: t("sup.party"), render: (_, s) => <Button type="link" size="small" style={{ padding: 0 }} onClick={() => onDrill({ figure, key: s.org_id })}>{s.name}</Button> },
            { title: t("sup.count"), dataIndex: "count", align: "right", width: 60 },
            { title: t("sup.amount"), align: "right", render: (_, s) => `${s.currency} ${formatMinor(toMinor(s.amount))}` },
            { title: t("sup.share"), align: "right", width: 80, render: (_, s) => pct(s.share) },
          ]} />
      </ScrollX>
    </Card>
  );
}

function FigureView({ figures, onDrill, fraud, scanning, onScan, tables }: {
  figures: Figures; onDrill: (d: Drill) => void; fraud: Alerts | null; scanning: boolean; onScan: () => void; tables: ReportTable[];
}) {
  const { t, tOr } = useI18n();
  const all = figures.all;
  const scen = scenarioBlocks(figures).filter((b) => b.scenario !== "all");
  const tiers = tierRows(all.smes_financed_by_tier);
  const tierName = useCallback((tier: number | null) => (tier === null ? t("sup.noTier") : t("sup.tierN", { n: tier })), [t]);
  const table = (name: string) => tables.find((x) => x.name === name);
  const csvOf = (name: string) => {
    const found = table(name);
    if (!found) return null;
    const columns = found.columns.map((title, i) => ({ title, value: (r: (string | number | null)[]) => r[i] }));
    return <CsvButton name={name} columns={columns} rows={found.rows} />;
  };
  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Kpis all={all} onDrill={onDrill} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Deferred height={480}>
          <Card size="small" title={<H2>{t("sup.byScenario")}</H2>} extra={csvOf(t("sup.byScenario"))}>
            <EChart label={t("sup.byScenario")} height={220} option={{
              tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
              xAxis: { type: "category", data: scen.map((s) => tOr(`scenario.${s.scenario}`, s.scenario)) }, yAxis: { type: "value" },
              series: [
                { type: "bar", name: t("sup.trades"), data: scen.map((s) => s.trades) },
                { type: "bar", name: t("sup.itemsIssued"), data: scen.map((s) => s.items.count) },
                { type: "bar", name: t("sup.financed"), data: scen.map((s) => s.financing.issued.count) },
                { type: "bar", name: t("sup.overdue"), data: scen.map((s) => s.overdue.count) },
              ],
            }} />
            <ScrollX label={t("sup.byScenario")}>
              <Table size="small" rowKey={(r) => String(r[0])} locale={emptyText(t("sup.noRows"))} pagination={false} 
                dataSource={table(t("sup.byScenario"))?.rows ?? []}
                columns={(table(t("sup.byScenario"))?.columns ?? []).map((title, i) => ({ title, render: (_: unknown, r: (string | number | null)[]) => r[i] }))} />
            </ScrollX>
          </Card>
          </Deferred>
        </Col>
        <Col xs={24} xl={12}>
          <Deferred height={480}>
          <Card size="small" title={<H2>{t("sup.byTier")}</H2>} extra={csvOf(t("sup.byTier"))} data-testid="tiers">
            <EChart label={t("sup.byTier")} height={220} option={{
              tooltip: { trigger: "axis" }, grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
              xAxis: { type: "category", data: tiers.map((r) => tierName(r.tier)) }, yAxis: { type: "value" },
              series: [{ type: "bar", name: t("sup.enterprisesFinanced"), data: tiers.map((r) => r.enterprises) }],
            }} />
            <ScrollX label={t("sup.byTier")}>
              <Table className="ff-nowrap" size="small" rowKey={(r) => String(r.tier)} locale={emptyText(t("sup.noRows"))} pagination={false} dataSource={tiers}
                columns={[
                  { title: t("sup.tier"), render: (_, r) => <Button type="link" size="small" style={{ padding: 0 }} onClick={() => onDrill({ figure: "tier", key: r.tier === null ? "none" : String(r.tier) })}>{tierName(r.tier)}</Button> },
                  { title: t("sup.enterprisesFinanced"), dataIndex: "enterprises", align: "right" },
                  { title: t("sup.count"), dataIndex: "count", align: "right" },
                  { title: t("sup.amount"), align: "right", render: (_, r) => formatMinor(r.minor) },
                ]} />
            </ScrollX>
          </Card>
          </Deferred>
        </Col>
        {figures.by_platform && (
          <Col span={24}>
            <Deferred height={300}>
            <Card size="small" title={<H2>{t("sup.byPlatform")}</H2>} extra={csvOf(t("sup.byPlatform"))}>
              <ScrollX label={t("sup.byPlatform")}>
                <Table className="ff-nowrap" size="small" rowKey="platform_id" locale={emptyText(t("sup.noRows"))} pagination={{ pageSize: 5, hideOnSinglePage: true }} dataSource={figures.by_platform}
                  columns={[
                    { title: t("sup.platform"), render: (_, p) => <Link to={`/supervision?platform=${p.platform_id}`}>{p.name}</Link> },
                    { title: t("sup.members"), dataIndex: "enterprises_registered", align: "right" },
                    { title: t("sup.trades"), dataIndex: "trades", align: "right" },
                    { title: t("sup.financedAmount"), render: (_, p) => sumsText(p.financing.issued, formatMinor) },
                    { title: t("sup.overdueRatio"), render: (_, p) => ratioText(p.overdue_ratio) },
                    { title: t("sup.npl"), render: (_, p) => ratioText(p.non_performing_ratio) },
                  ]} />
              </ScrollX>
            </Card>
            </Deferred>
          </Col>
        )}
        <Col xs={24} xl={12}>
          <Deferred height={300}>
          <Card size="small" title={<H2>{t("sup.term")}</H2>} extra={csvOf(t("sup.term"))}>
            <EChart label={t("sup.term")} height={200} option={{ tooltip: { trigger: "item" },
              series: [{ type: "pie", radius: ["35%", "65%"], data: Object.entries(all.term_distribution).map(([b, n]) => ({ name: b, value: n })) }] }} />
            <Space wrap>
              {Object.entries(all.term_distribution).map(([b, n]) => (
                <Button key={b} size="small" onClick={() => onDrill({ figure: "term", key: b })}>{`${b}: ${n} · ${t(`sup.limit.${TERM_LIMIT[b]}` as "sup.limit.within")}`}</Button>
              ))}
            </Space>
          </Card>
          </Deferred>
        </Col>
        <Col xs={24} xl={12}>
          <Deferred height={300}>
          <Card size="small" title={<H2>{t("sup.daysToPay")}</H2>}>
            <EChart label={t("sup.daysToPay")} height={200} option={{ tooltip: { trigger: "item" },
              series: [{ type: "pie", radius: ["35%", "65%"], data: daysToPaySlices(all.days_to_pay).map((s) => ({ name: t(`sup.${s.key}` as "sup.within_60"), value: s.value })) }] }} />
            <Typography.Paragraph>
              {all.days_to_pay.mean === null ? t("sup.daysToPayNone")
                : t("sup.daysToPayText", { settled: all.days_to_pay.settled, mean: all.days_to_pay.mean, over: all.days_to_pay.over_60 })}
            </Typography.Paragraph>
          </Card>
          </Deferred>
        </Col>
        <Col xs={24} xl={12}><Deferred height={420}><Shares title={t("sup.byCore")} rows={all.concentration.core} figure="core" onDrill={onDrill} /></Deferred></Col>
        <Col xs={24} xl={12}><Deferred height={420}><Shares title={t("sup.byBank")} rows={all.concentration.bank} figure="bank" onDrill={onDrill} /></Deferred></Col>
        <Col span={24}>
          <Deferred height={260}>
          <Card size="small" title={<H2>{t("sup.alerts")}</H2>} data-testid="alerts"
            extra={<Button size="small" loading={scanning} onClick={onScan} data-testid="fraud-scan">{t("sup.scanFraud")}</Button>}>
            <Typography.Paragraph>
              {t("sup.modelAlertsText", { n: figures.alerts.model, kinds: Object.entries(figures.alerts.model_by_kind).map(([k, n]) => `${k} ${n}`).join(" · ") || "—" })}
            </Typography.Paragraph>
            {fraud && (
              <Typography.Paragraph data-testid="fraud-signals">
                {t("sup.fraudText", { n: fraud.fraud_signals ?? 0, trades: fraud.trades_signalled ?? 0,
                  types: Object.entries(fraud.fraud_by_type ?? {}).map(([k, n]) => `${k} ${n}`).join(" · ") || "—" })}{" "}
                <Button type="link" size="small" onClick={() => onDrill({ figure: "alerts" })}>{t("sup.drill")}</Button>
              </Typography.Paragraph>
            )}
            <ScrollX label={t("sup.alerts")}>
              <Table className="ff-nowrap" size="small" rowKey="id" locale={emptyText(t("sup.noRows"))} pagination={{ pageSize: 5, hideOnSinglePage: true }} dataSource={figures.alerts.model_latest}
                columns={[
                  { title: t("sup.alertKind"), render: (_, a) => <Tag color={a.severity === "alert" ? "red" : "orange"}>{a.kind}</Tag> },
                  { title: t("sup.alertMetric"), render: (_, a) => `${a.metric} ${a.value} / ${a.threshold}` },
                  { title: t("sup.asOfCol"), dataIndex: "as_of" },
                  { title: t("sup.alertMessage"), dataIndex: "message" },
                ]} />
            </ScrollX>
          </Card>
          </Deferred>
        </Col>
      </Row>
    </Space>
  );
}

const FIGURES = ["trades", "verified", "failed", "items", "financed", "outstanding", "settled", "declined", "referred", "overdue", "non_performing", "over_60", "alerts"];

function DrillDown({ drill, onDrill, platform, scenario }: { drill: Drill; onDrill: (d: Drill) => void; platform: string; scenario: string }) {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [page, setPage] = useState(1);
  const [found, setFound] = useState<TradePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tradeId, setTradeId] = useState<string | null>(null);
  useEffect(() => {
    let gone = false;
    get<TradePage>(api, "/supervision/trades", {
      figure: drill.figure, key: drill.key, platform_id: platform || undefined, scenario: scenario || undefined,
      offset: (page - 1) * PAGE, limit: PAGE,
    }).then((p) => !gone && (setFound(p), setError(null)), (e) => !gone && setError(words(e)));
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, drill, platform, scenario, page]);
  const flat = useMemo(() => flatRows(found?.rows ?? []), [found]);
  type Flat = (typeof flat)[number];
  const columns = [
    { title: t("sup.trade"), value: (r: Flat) => r.trade_id },
    { title: t("sup.scenario"), value: (r: Flat) => tOr(`scenario.${r.scenario}`, String(r.scenario)) },
    { title: t("sup.seller"), value: (r: Flat) => r.seller },
    { title: t("sup.tier"), value: (r: Flat) => r.seller_tier },
    { title: t("sup.buyer"), value: (r: Flat) => r.buyer },
    { title: t("sup.tradeStatus"), value: (r: Flat) => r.status },
    { title: t("bank.item.face"), value: (r: Flat) => r.face_value },
    { title: t("bank.item.outstanding"), value: (r: Flat) => r.outstanding },
    { title: t("bank.item.status"), value: (r: Flat) => r.item_status },
    { title: t("sup.termDays"), value: (r: Flat) => r.term_days },
    { title: t("sup.financingId"), value: (r: Flat) => r.financing_id },
    { title: t("sup.bank"), value: (r: Flat) => r.bank },
    { title: t("sup.finStatus"), value: (r: Flat) => r.financing_status },
    { title: t("sup.rate"), value: (r: Flat) => (r.rate_pct === null ? null : `${r.rate_pct}%`) },
    { title: t("bank.col.principal"), value: (r: Flat) => r.principal },
  ];
  const label = `${t(`sup.fig.${drill.figure}` as "sup.fig.trades")}${drill.key ? ` · ${drill.key}` : ""}`;
  return (
    <Card size="small" data-testid="drill"
      title={<H2>{`${t("sup.drillTrades")}: ${label}${found ? ` (${found.total})` : ""}`}</H2>}
      extra={
        <Space>
          <Select aria-label={t("sup.filter")} value={drill.figure} onChange={(figure) => { setPage(1); onDrill({ figure }); }} style={{ minWidth: 160 }}
            options={[...FIGURES, ...(FIGURES.includes(drill.figure) ? [] : [drill.figure])].map((v) => ({ value: v, label: t(`sup.fig.${v}` as "sup.fig.trades") }))} />
          <CsvButton name={`trades-${drill.figure}-${page}`} columns={columns} rows={flat} />
        </Space>
      }>
      {error && <Alert type="error" showIcon message={error} />}
      <ScrollX label={label}>
        <Table<Flat> locale={emptyText(t("sup.noRows"))} size="small" loading={!found && !error}
          rowKey={(r) => `${r.trade_id}:${r.financing_id ?? ""}`} dataSource={flat} className="ff-nowrap"
          pagination={{ current: page, pageSize: PAGE, total: found?.total ?? 0, showSizeChanger: false, onChange: setPage }}
          columns={columns.map((c, i) => ({
            title: c.title,
            render: (_: unknown, r: Flat) => i === 0
              ? <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setTradeId(String(r.trade_id))} aria-label={`${t("sup.evidence")} ${r.trade_id}`}>{r.trade_id}</Button>
              : c.value(r),
          }))} />
      </ScrollX>
      <EvidenceDrawer tradeId={tradeId} platform={platform} onClose={() => setTradeId(null)} />
    </Card>
  );
}

function EvidenceDrawer({ tradeId, platform, onClose }: { tradeId: string | null; platform: string; onClose: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [found, setFound] = useState<Evidence | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setFound(null);
    setError(null);
    if (!tradeId) return;
    let gone = false;
    get<Evidence>(api, `/supervision/trades/{trade_id}/evidence#${tradeId}`, { platform_id: platform || undefined }).then(
      (e) => !gone && setFound(e), (e) => !gone && setError(words(e)));
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, tradeId, platform]);
  const ops = (list: Evidence["items"][number]["chain"]) =>
    list.length ? list.map((o) => `${o.kind}: ${o.status}${o.block_number !== null ? ` #${o.block_number}` : ""}${o.tx_hash ? ` ${o.tx_hash.slice(0, 12)}…` : ""}`).join("; ") : t("sup.notOnChain");
  return (
    <Drawer open={tradeId !== null} onClose={onClose} width={Math.min(860, window.innerWidth)} title={tradeId ? t("sup.evidenceTitle", { id: tradeId }) : ""}>
      {error && <Alert type="error" showIcon message={error} />}
      {!error && !found && tradeId && <Spin aria-label={t("common.loading")} />}
      {found && (
        <Space direction="vertical" style={{ width: "100%" }} data-testid="evidence">
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t("sup.seller")}>{found.seller}</Descriptions.Item>
            <Descriptions.Item label={t("sup.buyer")}>{found.buyer}</Descriptions.Item>
            <Descriptions.Item label={t("sup.tradeStatus")}>{`${found.status}${found.score !== null ? ` (${found.score})` : ""}`}</Descriptions.Item>
            <Descriptions.Item label={t("sup.reportHash")}><Typography.Text code copyable>{found.report_hash ?? "—"}</Typography.Text></Descriptions.Item>
          </Descriptions>
          <Typography.Title level={2} style={{ fontSize: 15 }}>{t("sup.documents")}</Typography.Title>
          <ScrollX label={t("sup.documents")}>
            <Table size="small" rowKey="document_id" pagination={false} dataSource={found.documents} 
              columns={[
                { title: t("sup.docKind"), render: (_, d) => `${d.kind} ${d.number}` },
                { title: t("sup.docDate"), dataIndex: "issue_date" },
                { title: t("sup.submittedBy"), dataIndex: "submitted_by" },
                { title: t("sup.fingerprint"), render: (_, d) => <Typography.Text code>{d.fingerprint.slice(0, 22)}…</Typography.Text> },
                { title: t("sup.anchor"), render: (_, d) => (d.anchor ? `${d.anchor.batch_id.slice(0, 14)}… ${ops(d.anchor.operations)}` : t("sup.notAnchored")) },
              ]} />
          </ScrollX>
          <Typography.Title level={2} style={{ fontSize: 15 }}>{t("sup.itemChain")}</Typography.Title>
          {found.items.map((i) => (
            <Typography.Paragraph key={i.item_id}>{`${i.item_id} · ${i.status} · ${i.currency} ${i.face_value} · ${ops(i.chain)}`}</Typography.Paragraph>
          ))}
          {!found.items.length && <Typography.Paragraph>{t("sup.noItem")}</Typography.Paragraph>}
          <Typography.Title level={2} style={{ fontSize: 15 }}>{t("sup.financingChain")}</Typography.Title>
          {found.financings.map((f) => (
            <Typography.Paragraph key={f.financing_id}>{`${f.financing_id} · ${f.bank} · ${f.status} · ${f.rate_pct}% · ${ops(f.chain)}`}</Typography.Paragraph>
          ))}
          {!found.financings.length && <Typography.Paragraph>{t("sup.noFinancing")}</Typography.Paragraph>}
        </Space>
      )}
    </Drawer>
  );
}
