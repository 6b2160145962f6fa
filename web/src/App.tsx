import { useEffect, useState } from "react";
import { App as AntApp, Button, ConfigProvider, Grid, Layout, Menu, Space, Spin, Typography } from "antd";
import {
  ApiOutlined, AuditOutlined, CloudUploadOutlined, HomeOutlined, LogoutOutlined, TeamOutlined,
} from "@ant-design/icons";
import { LinkOutlined } from "@ant-design/icons";
import { BankOutlined, DashboardOutlined, ExperimentOutlined, PieChartOutlined, SafetyCertificateOutlined } from "@ant-design/icons";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { useI18n } from "./i18n";
import { cspNonce } from "./csp";
import { SessionProvider, can, useSession } from "./session";
import { SignIn } from "./pages/SignIn";
import { Register } from "./pages/Register";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { Home } from "./pages/Home";
import { Upload } from "./pages/Upload";
import { Admissions } from "./pages/Admissions";
import { Users } from "./pages/Users";
import { ApiKeys } from "./pages/ApiKeys";
import { Webhooks } from "./pages/Webhooks";
import { Notifications } from "./pages/Notifications";
import { canSee } from "./pages/bank/access";
import { ReviewQueue } from "./pages/bank/ReviewQueue";
import { Portfolio } from "./pages/bank/Portfolio";
import { Policy } from "./pages/bank/Policy";
import { Models } from "./pages/bank/Models";
import { Dashboard } from "./pages/supervision/Dashboard";
import { Network } from "./pages/supervision/Network";
import { AccountBookOutlined, AuditOutlined as ConfirmOutlined, FileSearchOutlined, FundOutlined, KeyOutlined } from "@ant-design/icons";
import { canOpen } from "./pages/enterprise/access";
import { TradeView } from "./pages/enterprise/TradeView";
import { Position } from "./pages/enterprise/Position";
import { Financings } from "./pages/enterprise/Financings";
import { Payables } from "./pages/core/Payables";
import { Consents } from "./pages/core/Consents";
import { ExceptionOutlined, SolutionOutlined } from "@ant-design/icons";
import { PlatformAdmissions } from "./pages/operator/PlatformAdmissions";
import { Disputes } from "./pages/operator/Disputes";

/** Ant Design's greys made darker where its defaults fall short of WCAG AA contrast. */
const THEME = {
  token: {
    colorPrimary: "#1456b8",
    colorLink: "#1456b8",
    // a link under the pointer keeps AA contrast (Ant Design's derived hover blue is lighter)
    colorLinkHover: "#0d3f8a",
    colorError: "#cf1322",
    colorTextDescription: "#595959",
    colorTextTertiary: "#595959",
    colorTextSecondary: "#434343",
  },
};

export function App() {
  const { antd } = useI18n();
  return (
    <ConfigProvider locale={antd} theme={THEME} button={{ autoInsertSpace: false }} csp={{ nonce: cspNonce() }}>
      <AntApp>
        <SessionProvider>
          <Shell />
        </SessionProvider>
      </AntApp>
    </ConfigProvider>
  );
}

function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <Button
      data-testid="language"
      type="text"
      style={{ color: "#fff" }}
      lang={locale === "zh" ? "en" : "zh-CN"}
      onClick={() => setLocale(locale === "zh" ? "en" : "zh")}
    >
      {t("lang.switch")}
    </Button>
  );
}

function Shell() {
  const { me, ready } = useSession();
  const { t } = useI18n();
  if (!ready) {
    return (
      <main style={{ display: "grid", placeItems: "center", minHeight: "100vh" }}>
        <Spin aria-label={t("common.loading")} />
      </main>
    );
  }
  if (!me) {
    return (
      <Layout style={{ minHeight: "100vh" }}>
        <Layout.Header style={headerStyle}>
          <Typography.Text strong style={{ color: "#fff", fontSize: 18 }}>{t("app.title")}</Typography.Text>
          <span style={{ color: "#fff" }}><LanguageSwitch /></span>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          <main>
            <Routes>
              <Route path="/register" element={<Register />} />
              <Route path="/invitation" element={<AcceptInvitation />} />
              <Route path="*" element={<SignIn />} />
            </Routes>
          </main>
        </Layout.Content>
      </Layout>
    );
  }
  return <Workbench />;
}

const headerStyle = {
  display: "flex", alignItems: "center", justifyContent: "space-between", gap: 12,
  paddingInline: 16, background: "#0b2e66",
  // On a phone the title and the header's controls wrap onto two lines instead of spilling.
  flexWrap: "wrap", height: "auto", minHeight: 64, lineHeight: "32px", paddingBlock: 8,
} as const;

