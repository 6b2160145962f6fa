// A trade's four flows side by side (issue 17 item 2): my trades (GET /trades, a page at a
// time, with their verification state); the verification's verdict, score, payment state and
// the report hash registered on chain, its findings in words by flow; and the evidence chain:
// each document's submitter, signer, time, fingerprint and on-chain anchor (GET
// /trades/{id}/documents); on a verified trade I sell with no item yet, issuing its debt item
// (POST /items), the new item then opened (ItemPanel).
import { useCallback, useEffect, useState } from "react";
import { Alert, App as AntApp, AutoComplete, Button, Card, Col, Descriptions, Form, Input, List, Row, Space, Table, Tooltip, Typography } from "antd";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { ScrollX } from "../../components/ScrollX";
import { useSearchParams } from "react-router-dom";
import { must } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { useSession } from "../../session";
import { mayAct } from "./access";
import { useWords } from "./common";
import { ItemPanel } from "./ItemPanel";
import { groupFindings, type VerificationView } from "./model";
import {
  evidenceLines, evidenceSummary, issuable, pageQuery, plainDay, shortHash, type TradeDocuments, type TradesPage,
} from "./evidence";

/** My trades listed a page at a time. */
const PAGE_SIZE = 10;

const STATE_TONE: Record<string, Tone> = { ok: "good", warning: "warn", error: "bad", missing: "bad" };
const SEVERITY_TONE: Record<string, Tone> = { error: "bad", warning: "warn", info: "info" };

