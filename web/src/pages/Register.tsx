import { useState } from "react";
import { Alert, Button, Card, Col, Form, Input, Row, Select, Typography } from "antd";
import { Link } from "react-router-dom";
import { createApi, memoryTokens, must, type Schemas } from "../api/client";
import { useI18n } from "../i18n";

interface Fields {
  name: string;
  uscc: string;
  org_type: Schemas["RegistrationIn"]["org_type"];
  platform_id?: string;
  licence_number?: string;
  address?: string;
  legal_representative?: string;
  registered_capital?: string;
  industry?: string;
  account?: string;
  admin_name: string;
  admin_email: string;
  admin_password: string;
}

const ORG_TYPES = ["enterprise", "core_enterprise", "logistics", "warehouse", "bank"] as const;
const LICENCE = ["licence_number", "address", "legal_representative", "registered_capital", "industry"] as const;

/** A registration needs no session: a client of its own, without tokens. */
const publicApi = createApi({ store: memoryTokens() });

export function Register() {
  const { t } = useI18n();
  const [done, setDone] = useState<Schemas["RegistrationOut"] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (f: Fields) => {
    setBusy(true);
    setFailure(null);
    const licence: Record<string, string> = {};
    for (const k of LICENCE) if (f[k]?.trim()) licence[k] = f[k]!.trim();
    try {
      const answer = await publicApi.client.POST("/api/v1/registrations", {
        body: {
          name: f.name.trim(),
          uscc: f.uscc.trim().toUpperCase(),
          org_type: f.org_type,
          licence,
          accounts: f.account?.trim() ? [f.account.trim()] : [],
          admin_email: f.admin_email.trim(),
          admin_name: f.admin_name.trim(),
          admin_password: f.admin_password,
          platform_id: f.platform_id?.trim() || null,
        },
      });
      setDone(must(answer));
    } catch (e) {
      setFailure(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBusy(false);
    }
  };
  const required = [{ required: true, message: t("common.required") }];
  return (
    <Card style={{ maxWidth: 860, margin: "24px auto" }}>
      <Typography.Title level={1} style={{ fontSize: 24 }}>{t("register.title")}</Typography.Title>
      <Typography.Paragraph>{t("register.intro")}</Typography.Paragraph>
      {failure && <Alert type="error" showIcon role="alert" message={failure} style={{ marginBottom: 16 }} />}
      {done ? (
        <Alert
          type="success"
          showIcon
          data-testid="registered"
          message={t("register.done", { id: done.application.id, status: t(`status.${done.application.status}` as "status.pending") })}
          description={
            done.totp_uri ? (
              <>
                {t("register.totpOnce")} <Typography.Text code copyable>{done.totp_uri}</Typography.Text>
              </>
            ) : undefined
          }
        />
      ) : (
        <Form<Fields> layout="vertical" onFinish={submit} initialValues={{ org_type: "enterprise" }}>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item name="name" label={t("register.name")} rules={required}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                name="uscc"
                label={t("register.uscc")}
                rules={[...required, { pattern: /^[0-9A-HJ-NPQRTUWXY]{18}$/i, message: t("register.usccInvalid") }]}
              >
                <Input maxLength={18} />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name="org_type" label={t("register.orgType")}>
                <Select options={ORG_TYPES.map((o) => ({ value: o, label: t(`orgType.${o}`) }))} />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name="platform_id" label={t("register.platform")} extra={t("register.platformHelp")}>
                <Input />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name="licence_number" label={t("register.licenceNumber")}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item name="legal_representative" label={t("register.legalRep")}><Input /></Form.Item>
            </Col>
            <Col xs={24}>
              <Form.Item name="address" label={t("register.address")}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="registered_capital" label={t("register.capital")}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="industry" label={t("register.industry")}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="account" label={t("register.account")}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="admin_name" label={t("register.adminName")} rules={required}><Input /></Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="admin_email" label={t("register.adminEmail")} rules={required}>
                <Input type="email" autoComplete="email" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="admin_password" label={t("register.adminPassword")} rules={[...required, { min: 12, message: t("register.adminPassword") }]}>
                <Input.Password autoComplete="new-password" />
              </Form.Item>
            </Col>
          </Row>
          <Button type="primary" htmlType="submit" loading={busy}>{t("register.submit")}</Button>
        </Form>
      )}
      <div style={{ marginTop: 16 }}>
        <Link to="/">{t("register.back")}</Link>
      </div>
    </Card>
  );
}