function Workbench() {
  const { me, signOut } = useSession();
  const { t, tOr } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const screens = Grid.useBreakpoint();
  const [collapsed, setCollapsed] = useState(false);
  useEffect(() => setCollapsed(!screens.lg), [screens.lg]);
  const items = [
    { key: "/", icon: <HomeOutlined />, label: t("nav.home") },
    can(me, "upload") && { key: "/upload", icon: <CloudUploadOutlined />, label: t("nav.upload") },
    can(me, "admissions") && { key: "/admissions", icon: <AuditOutlined />, label: t("nav.admissions") },
    can(me, "platformAdmissions") && { key: "/platform-admissions", icon: <SolutionOutlined />, label: t("nav.platformAdmissions") },
    can(me, "disputes") && { key: "/disputes", icon: <ExceptionOutlined />, label: t("nav.disputes") },
    can(me, "users") && { key: "/users", icon: <TeamOutlined />, label: t("nav.users") },
    can(me, "apiKeys") && { key: "/api-keys", icon: <ApiOutlined />, label: t("nav.apiKeys") },
    can(me, "webhooks") && { key: "/webhooks", icon: <LinkOutlined />, label: t("nav.webhooks") },
    canOpen(me, "trade") && { key: "/trade", icon: <FileSearchOutlined />, label: t("nav.trade") },
    canOpen(me, "position") && { key: "/position", icon: <AccountBookOutlined />, label: t("nav.position") },
    canOpen(me, "financing") && { key: "/financing", icon: <FundOutlined />, label: t("nav.financing") },
    canOpen(me, "payables") && { key: "/payables", icon: <ConfirmOutlined />, label: t("nav.payables") },
    canOpen(me, "consents") && { key: "/consents", icon: <KeyOutlined />, label: t("nav.consents") },
    canSee(me, "bankQueue") && { key: "/bank/queue", icon: <BankOutlined />, label: t("nav.bankQueue") },
    canSee(me, "bankPortfolio") && { key: "/bank/portfolio", icon: <PieChartOutlined />, label: t("nav.bankPortfolio") },
    canSee(me, "bankPolicy") && { key: "/bank/policy", icon: <SafetyCertificateOutlined />, label: t("nav.bankPolicy") },
    canSee(me, "bankModels") && { key: "/bank/models", icon: <ExperimentOutlined />, label: t("nav.bankModels") },
    canSee(me, "supervision") && { key: "/supervision", icon: <DashboardOutlined />, label: t("nav.supervision") },
  ].filter((i): i is Exclude<typeof i, false | null | undefined> => Boolean(i));
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={headerStyle}>
        <Typography.Text strong style={{ color: "#fff", fontSize: 18, whiteSpace: "nowrap" }}>
          {t("app.title")}
        </Typography.Text>
        <Space size={4} wrap style={{ color: "#fff" }}>
          <Notifications />
          <span data-testid="whoami" style={{ color: "#fff" }}>
            {me?.org_types.map((o) => tOr(`orgType.${o}`, o)).join(" · ")} · {tOr(`role.${me?.role}`, me?.role ?? "")}
          </span>
          <LanguageSwitch />
          <Button
            type="text"
            style={{ color: "#fff" }}
            icon={<LogoutOutlined />}
            onClick={() => void signOut().then(() => navigate("/"))}
          >
            {t("nav.signOut")}
          </Button>
        </Space>
      </Layout.Header>
      <Layout>
        <Layout.Sider
          collapsible
          collapsed={collapsed}
          onCollapse={setCollapsed}
          breakpoint="lg"
          collapsedWidth={screens.md ? 64 : 0}
          width={200}
          theme="light"
        >
          <nav aria-label={t("nav.menu")}>
            <Menu
              mode="inline"
              selectedKeys={[location.pathname]}
              items={items}
              onClick={(e) => navigate(e.key)}
            />
          </nav>
        </Layout.Sider>
        <Layout.Content style={{ padding: screens.md ? 24 : 12, minWidth: 0 }}>
          <main>
            <Routes>
              <Route path="/" element={<Home />} />
              {can(me, "upload") && <Route path="/upload" element={<Upload />} />}
              {can(me, "admissions") && <Route path="/admissions" element={<Admissions />} />}
              {can(me, "platformAdmissions") && <Route path="/platform-admissions" element={<PlatformAdmissions />} />}
              {can(me, "disputes") && <Route path="/disputes" element={<Disputes />} />}
              {can(me, "users") && <Route path="/users" element={<Users />} />}
              {can(me, "apiKeys") && <Route path="/api-keys" element={<ApiKeys />} />}
              {can(me, "webhooks") && <Route path="/webhooks" element={<Webhooks />} />}
              {canOpen(me, "trade") && <Route path="/trade" element={<TradeView />} />}
              {canOpen(me, "position") && <Route path="/position" element={<Position />} />}
              {canOpen(me, "financing") && <Route path="/financing" element={<Financings />} />}
              {canOpen(me, "payables") && <Route path="/payables" element={<Payables />} />}
              {canOpen(me, "consents") && <Route path="/consents" element={<Consents />} />}
              {canSee(me, "bankQueue") && <Route path="/bank/queue" element={<ReviewQueue />} />}
              {canSee(me, "bankPortfolio") && <Route path="/bank/portfolio" element={<Portfolio />} />}
              {canSee(me, "bankPolicy") && <Route path="/bank/policy" element={<Policy />} />}
              {canSee(me, "bankModels") && <Route path="/bank/models" element={<Models />} />}
              {canSee(me, "supervision") && <Route path="/supervision" element={<Dashboard />} />}
              {canSee(me, "supervision") && <Route path="/supervision/network" element={<Network />} />}
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