export function TradeView() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const { message } = AntApp.useApp();
  const words = useWords();
  const [params, setParams] = useSearchParams();
  const [tradeId, setTradeId] = useState(params.get("trade") ?? "");
  const [report, setReport] = useState<VerificationView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mine, setMine] = useState<TradesPage | null>(null);
  const [page, setPage] = useState(1);
  const [evidence, setEvidence] = useState<TradeDocuments | null>(null);
  const [evidenceError, setEvidenceError] = useState<string | null>(null);
  const [issuing, setIssuing] = useState(false);
  const [issueBusy, setIssueBusy] = useState(false);
  const [issueError, setIssueError] = useState<string | null>(null);
  const [issuedItem, setIssuedItem] = useState<string | null>(null);
  const [openItem, setOpenItem] = useState<string | null>(null);
  const [issueForm] = Form.useForm<{ as_of?: string }>();

  const loadTrades = useCallback(async () => {
    try {
      const found = must(await api.client.GET("/api/v1/trades", { params: { query: pageQuery(page, PAGE_SIZE) } }));
      setMine(found as unknown as TradesPage);
    } catch (e) {
      setError(words(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, page]);
  useEffect(() => void loadTrades(), [loadTrades]);

  async function loadEvidence(id: string) {
    setEvidence(null);
    setEvidenceError(null);
    try {
      const found = must(await api.client.GET("/api/v1/trades/{trade_id}/documents", { params: { path: { trade_id: id } } }));
      setEvidence(found as unknown as TradeDocuments);
    } catch (e) {
      setEvidenceError(words(e));
    }
  }

  async function verify(id: string, withEvidence = true) {
    const trimmed = id.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    setReport(null);
    setIssuing(false);
    setIssueError(null);
    setIssuedItem(null);
    // the documents' evidence does not wait for the verification (asked beside it, not after)
    const evidenceLoaded = withEvidence ? loadEvidence(trimmed) : undefined;
    try {
      const found = must(
        await api.client.POST("/api/v1/trades/{trade_id}/verification", { params: { path: { trade_id: trimmed } }, body: {} }),
      ) as unknown as VerificationView;
      setReport(found);
      setParams({ trade: trimmed }, { replace: true });
      void evidenceLoaded;
      void loadTrades();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }

  /** Issue the verified trade's debt item (POST /items); the new item is opened. */
  async function issue(tradeOf: string, asOf: string | undefined) {
    setIssueBusy(true);
    setIssueError(null);
    try {
      const day = plainDay(asOf);
      const item = must(
        await api.client.POST("/api/v1/items", { body: { trade_id: tradeOf, ...(day ? { as_of: day } : {}) } }),
      ) as unknown as { item_id: string };
      setIssuedItem(item.item_id);
      setIssuing(false);
      issueForm.resetFields();
      void message.success(t("trade.issued", { id: item.item_id }));
      setOpenItem(item.item_id);
      void loadTrades();
    } catch (e) {
      setIssueError(words(e));
    } finally {
      setIssueBusy(false);
    }
  }

  const row = report ? (mine?.trades.find((m) => m.trade_id === report.trade_id) ?? null) : null;
  const itemOf = issuedItem ?? row?.item_id ?? null;
  const mayIssue = report !== null && itemOf === null && mayAct(me, "manage") && issuable(report.status, row);

  /** A trade opened by its address: its latest verification read (GET, nothing run again) beside
   * its documents' evidence, so the page does not wait for a verification (the chain's lock, a
   * report registered); one never verified is verified as before. Verify runs it again. */
  async function open(id: string) {
    setBusy(true);
    setError(null);
    const evidenceLoaded = loadEvidence(id);
    try {
      const found = must(
        await api.client.GET("/api/v1/trades/{trade_id}/verification", { params: { path: { trade_id: id } } }),
      ) as unknown as VerificationView;
      if (found.status === "unverified") return void verify(id, false); // its evidence already asked
      setReport(found);
      void evidenceLoaded;
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    const given = params.get("trade")?.trim();
    if (given) void open(given);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("trade.title")}</Typography.Title>
      <Form layout="inline" onFinish={() => void verify(tradeId)}>
        <Form.Item label={t("trade.id")} htmlFor="trade-id" extra={t("trade.idHelp")} style={{ maxWidth: "min(640px, 100%)" }}>
          <AutoComplete
            id="trade-id"
            data-testid="trade-id"
            value={tradeId}
            onChange={(v: string) => setTradeId(v)}
            options={(mine?.trades ?? [])
              .filter((m) => m.trade_id.includes(tradeId.trim()))
              .map((m) => ({ value: m.trade_id, label: `${m.trade_id} · ${m.role === "buyer" ? m.seller_name : m.buyer_name}` }))}
            style={{ width: "min(420px, calc(100vw - 48px))" }}
            popupMatchSelectWidth={560}
          />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={busy} disabled={!tradeId.trim()} data-testid="trade-verify">
            {t("trade.verify")}
          </Button>
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon message={error} data-testid="trade-error" />}
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("trade.mine")}</h2>}>
        <ScrollX label={t("trade.mine")}>
          <Table
            data-testid="my-trades"
            size="small"
            rowKey="trade_id"
            loading={mine === null}
            dataSource={mine?.trades ?? []}
            locale={{ emptyText: t("trade.mineEmpty") }}
            pagination={{
              current: page,
              pageSize: PAGE_SIZE,
              total: mine?.total ?? 0,
              hideOnSinglePage: true,
              showSizeChanger: false,
              onChange: (p) => setPage(p),
            }}
            columns={[
              {
                title: t("trade.id"),
                dataIndex: "trade_id",
                render: (id: string) => (
                  <Button
                    type="link"
                    size="small"
                    style={{ padding: 0 }}
                    data-testid={`trade-open-${id}`}
                    onClick={() => {
                      setTradeId(id);
                      void verify(id);
                    }}
                  >
                    {id}
                  </Button>
                ),
              },
              { title: t("trade.role"), dataIndex: "role", render: (r: string | null) => (r ? t(`trade.role.${r}` as MessageKey) : "—") },
              {
                title: t("trade.counterparty"),
                render: (_, r) => (r.role === "buyer" ? r.seller_name : r.buyer_name) || "—",
              },
              { title: t("trade.scenario"), dataIndex: "scenario", render: (v: string) => tOr(`scenario.${v}`, v) },
              { title: t("trade.documents"), dataIndex: "documents", align: "right" },
              {
                title: t("trade.status"),
                dataIndex: "status",
                render: (v: string) => (
                  <StatusTag tone={v === "verified" ? "good" : v === "failed" ? "bad" : "warn"}>{tOr(`trade.verdict.${v}`, v)}</StatusTag>
                ),
              },
              { title: t("trade.score"), dataIndex: "score", align: "right", render: (v: number | null) => v ?? "—" },
              { title: t("position.item"), dataIndex: "item_id", render: (v: string | null) => v ?? "—" },
            ]}
          />
        </ScrollX>
      </Card>
      {report && (
        <>
          <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} data-testid="trade-report">
            <Descriptions.Item label={t("trade.id")}>{report.trade_id}</Descriptions.Item>
            <Descriptions.Item label={t("trade.status")}>
              <StatusTag tone={report.status === "verified" ? "good" : report.status === "failed" ? "bad" : "warn"}>
                {tOr(`trade.verdict.${report.status}`, report.status)}
              </StatusTag>
            </Descriptions.Item>
            <Descriptions.Item label={t("trade.score")}>{report.score}</Descriptions.Item>
            <Descriptions.Item label={t("trade.paymentState")}>
              {tOr(`trade.payment.${report.payment_state}`, report.payment_state || "—")}
            </Descriptions.Item>
            <Descriptions.Item label={t("trade.reportHash")} span={2}>
              <Typography.Text code copyable style={{ wordBreak: "break-all" }}>{report.report_hash}</Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t("trade.item")} span={2}>
              {itemOf ? (
                <Button type="link" size="small" style={{ padding: 0 }} data-testid="trade-item" onClick={() => setOpenItem(itemOf)}>
                  {itemOf}
                </Button>
              ) : mayIssue && !issuing ? (
                <Button type="primary" size="small" data-testid="issue-item" onClick={() => setIssuing(true)}>
                  {t("trade.issue")}
                </Button>
              ) : (
                "—"
              )}
            </Descriptions.Item>
          </Descriptions>
          {mayIssue && issuing && (
            <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("trade.issueTitle", { id: report.trade_id })}</h2>}>
              <Typography.Paragraph>{t("trade.issueHelp")}</Typography.Paragraph>
              <Form form={issueForm} layout="vertical" onFinish={(v) => void issue(report.trade_id, v.as_of)} style={{ maxWidth: 420 }}>
                <Form.Item
                  name="as_of"
                  label={t("trade.issueAsOf")}
                  htmlFor="issue-as-of"
                  rules={[
                    {
                      validator: (_: unknown, v: string | undefined) =>
                        !v?.trim() || plainDay(v) ? Promise.resolve() : Promise.reject(new Error(t("trade.issueAsOfBad"))),
                    },
                  ]}
                >
                  <Input id="issue-as-of" placeholder="YYYY-MM-DD" autoComplete="off" />
                </Form.Item>
                {issueError && (
                  <Alert type="error" showIcon message={issueError} data-testid="issue-item-error" style={{ marginBottom: 12 }} />
                )}
                <Space>
                  <Button type="primary" htmlType="submit" loading={issueBusy} data-testid="issue-item-submit">
                    {t("trade.issueSubmit")}
                  </Button>
                  <Button
                    onClick={() => {
                      setIssuing(false);
                      setIssueError(null);
                    }}
                  >
                    {t("common.cancel")}
                  </Button>
                </Space>
              </Form>
            </Card>
          )}
          <Row gutter={[12, 12]} data-testid="trade-flows">
            {groupFindings(report.findings).map((col) => (
              <Col key={col.flow} xs={24} md={12} xl={col.flow === "trade" ? 24 : 6}>
                <Card
                  size="small"
                  title={<h2 style={{ fontSize: 14, margin: 0, whiteSpace: "normal" }}>{t(`trade.flow.${col.flow}` as MessageKey)}</h2>}
                  extra={<StatusTag tone={STATE_TONE[col.state]}>{t(`trade.state.${col.state}` as MessageKey)}</StatusTag>}
                  data-flow={col.flow}
                >
                  <List
                    size="small"
                    dataSource={col.findings}
                    locale={{ emptyText: <Typography.Text>{t("trade.state.ok")}</Typography.Text> }}
                    renderItem={(f) => (
                      <List.Item>
                        <span>
                          <StatusTag tone={SEVERITY_TONE[f.severity] ?? "plain"}>{tOr(`trade.severity.${f.severity}`, f.severity)}</StatusTag>
                          {f.message} <Typography.Text>({f.code})</Typography.Text>
                        </span>
                      </List.Item>
                    )}
                  />
                </Card>
              </Col>
            ))}
          </Row>
          {evidenceError && <Alert type="error" showIcon message={evidenceError} data-testid="evidence-error" />}
          {evidence && <EvidenceChain evidence={evidence} />}
        </>
      )}
      <ItemPanel itemId={openItem} onClose={() => setOpenItem(null)} onChanged={() => void loadTrades()} />
    </Space>
  );
}

