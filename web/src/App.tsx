import { Component, Suspense, lazy, useEffect, useState, type ComponentType, type LazyExoticComponent, type ReactNode } from "react";
import { Alert, App as AntApp, Button, ConfigProvider, Grid, Layout, Menu, Space, Spin, Typography } from "antd";
import {
  ApiOutlined, AuditOutlined, CloudUploadOutlined, HomeOutlined, LogoutOutlined, TeamOutlined,
} from "@ant-design/icons";
import { LinkOutlined } from "@ant-design/icons";
import { BankOutlined, DashboardOutlined, ExperimentOutlined, PieChartOutlined, SafetyCertificateOutlined } from "@ant-design/icons";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { useI18n } from "./i18n";
import { cspNonce } from "./csp";
import { THEME } from "./theme";
import { SessionProvider, can, useSession } from "./session";
import { SignIn } from "./pages/SignIn";
import { Register } from "./pages/Register";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { Notifications } from "./pages/Notifications";
import { canSee } from "./pages/bank/access";
import { AccountBookOutlined, AuditOutlined as ConfirmOutlined, FileSearchOutlined, FundOutlined, KeyOutlined } from "@ant-design/icons";
import { canOpen } from "./pages/enterprise/access";
import { ExceptionOutlined, SolutionOutlined } from "@ant-design/icons";

/** Each signed-in page is its own chunk, fetched when first shown (`lazy`), so a page does not
 * wait for the code of every other page (the supervision pages' charts, a core enterprise's
 * own-key signing) to be downloaded and run. The page at the address the app starts on is
 * fetched at once, beside the sign-in check (GET /me), not after it (`preloadPage`). */
const PAGES = {
  "/": () => import("./pages/Home").then((m) => m.Home),
  "/upload": () => import("./pages/Upload").then((m) => m.Upload),
  "/admissions": () => import("./pages/Admissions").then((m) => m.Admissions),
  "/platform-admissions": () => import("./pages/operator/PlatformAdmissions").then((m) => m.PlatformAdmissions),
  "/disputes": () => import("./pages/operator/Disputes").then((m) => m.Disputes),
  "/users": () => import("./pages/Users").then((m) => m.Users),
  "/api-keys": () => import("./pages/ApiKeys").then((m) => m.ApiKeys),
  "/webhooks": () => import("./pages/Webhooks").then((m) => m.Webhooks),
  "/trade": () => import("./pages/enterprise/TradeView").then((m) => m.TradeView),
  "/position": () => import("./pages/enterprise/Position").then((m) => m.Position),
  "/financing": () => import("./pages/enterprise/Financings").then((m) => m.Financings),
  "/payables": () => import("./pages/core/Payables").then((m) => m.Payables),
  "/consents": () => import("./pages/core/Consents").then((m) => m.Consents),
  "/bank/queue": () => import("./pages/bank/ReviewQueue").then((m) => m.ReviewQueue),
  "/bank/portfolio": () => import("./pages/bank/Portfolio").then((m) => m.Portfolio),
  "/bank/policy": () => import("./pages/bank/Policy").then((m) => m.Policy),
  "/bank/models": () => import("./pages/bank/Models").then((m) => m.Models),
  "/supervision": () => import("./pages/supervision/Dashboard").then((m) => m.Dashboard),
  "/supervision/network": () => import("./pages/supervision/Network").then((m) => m.Network),
} satisfies Record<string, () => Promise<ComponentType>>;
type PagePath = keyof typeof PAGES;

const LAZY = Object.fromEntries(
  Object.entries(PAGES).map(([path, load]) => [path, lazy(() => load().then((page) => ({ default: page })))]),
) as Record<PagePath, LazyExoticComponent<ComponentType>>;

/** The code of the page at `pathname` fetched now (a signed-out visitor's too: a few kB). */
export function preloadPage(pathname: string): void {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path in PAGES) void PAGES[path as PagePath]().catch(() => undefined); // shown (and said) by the route
}

/** The page at `at` (a route's own path), its code fetched while a spinner shows. */
function Page({ at }: { at: PagePath }) {
  const Shown = LAZY[at];
  return <Shown />;
}

/** A page that could not be shown (its code not fetched: a lost connection, a newer build
 * served since the app was opened) says so instead of leaving the content area blank (keyed by
 * the address: the next page shown starts afresh). */
class PageFailed extends Component<{ children: ReactNode; message: string }, { failed: boolean }> {
  state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  render() {
    return this.state.failed ? <Alert type="error" showIcon message={this.props.message} /> : this.props.children;
  }
}

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
            <PageFailed key={location.pathname} message={t("common.pageFailed")}>
              <Suspense fallback={<Spin aria-label={t("common.loading")} />}>
                <Routes>
                  <Route path="/" element={<Page at="/" />} />
                  {can(me, "upload") && <Route path="/upload" element={<Page at="/upload" />} />}
                  {can(me, "admissions") && <Route path="/admissions" element={<Page at="/admissions" />} />}
                  {can(me, "platformAdmissions") && <Route path="/platform-admissions" element={<Page at="/platform-admissions" />} />}
                  {can(me, "disputes") && <Route path="/disputes" element={<Page at="/disputes" />} />}
                  {can(me, "users") && <Route path="/users" element={<Page at="/users" />} />}
                  {can(me, "apiKeys") && <Route path="/api-keys" element={<Page at="/api-keys" />} />}
                  {can(me, "webhooks") && <Route path="/webhooks" element={<Page at="/webhooks" />} />}
                  {canOpen(me, "trade") && <Route path="/trade" element={<Page at="/trade" />} />}
                  {canOpen(me, "position") && <Route path="/position" element={<Page at="/position" />} />}
                  {canOpen(me, "financing") && <Route path="/financing" element={<Page at="/financing" />} />}
                  {canOpen(me, "payables") && <Route path="/payables" element={<Page at="/payables" />} />}
                  {canOpen(me, "consents") && <Route path="/consents" element={<Page at="/consents" />} />}
                  {canSee(me, "bankQueue") && <Route path="/bank/queue" element={<Page at="/bank/queue" />} />}
                  {canSee(me, "bankPortfolio") && <Route path="/bank/portfolio" element={<Page at="/bank/portfolio" />} />}
                  {canSee(me, "bankPolicy") && <Route path="/bank/policy" element={<Page at="/bank/policy" />} />}
                  {canSee(me, "bankModels") && <Route path="/bank/models" element={<Page at="/bank/models" />} />}
                  {canSee(me, "supervision") && <Route path="/supervision" element={<Page at="/supervision" />} />}
                  {canSee(me, "supervision") && <Route path="/supervision/network" element={<Page at="/supervision/network" />} />}
                  <Route path="*" element={<Navigate to="/" replace />} />
                </Routes>
              </Suspense>
            </PageFailed>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
