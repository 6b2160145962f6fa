// A trade's four flows side by side (issue 17 item 2): the verification's verdict, score,
// payment state and the report hash registered on chain, its findings in words by flow.
import { useEffect, useState } from "react";
import { Alert, AutoComplete, Button, Card, Col, Descriptions, Form, List, Row, Space, Typography } from "antd";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { useSearchParams } from "react-router-dom";
import { must } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { useSession } from "../../session";
import { useWords } from "./common";
import { groupFindings, positionItems, tradesOfItems, type ItemView, type PositionView, type VerificationView } from "./model";

/** At most this many of my items are read to list my trades (one GET /items/{id} each). */
const MAX_ITEMS = 50;

const STATE_TONE: Record<string, Tone> = { ok: "good", warning: "warn", error: "bad", missing: "bad" };
const SEVERITY_TONE: Record<string, Tone> = { error: "bad", warning: "warn", info: "info" };

export function TradeView() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useWords();
  const [params, setParams] = useSearchParams();
  const [tradeId, setTradeId] = useState(params.get("trade") ?? "");
  const [report, setReport] = useState<VerificationView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mine, setMine] = useState<{ trade_id: string; label: string }[]>([]);

  useEffect(() => {
    // My trades, from the items my position names (the API has no list of a member's trades).
    let gone = false;
    (async () => {
      const position = must(await api.client.GET("/api/v1/position")) as unknown as PositionView;
      const items = await Promise.all(
        positionItems(position, MAX_ITEMS).map(async (id) =>
          must(await api.client.GET("/api/v1/items/{item_id}", { params: { path: { item_id: id } } })) as unknown as ItemView,
        ),
      );
      if (!gone) setMine(tradesOfItems(items));
    })().catch(() => undefined); // only suggestions: a trade id can still be typed
    return () => void (gone = true);
  }, [api]);

  async function verify(id: string) {
    const trimmed = id.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      const found = must(
        await api.client.POST("/api/v1/trades/{trade_id}/verification", { params: { path: { trade_id: trimmed } }, body: {} }),
      ) as unknown as VerificationView;
      setReport(found);
      setParams({ trade: trimmed }, { replace: true });
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    const given = params.get("trade");
    if (given) void verify(given);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("trade.title")}</Typography.Title>
      <Form layout="inline" onFinish={() => void verify(tradeId)}>
        <Form.Item label={t("trade.id")} htmlFor="trade-id" extra={t("trade.idHelp")} style={{ maxWidth: 640 }}>
          <AutoComplete
            id="trade-id"
            data-testid="trade-id"
            value={tradeId}
            onChange={(v: string) => setTradeId(v)}
            options={mine.filter((m) => m.label.includes(tradeId.trim())).map((m) => ({ value: m.trade_id, label: m.label }))}
            style={{ width: 420 }}
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
          </Descriptions>
          <Alert type="info" showIcon message={t("trade.noDocs")} />
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
        </>
      )}
    </Space>
  );
}