/** Each document of the trade: who submitted and signed it, when, its fingerprint and its
 *  anchor on the chain (transaction, block, Merkle root and the proof's length). */
function EvidenceChain({ evidence }: { evidence: TradeDocuments }) {
  const { t, tOr } = useI18n();
  const sum = evidenceSummary(evidence.documents);
  return (
    <Card
      size="small"
      title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("trade.evidence")}</h2>}
      extra={<span data-testid="evidence-summary">{t("trade.evidenceSummary", sum)}</span>}
    >
      <ScrollX label={t("trade.evidence")}>
        <Table
          data-testid="trade-evidence"
          size="small"
          rowKey="key"
          pagination={false}
          dataSource={evidenceLines(evidence.documents)}
          columns={[
            {
              title: t("trade.doc.kind"),
              render: (_, l) => (
                <>
                  {`${tOr(`doc.kind.${l.kind}`, l.kind)} ${l.number}`}
                  {l.bank && (
                    <Tooltip title={l.bank.title}>
                      <span data-testid={`bank-status-${l.key}`} style={{ marginLeft: 6 }}>
                        <StatusTag tone={l.bank.tone}>
                          {t(l.bank.tone === "bad" ? "trade.doc.bankRejected" : "trade.doc.bank", { codes: l.bank.codes })}
                        </StatusTag>
                      </span>
                    </Tooltip>
                  )}
                </>
              ),
            },
            { title: t("trade.doc.submitter"), dataIndex: "submitter" },
            { title: t("trade.doc.at"), dataIndex: "at", width: 180 },
            {
              title: t("trade.doc.signer"),
              render: (_, l) =>
                l.signer ? (
                  <Tooltip title={l.algorithm ?? ""}>
                    <code style={{ wordBreak: "break-all" }}>{shortHash(l.signer, 6)}</code>
                  </Tooltip>
                ) : (
                  t("trade.doc.unsigned")
                ),
            },
            {
              title: t("trade.doc.fingerprint"),
              render: (_, l) => (
                <Typography.Text code copyable={{ text: l.fingerprint }} title={l.fingerprint}>
                  {shortHash(l.fingerprint, 6)}
                </Typography.Text>
              ),
            },
            {
              title: t("trade.doc.anchor"),
              render: (_, l) =>
                l.anchored ? (
                  <span data-testid={`anchor-${l.key}`}>
                    <StatusTag tone="good">{t("trade.doc.anchored")}</StatusTag>
                    <span style={{ display: "block", fontSize: 12 }}>
                      {t("trade.doc.block", { block: l.block ?? "—" })} · tx{" "}
                      <Typography.Text code copyable={{ text: l.tx ?? "" }} title={l.tx ?? ""}>
                        {shortHash(l.tx, 6)}
                      </Typography.Text>
                    </span>
                    <span style={{ display: "block", fontSize: 12 }}>
                      {t("trade.doc.root", { n: l.proofLength })}{" "}
                      <code title={l.root ?? ""}>{shortHash(l.root, 6)}</code>
                    </span>
                  </span>
                ) : (
                  <Tooltip title={l.waits ?? ""}>
                    <span data-testid={`anchor-${l.key}`}>
                      <StatusTag tone="warn">{t("trade.doc.pending")}</StatusTag>
                    </span>
                  </Tooltip>
                ),
            },
          ]}
        />
      </ScrollX>
    </Card>
  );
}
