import "virtual:antd.css"; // Ant Design's styles, made at build time (vite.config.ts antdStyles)
import "./app.css"; // the app's few own rules
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App, preloadPage } from "./App";
import { I18nProvider } from "./i18n";
import { cspNonce, nonceNewStyles } from "./csp";

nonceNewStyles(cspNonce()); // before any component inserts its styles
preloadPage(window.location.pathname); // its code beside GET /me, not after it

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <I18nProvider>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </I18nProvider>
  </StrictMode>,
);
