// A scenario platform's own operator (its local government) reviews the applications to its
// platform (issue 17 item 1): GET /platforms (those it runs), GET
// /platforms/{id}/registrations, POST /platforms/{id}/registrations/{application_id}/review;
// the list and the review dialog are the operator's admission screen's (AdmissionReview).
import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { Alert, Card, Descriptions, Select, Spin, Typography } from "antd";
import { must } from "../../api/client";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { AdmissionReview, type AdmissionSource } from "../Admissions";
import { useRefusal } from "../bank/common";
import { chosenPlatform, mayDecide, runBy, type Platform } from "./model";

export function PlatformAdmissions() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const words = useRefusal();
  const [search, setSearch] = useSearchParams();
  const [mine, setMine] = useState<Platform[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let gone = false;
    api.client.GET("/api/v1/platforms", {}).then(
      (answer) => !gone && setMine(runBy(must(answer), me?.org_id ?? "")),
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, me?.org_id]);

  const platform = chosenPlatform(mine ?? [], search.get("platform"));
  const source = useMemo<AdmissionSource | null>(
    () =>
      platform && {
        list: async (status) =>
          must(
            await api.client.GET("/api/v1/platforms/{platform_id}/registrations", {
              params: { path: { platform_id: platform.id }, query: status ? { status } : {} },
            }),
          ),
        review: async (applicationId, body) => {
          must(
            await api.client.POST("/api/v1/platforms/{platform_id}/registrations/{application_id}/review", {
              params: { path: { platform_id: platform.id, application_id: applicationId } },
              body,
            }),
          );
        },
      },
    [api, platform],
  );

  if (error) return <Alert type="error" showIcon message={error} />;
  if (mine === null) return <Spin aria-label={t("common.loading")} />;
  if (!platform || !source) {
    return (
      <Card>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("platformAdmissions.title")}</Typography.Title>
        <Typography.Paragraph style={{ marginTop: 16 }}>{t("platformAdmissions.none")}</Typography.Paragraph>
      </Card>
    );
  }
  const extra = (
    <div style={{ marginTop: 16 }}>
      <Typography.Paragraph>{t("platformAdmissions.help")}</Typography.Paragraph>
      <Descriptions size="small" column={1} bordered labelStyle={{ width: 280 }}>
        <Descriptions.Item label={t("platformAdmissions.platform")}>
          <Select
            aria-label={t("platformAdmissions.platform")}
            data-testid="platform-choice"
            style={{ minWidth: 240 }}
            value={platform.id}
            options={mine.map((p) => ({ value: p.id, label: p.name }))}
            onChange={(id: string) => setSearch({ platform: id })}
          />
        </Descriptions.Item>
        <Descriptions.Item label={t("platformAdmissions.platformId")}>
          <Typography.Text code copyable data-testid="platform-id">{platform.id}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t("platformAdmissions.scenarios")}>
          {platform.scenarios.map((s) => tOr(`portfolio.scenario.${s}`, s)).join(" · ")}
        </Descriptions.Item>
      </Descriptions>
    </div>
  );
  return (
    <AdmissionReview
      key={platform.id}
      title={t("platformAdmissions.title")}
      source={source}
      mayReview={mayDecide(me, "platformAdmissions")}
      extra={extra}
    />
  );
}
