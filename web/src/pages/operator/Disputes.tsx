// The platform operator's disputes (issue 16 item 1: the CLI's `item dispute --resolution` in
// the browser): GET /disputes lists the items their debtors dispute now; the operator's admin
// resolves one, upheld or rejected with its reasons (POST /items/{id}/dispute/resolution:
// recorded, its hash on the chain, the item open again); each item opens in the evidence
// drawer (GET /items/{id}).
import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Descriptions, Form, Input, Modal, Radio, Space, Table, Typography } from "antd";
import dayjs from "dayjs";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { ItemDrawer, useRefusal } from "../bank/common";
import { OUTCOMES, daysOpen, mayDecide, resolutionBody, type Dispute, type Outcome } from "./model";

interface Resolution {
  outcome: Outcome;
  reason: string;
}

export function Disputes() {
  const { t } = useI18n();
  const { api, me } = useSession();
  const { message } = App.useApp();
  const words = useRefusal();
  const [rows, setRows] = useState<Dispute[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [resolving, setResolving] = useState<Dispute | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [itemId, setItemId] = useState<string | null>(null);
  const [form] = Form.useForm<Resolution>();
  const decide = mayDecide(me, "disputes");
  const today = dayjs().format("YYYY-MM-DD");

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setRows(must(await api.client.GET("/api/v1/disputes", {})));
      setError(null);
    } catch (e) {
      setError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);

  const open = (d: Dispute) => {
    form.resetFields();
    setRefusal(null);
    setResolving(d);
  };

  const resolve = async () => {
    if (!resolving) return;
    const f = await form.validateFields();
    const body = resolutionBody(f.outcome, f.reason);
    if (!body) return;
    setBusy(true);
    try {
      must(
        await api.client.POST("/api/v1/items/{item_id}/dispute/resolution", {
          params: { path: { item_id: resolving.item_id } },
          body,
        }),
      );
      void message.success(t("disputes.resolved", { id: resolving.item_id, outcome: t(`disputes.short.${body.outcome}`) }));
      setResolving(null);
      await load();
    } catch (e) {
      setRefusal(words(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card>
      <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("disputes.title")}</Typography.Title>
        <Button onClick={() => void load()}>{t("common.refresh")}</Button>
      </Space>
      <Typography.Paragraph style={{ marginTop: 16 }}>{t("disputes.help")}</Typography.Paragraph>
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
      <ScrollX label={t("disputes.title")}>
        <Table<Dispute>
          data-testid="disputes"
          rowKey="item_id"
          loading={loading}
          dataSource={rows}
          size="small"
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          locale={{ emptyText: <Typography.Text>{t("disputes.empty")}</Typography.Text> }}
          columns={[
            {
              title: t("disputes.item"),
              dataIndex: "item_id",
              render: (id: string) => (
                <Button type="link" size="small" style={{ padding: 0 }} aria-label={`${t("disputes.open")} ${id}`} onClick={() => setItemId(id)}>
                  {id}
                </Button>
              ),
            },
            { title: t("disputes.debtor"), dataIndex: "debtor_name" },
            { title: t("disputes.creditor"), dataIndex: "creditor_name" },
            {
              title: t("disputes.outstanding"),
              align: "right",
              render: (_, d) => `${d.outstanding.currency} ${d.outstanding.amount}`,
            },
            { title: t("disputes.maturity"), dataIndex: "maturity_date" },
            {
              title: t("disputes.raisedOn"),
              render: (_, d) => {
                const days = daysOpen(d.raised_on, today);
                return d.raised_on ? `${d.raised_on}${days === null ? "" : ` (${t("disputes.days", { days })})`}` : "—";
              },
            },
            { title: t("disputes.reason"), dataIndex: "reason", render: (v: string | null) => v ?? "—" },
            {
              title: t("disputes.actions"),
              render: (_, d) =>
                decide ? (
                  <Button size="small" type="primary" data-testid={`resolve-${d.item_id}`} aria-label={`${t("disputes.resolve")} ${d.item_id}`} onClick={() => open(d)}>
                    {t("disputes.resolve")}
                  </Button>
                ) : null,
            },
          ]}
        />
      </ScrollX>
      <Modal
        open={resolving !== null}
        title={resolving ? t("disputes.resolveTitle", { id: resolving.item_id }) : ""}
        onCancel={() => setResolving(null)}
        footer={[
          <Button key="cancel" onClick={() => setResolving(null)}>{t("common.cancel")}</Button>,
          <Button key="submit" type="primary" loading={busy} data-testid="resolve-submit" onClick={() => void resolve()}>
            {t("disputes.submit")}
          </Button>,
        ]}
      >
        {resolving && (
          <>
            <Descriptions column={1} size="small" bordered style={{ marginBottom: 16 }}>
              <Descriptions.Item label={t("disputes.debtor")}>{resolving.debtor_name}</Descriptions.Item>
              <Descriptions.Item label={t("disputes.creditor")}>{resolving.creditor_name}</Descriptions.Item>
              <Descriptions.Item label={t("disputes.reason")}>{resolving.reason ?? "—"}</Descriptions.Item>
            </Descriptions>
            <Form<Resolution> form={form} layout="vertical">
              <Form.Item
                name="outcome"
                label={t("disputes.outcome")}
                // checked by a validator, not `required`: Ant Design would put aria-required on
                // the radio group's plain div (axe: aria-allowed-attr)
                rules={[{ validator: (_, v) => (OUTCOMES.includes(v as Outcome) ? Promise.resolve() : Promise.reject(new Error(t("common.required")))) }]}
              >
                <Radio.Group>
                  <Space direction="vertical">
                    {OUTCOMES.map((o) => (
                      <Radio key={o} value={o}>{t(`disputes.outcome.${o}`)}</Radio>
                    ))}
                  </Space>
                </Radio.Group>
              </Form.Item>
              <Form.Item
                name="reason"
                label={t("disputes.resolution")}
                rules={[{ required: true, whitespace: true, message: t("common.required") }]}
              >
                <Input.TextArea rows={3} maxLength={2000} data-testid="resolution-reason" />
              </Form.Item>
            </Form>
            {refusal && <Alert type="error" showIcon message={refusal} data-testid="resolve-error" />}
          </>
        )}
      </Modal>
      <ItemDrawer itemId={itemId} onClose={() => setItemId(null)} />
    </Card>
  );
}
