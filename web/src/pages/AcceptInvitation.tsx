import { useState } from "react";
import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { Link } from "react-router-dom";
import { createApi, memoryTokens, must, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

interface Fields {
  invitation: string;
  password: string;
  repeat: string;
}

/** Accepting needs no session: a client of its own, without tokens. */
const publicApi = createApi({ store: memoryTokens() });

/** The invited person sets its password with the invitation code (POST /invitations/accept);
 * where its role needs a second factor, the TOTP enrolment is shown once. */
export function AcceptInvitation() {
  const { t, tOr } = useI18n();
  const [done, setDone] = useState<Schemas["NewUserOut"] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (f: Fields) => {
    setBusy(true);
    setFailure(null);
    try {
      const answer = await publicApi.client.POST("/api/v1/invitations/accept", {
        body: { invitation: f.invitation.trim(), password: f.password },
      });
      setDone(must(answer));
    } catch (e) {
      setFailure(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBusy(false);
    }
  };
  const required = { required: true, message: t("common.required") };
  return (
    <Card style={{ maxWidth: 520, margin: "48px auto" }}>
      <Typography.Title level={1} style={{ fontSize: 24 }}>{t("invitation.title")}</Typography.Title>
      <Typography.Paragraph>{t("invitation.intro")}</Typography.Paragraph>
      {failure && <Alert type="error" showIcon role="alert" message={failure} style={{ marginBottom: 16 }} data-testid="invitation-error" />}
      {done ? (
        <Alert
          type="success"
          showIcon
          data-testid="invitation-accepted"
          message={t("invitation.done", { email: done.user.email, role: tOr(`role.${done.user.role}`, done.user.role) })}
          description={
            done.totp_uri ? (
              <>
                {t("register.totpOnce")} <Typography.Text code copyable>{done.totp_uri}</Typography.Text>
              </>
            ) : undefined
          }
        />
      ) : (
        <Form<Fields> layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item name="invitation" label={t("invitation.code")} rules={[required]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Form.Item name="password" label={t("invitation.password")} rules={[required, { min: 12, message: t("invitation.password") }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item
            name="repeat"
            label={t("invitation.repeat")}
            dependencies={["password"]}
            rules={[
              required,
              ({ getFieldValue }) => ({
                validator: async (_, v: string | undefined) => {
                  if (v && v !== getFieldValue("password")) throw new Error(t("invitation.mismatch"));
                },
              }),
            ]}
          >
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>{t("invitation.submit")}</Button>
        </Form>
      )}
      <div style={{ marginTop: 16 }}>
        <Link to="/">{t("register.back")}</Link>
      </div>
    </Card>
  );
}
