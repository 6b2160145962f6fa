// The credit model registry (issue 17 item 4): the champion that scores every request, the
// challengers scored alongside and retired models, each with its validation figures (AUC, KS,
// Brier on its validation window) and the note of its promotion; the monitoring's alerts for
// this bank and the platform (drift as PSI, performance, approval rate, realised loss).
// GET /bank/models (services/credit/registry.py and monitoring.py).
import { useCallback, useEffect, useState } from "react";
import { Alert, Button, Card, Col, Descriptions, Row, Space, Table, Typography } from "antd";
import { ReloadOutlined } from "@ant-design/icons";
import { must } from "../../api/client";
import { EChart } from "../../components/EChart";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { emptyText, useRefusal } from "./common";
import { alertCounts, modelBars, type Registry } from "./queue";

const ROLE_TONE: Record<string, Tone> = { champion: "good", challenger: "info", retired: "plain" };

export function Models() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [data, setData] = useState<Registry | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    setError(null);
    try {
      setData(must(await api.client.GET("/api/v1/bank/models")) as unknown as Registry);
    } catch (e) {
      setError(words(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);

  const bars = modelBars(data?.models ?? []);
  const champion = data?.models.find((m) => m.model_id === data.champion) ?? null;
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Space wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("models.title")}</Typography.Title>
        <Button icon={<ReloadOutlined />} onClick={() => void load()}>{t("common.refresh")}</Button>
      </Space>
      {error && <Alert type="error" showIcon message={error} />}
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("models.champion")}</h2>} loading={data === null && !error}>
        {champion ? (
          <Descriptions data-testid="model-champion" size="small" bordered column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t("models.id")}>{champion.model_id}</Descriptions.Item>
            <Descriptions.Item label={t("models.kind")}>{champion.kind}</Descriptions.Item>
            <Descriptions.Item label={t("models.asOf")}>{champion.as_of}</Descriptions.Item>
            <Descriptions.Item label="AUC">{champion.validation.auc ?? "—"}</Descriptions.Item>
            <Descriptions.Item label="KS">{champion.validation.ks ?? "—"}</Descriptions.Item>
            <Descriptions.Item label="Brier">{champion.validation.brier ?? "—"}</Descriptions.Item>
            <Descriptions.Item label={t("models.rows")}>{champion.training_rows}</Descriptions.Item>
            <Descriptions.Item label={t("models.source")}>{champion.validation.source ?? "—"}</Descriptions.Item>
            <Descriptions.Item label={t("models.dataHash")}>
              <code style={{ wordBreak: "break-all" }}>{champion.data_hash}</code>
            </Descriptions.Item>
            <Descriptions.Item label={t("models.note")} span={3}>{champion.note ?? "—"}</Descriptions.Item>
          </Descriptions>
        ) : (
          <Typography.Text>{t("models.noChampion")}</Typography.Text>
        )}
      </Card>
      <Row gutter={[12, 12]}>
        <Col xs={24} xl={14}>
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("models.all")}</h2>}>
            <ScrollX label={t("models.all")}>
              <Table
                data-testid="model-registry"
                size="small"
                rowKey="model_id"
                pagination={false}
                dataSource={data?.models ?? []}
                locale={emptyText(t("models.none"))}
                columns={[
                  { title: t("models.id"), dataIndex: "model_id" },
                  { title: t("models.role"), dataIndex: "role", render: (r: string) => <StatusTag tone={ROLE_TONE[r] ?? "plain"}>{tOr(`models.role.${r}`, r)}</StatusTag> },
                  { title: "AUC", align: "right", render: (_, m) => m.validation.auc ?? "—" },
                  { title: "KS", align: "right", render: (_, m) => m.validation.ks ?? "—" },
                  { title: "Brier", align: "right", render: (_, m) => m.validation.brier ?? "—" },
                  { title: t("models.rows"), dataIndex: "training_rows", align: "right" },
                  { title: t("models.asOf"), dataIndex: "as_of" },
                  { title: t("models.note"), dataIndex: "note", render: (v: string | null) => <span style={{ fontSize: 12 }}>{v ?? "—"}</span> },
                ]}
              />
            </ScrollX>
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("models.chart")}</h2>}>
            {bars.names.length > 0 ? (
              <EChart
                key={bars.names.join(",")}
                label={t("models.chart")}
                height={220}
                option={{
                  tooltip: { trigger: "axis" },
                  legend: { data: ["AUC", "KS"] },
                  grid: { left: 40, right: 10, top: 30, bottom: 30 },
                  xAxis: { type: "category", data: bars.names },
                  yAxis: { type: "value", min: 0, max: 1 },
                  series: [
                    { name: "AUC", type: "bar", data: bars.auc },
                    { name: "KS", type: "bar", data: bars.ks },
                  ],
                }}
              />
            ) : (
              <Typography.Text>{t("models.none")}</Typography.Text>
            )}
          </Card>
        </Col>
      </Row>
      <Card
        size="small"
        title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("models.alerts")}</h2>}
        extra={
          <span data-testid="model-alert-counts">
            {alertCounts(data?.alerts ?? [])
              .map((c) => t("models.alertCount", { kind: tOr(`models.alertKind.${c.kind}`, c.kind), alert: c.alert, warning: c.warning }))
              .join(" · ")}
          </span>
        }
      >
        <Typography.Paragraph style={{ fontSize: 12 }}>{t("models.alertsHelp")}</Typography.Paragraph>
        <ScrollX label={t("models.alerts")}>
          <Table
            data-testid="model-alerts"
            size="small"
            rowKey="alert_id"
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            dataSource={data?.alerts ?? []}
            locale={emptyText(t("models.noAlerts"))}
            columns={[
              { title: t("models.asOf"), dataIndex: "as_of", width: 110 },
              { title: t("models.alertKind"), dataIndex: "kind", render: (k: string) => tOr(`models.alertKind.${k}`, k) },
              { title: t("models.severity"), dataIndex: "severity", render: (s: string) => <StatusTag tone={s === "alert" ? "bad" : "warn"}>{tOr(`models.severity.${s}`, s)}</StatusTag> },
              { title: t("models.metric"), render: (_, a) => `${a.metric} ${a.value} (${t("models.threshold")} ${a.threshold})` },
              { title: t("models.id"), dataIndex: "model_id", render: (v: string | null) => v ?? "—" },
              { title: t("models.message"), dataIndex: "message" },
            ]}
          />
        </ScrollX>
      </Card>
    </Space>
  );
}
