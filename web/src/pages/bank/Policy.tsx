// The bank's product policy and limits (GET /policy), a proposed change (PUT /policy, 202)
// and an approver's second approval of it (POST /policy/approval): four eyes.
import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Input, Space, Table, Typography } from "antd";
import { must } from "../../api/client";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { CsvButton, emptyText, useRefusal } from "./common";
import { parseFields, policyRows, type PolicyRow } from "./model";

const EXAMPLE = '{"refer_pd": 0.08, "limit_per_borrower": 500000000}';

export function Policy() {
  const { t } = useI18n();
  const { api, me } = useSession();
  const { message } = App.useApp();
  const words = useRefusal();
  const [rows, setRows] = useState<PolicyRow[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const proposer = me?.role === "admin" || me?.role === "credit_officer";
  const approver = me?.role === "approver";

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setRows(policyRows(must(await api.client.GET("/api/v1/policy", {})) as Record<string, unknown>));
      setError(null);
    } catch (e) {
      setError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);

  const propose = async () => {
    const parsed = parseFields(text);
    if ("error" in parsed) {
      setAnswer({ ok: false, text: t("policy.badJson", { detail: parsed.error }) });
      return;
    }
    setBusy(true);
    try {
      const done = must(await api.client.PUT("/api/v1/policy", { body: { fields: parsed.fields } })) as { proposal_id: string };
      setAnswer({ ok: true, text: t("policy.proposed", { id: done.proposal_id }) });
      void message.success(t("policy.proposed", { id: done.proposal_id }));
    } catch (e) {
      setAnswer({ ok: false, text: words(e) });
    } finally {
      setBusy(false);
    }
  };

  const approve = async (agree: boolean) => {
    setBusy(true);
    try {
      must(await api.client.POST("/api/v1/policy/approval", { body: { agree, note: "" } }));
      setAnswer({ ok: true, text: t(agree ? "policy.approved" : "policy.rejected") });
      await load();
    } catch (e) {
      setAnswer({ ok: false, text: words(e) });
    } finally {
      setBusy(false);
    }
  };

  const columns = [
    { title: t("policy.field"), value: (r: PolicyRow) => r.field },
    { title: t("policy.value"), value: (r: PolicyRow) => r.value ?? t("policy.none") },
  ];
  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Card
        title={<Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("policy.title")}</Typography.Title>}
        extra={<Space><CsvButton name="policy" columns={columns} rows={rows} /><Button onClick={() => void load()}>{t("common.refresh")}</Button></Space>}
      >
        {error && <Alert type="error" showIcon message={error} />}
        <Table<PolicyRow> locale={emptyText(t("sup.noRows"))}
          size="small"
          rowKey="field"
          loading={loading}
          dataSource={rows}
          pagination={false}
          columns={[
            { title: t("policy.field"), dataIndex: "field", render: (v: string) => <code>{v}</code> },
            { title: t("policy.value"), render: (_, r) => r.value ?? t("policy.none") },
          ]}
        />
      </Card>
      {(proposer || approver) && (
        <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{proposer ? t("policy.propose") : t("policy.approve")}</h2>}>
          {answer && <Alert style={{ marginBottom: 12 }} type={answer.ok ? "success" : "error"} showIcon message={answer.text} data-testid="policy-answer" />}
          {proposer ? (
            <>
              <Typography.Paragraph>{t("policy.proposeHelp", { example: EXAMPLE })}</Typography.Paragraph>
              <label htmlFor="policy-fields">{t("policy.fields")}</label>
              <Input.TextArea id="policy-fields" rows={4} value={text} onChange={(e) => setText(e.target.value)} placeholder={EXAMPLE} />
              <Button style={{ marginTop: 12 }} type="primary" loading={busy} onClick={() => void propose()}>{t("common.submit")}</Button>
            </>
          ) : (
            <>
              <Typography.Paragraph>{t("policy.approveHelp")}</Typography.Paragraph>
              <Space>
                <Button danger loading={busy} onClick={() => void approve(false)}>{t("bank.approval.disagree")}</Button>
                <Button type="primary" loading={busy} onClick={() => void approve(true)}>{t("bank.approval.agree")}</Button>
              </Space>
            </>
          )}
        </Card>
      )}
    </Space>
  );
}
