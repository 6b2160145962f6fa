import { Card, Descriptions, Typography } from "antd";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export function Home() {
  const { t, tOr } = useI18n();
  const { me } = useSession();
  if (!me) return null;
  return (
    <Card>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("home.title")}</Typography.Title>
      <Descriptions column={{ xs: 1, md: 2 }} bordered size="small">
        <Descriptions.Item label={t("home.org")}>{me.org_id}</Descriptions.Item>
        <Descriptions.Item label={t("home.orgTypes")}>
          {me.org_types.map((o) => tOr(`orgType.${o}`, o)).join("、")}
        </Descriptions.Item>
        <Descriptions.Item label={t("home.role")}>{tOr(`role.${me.role}`, me.role)}</Descriptions.Item>
        <Descriptions.Item label={t("home.via")}>{me.via}</Descriptions.Item>
      </Descriptions>
      <Typography.Paragraph style={{ marginTop: 16 }}>{t("home.left")}</Typography.Paragraph>
    </Card>
  );
}
