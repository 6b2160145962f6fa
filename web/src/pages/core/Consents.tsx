// Core enterprise (issue 17 item 3): its consents to banks (grant, revoke with a reason) and
// the monthly data-use statement (reads, records and fees per bank and data kind).
import { useCallback, useEffect, useState } from "react";
import { Alert, App as AntApp, Button, Card, Checkbox, DatePicker, Form, Input, Modal, Radio, Space, Table, Typography } from "antd";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { ReloadOutlined } from "@ant-design/icons";
import dayjs, { type Dayjs } from "dayjs";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { mayAct } from "../enterprise/access";
import { useWords } from "../enterprise/common";
import { monthOf, type ConsentView, type StatementView } from "../enterprise/model";

const KINDS = ["payment_history", "trades"] as const;
const PURPOSES = ["credit_review", "post_loan_monitoring"] as const;
const STATUS_TONE: Record<string, Tone> = { active: "good", revoked: "bad", expired: "plain", pending: "info" };

export function Consents() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const { message } = AntApp.useApp();
  const words = useWords();
  const [rows, setRows] = useState<ConsentView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const admin = mayAct(me, "grantConsent");
  const load = useCallback(async () => {
    setError(null);
    try {
      setRows(must(await api.client.GET("/api/v1/consents")) as unknown as ConsentView[]);
    } catch (e) {
      setError(words(e));
      setRows([]);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);

  async function grant(v: { grantee: string; kinds: string[]; purpose: string; counterparties?: string; valid_to: Dayjs }) {
    setBusy(true);
    setError(null);
    try {
      const done = must(
        await api.client.POST("/api/v1/consents", {
          body: {
            grantee: v.grantee.trim(),
            kinds: v.kinds as (typeof KINDS)[number][],
            purpose: v.purpose as (typeof PURPOSES)[number],
            counterparties: (v.counterparties ?? "").split(",").map((s) => s.trim()).filter(Boolean),
            valid_to: v.valid_to.format("YYYY-MM-DD"),
          },
        }),
      ) as unknown as ConsentView;
      void message.success(t("consents.granted", { id: done.consent_id }));
      await load();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }

  async function revoke() {
    if (!revoking || !reason.trim()) return;
    setBusy(true);
    setError(null);
    try {
      must(
        await api.client.POST("/api/v1/consents/{consent_id}/revocation", {
          params: { path: { consent_id: revoking } },
          body: { reason: reason.trim() },
        }),
      );
      void message.success(t("consents.revoked", { id: revoking }));
      setRevoking(null);
      setReason("");
      await load();
    } catch (e) {
      setError(words(e));
      setRevoking(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Space wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("consents.title")}</Typography.Title>
        <Button icon={<ReloadOutlined />} onClick={() => void load()}>{t("common.refresh")}</Button>
      </Space>
      {error && <Alert type="error" showIcon message={error} data-testid="consents-error" />}
      {admin && (
        <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("consents.grant")}</h2>}>
          <Form
            layout="vertical"
            style={{ maxWidth: 560 }}
            initialValues={{ kinds: ["payment_history"], purpose: "credit_review", valid_to: dayjs().add(90, "day") }}
            onFinish={(v) => void grant(v)}
          >
            <Form.Item name="grantee" label={t("consents.grantee")} htmlFor="consent-grantee" rules={[{ required: true, message: t("common.required") }]}>
              <Input id="consent-grantee" />
            </Form.Item>
            <Form.Item
              name="kinds"
              label={t("consents.kinds")}
              rules={[{ validator: (_, v: string[] | undefined) => (v?.length ? Promise.resolve() : Promise.reject(new Error(t("common.required")))) }]}
            >
              <Checkbox.Group options={KINDS.map((k) => ({ value: k, label: t(`consents.kind.${k}`) }))} />
            </Form.Item>
            <Form.Item name="purpose" label={t("consents.purpose")}>
              <Radio.Group options={PURPOSES.map((p) => ({ value: p, label: t(`consents.purpose.${p}`) }))} />
            </Form.Item>
            <Form.Item name="counterparties" label={t("consents.counterparties")} htmlFor="consent-counterparties">
              <Input id="consent-counterparties" />
            </Form.Item>
            <Form.Item name="valid_to" label={t("consents.validTo")} htmlFor="consent-valid-to" rules={[{ required: true, message: t("common.required") }]}>
              <DatePicker id="consent-valid-to" />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={busy}>{t("consents.grant")}</Button>
          </Form>
        </Card>
      )}
      <ScrollX label={t("consents.title")}>
        <Table
          data-testid="consents"
          size="small"
          rowKey="consent_id"
          loading={rows === null}
          dataSource={rows ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          columns={[
            { title: t("consents.id"), dataIndex: "consent_id" },
            { title: t("statement.bank"), dataIndex: "grantee_id" },
            { title: t("consents.kinds"), render: (_, c) => c.kinds.map((k) => tOr(`consents.kind.${k}`, k)).join("、") },
            { title: t("consents.purpose"), render: (_, c) => tOr(`consents.purpose.${c.purpose}`, c.purpose) },
            { title: t("consents.counterpartiesCol"), render: (_, c) => (c.counterparties === "all" ? t("consents.all") : c.counterparties.join(", ")) },
            { title: t("consents.term"), render: (_, c) => `${c.valid_from} – ${c.valid_to}` },
            {
              title: t("consents.status"),
              render: (_, c) => (
                <span>
                  <StatusTag tone={STATUS_TONE[c.status] ?? "plain"}>{tOr(`consents.status.${c.status}`, c.status)}</StatusTag>
                  {c.revoked_reason ?? ""}
                </span>
              ),
            },
            ...(admin
              ? [
                  {
                    title: t("bank.col.actions"),
                    render: (_: unknown, c: ConsentView) =>
                      c.status === "active" || c.status === "pending" ? (
                        <Button size="small" danger onClick={() => setRevoking(c.consent_id)}>{t("consents.revoke")}</Button>
                      ) : "—",
                  },
                ]
              : []),
          ]}
        />
      </ScrollX>
      <Modal
        open={revoking !== null}
        title={`${t("consents.revoke")} ${revoking ?? ""}`}
        okText={t("consents.revoke")}
        cancelText={t("common.cancel")}
        okButtonProps={{ danger: true, disabled: !reason.trim(), loading: busy }}
        onOk={() => void revoke()}
        onCancel={() => setRevoking(null)}
      >
        <label htmlFor="revoke-reason">{t("consents.revokeReason")}</label>
        <Input.TextArea id="revoke-reason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
      </Modal>
      <Statement />
    </Space>
  );
}

function Statement() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const words = useWords();
  const [month, setMonth] = useState(() => monthOf(new Date()));
  const [found, setFound] = useState<StatementView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let gone = false;
    setError(null);
    setFound(null);
    api.client.GET("/api/v1/data/statement", { params: { query: { month } } }).then(
      (answer) => {
        if (gone) return;
        try {
          setFound(must(answer) as unknown as StatementView);
        } catch (e) {
          setError(words(e));
        }
      },
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, month]);
  return (
    <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("statement.title")}</h2>} data-testid="statement">
      <Space direction="vertical" style={{ width: "100%" }}>
        <Space>
          <label htmlFor="statement-month">{t("statement.month")}</label>
          <DatePicker
            id="statement-month"
            picker="month"
            allowClear={false}
            value={dayjs(`${month}-01`)}
            onChange={(d) => d && setMonth(d.format("YYYY-MM"))}
          />
        </Space>
        {error && <Alert type="error" showIcon message={error} />}
        <ScrollX label={t("statement.title")}>
          <Table
            size="small"
            rowKey={(r) => `${r.grantee_id}/${r.kind}/${r.currency}`}
            loading={!found && !error}
            dataSource={found?.lines ?? []}
            pagination={false}
            columns={[
              { title: t("statement.bank"), dataIndex: "grantee_id" },
              { title: t("statement.kind"), render: (_, r) => tOr(`consents.kind.${r.kind}`, r.kind) },
              { title: t("statement.reads"), dataIndex: "reads", align: "right" },
              { title: t("statement.records"), dataIndex: "records", align: "right" },
              { title: t("statement.fees"), render: (_, r) => `${r.currency} ${r.fees}`, align: "right" },
            ]}
          />
        </ScrollX>
        {found && found.by_bank.length > 0 && (
          <p>
            {t("statement.byBank")}: {found.by_bank.map((b) => `${b.grantee_id} ${b.currency} ${b.fees}`).join("; ")}
          </p>
        )}
        {found && (
          <p data-testid="statement-total">
            <strong>{t("statement.total")}</strong>:{" "}
            {Object.entries(found.total).map(([cur, fee]) => `${cur} ${fee}`).join("; ") || "0"}
          </p>
        )}
      </Space>
    </Card>
  );
}
