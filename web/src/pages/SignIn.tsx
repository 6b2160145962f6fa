import { useState } from "react";
import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { Link } from "react-router-dom";
import { useI18n } from "../i18n";
import { useSession } from "../session";

interface Fields {
  email: string;
  password: string;
  totp?: string;
}

export function SignIn() {
  const { t } = useI18n();
  const { signIn } = useSession();
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (f: Fields) => {
    setBusy(true);
    setFailure(null);
    try {
      await signIn(f.email.trim(), f.password, f.totp?.trim());
    } catch (e) {
      setFailure(t("signIn.failed", { detail: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card style={{ maxWidth: 420, margin: "48px auto" }}>
      <Typography.Title level={1} style={{ fontSize: 24 }}>{t("signIn.title")}</Typography.Title>
      {failure && <Alert type="error" showIcon message={failure} role="alert" style={{ marginBottom: 16 }} />}
      <Form<Fields> layout="vertical" onFinish={submit} requiredMark={false}>
        <Form.Item name="email" label={t("signIn.email")} rules={[{ required: true, message: t("common.required") }]}>
          <Input type="email" autoComplete="username" />
        </Form.Item>
        <Form.Item name="password" label={t("signIn.password")} rules={[{ required: true, message: t("common.required") }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="totp" label={t("signIn.totp")} extra={t("signIn.totpHelp")}>
          <Input inputMode="numeric" autoComplete="one-time-code" maxLength={10} />
        </Form.Item>
        <Button type="primary" htmlType="submit" block loading={busy}>{t("signIn.submit")}</Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/register">{t("signIn.register")}</Link>
        {" · "}
        <Link to="/invitation">{t("invitation.link")}</Link>
      </div>
    </Card>
  );
}
