import type { ThemeConfig } from "antd";

/** The app's Ant Design theme, shared by the app (ConfigProvider) and the build, which renders
 * every Ant Design component the app uses with it into one stylesheet (vite.config.ts
 * `antdStyles`): the same theme, the same styles. Ant Design's greys are made darker where its
 * defaults fall short of WCAG AA contrast. `hashed: false`: one Ant Design on the page, so its
 * selectors need no per-version class (the stylesheet is a fifth smaller). */
export const THEME: ThemeConfig = {
  hashed: false,
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
