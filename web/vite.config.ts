/// <reference types="vitest" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { THEME } from "./src/theme";

// Built into build/webui; `make web` then moves it into the package (src/fourflow/webui) in one
// rename, where `fourflow serve` answers it at / (docs/web.md): a build in progress or a
// failed one never leaves the served directory empty.
export default defineConfig({
  plugins: [react(), antdStyles()],
  base: "/",
  build: {
    outDir: "../build/webui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        // Ant Design is not one chunk of every component the app uses (1.1 MB run on each
        // page's load): what the shell and the sign-in use goes with the entry, the rest with
        // the pages using it (the table, the date pickers, the upload).
        manualChunks: {
          react: ["react", "react-dom", "react-router-dom"],
        },
      },
    },
  },
  // `npx vite` in web/ for development: the API of a `fourflow serve` on port 8000 behind it.
  server: {
    host: "127.0.0.1",
    proxy: { "/api": { target: "http://127.0.0.1:8000", changeOrigin: false } },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});

/** `import "virtual:antd.css"` (src/main.tsx): Ant Design's styles for the app's theme, made at
 * build time. Ant Design v5 writes its styles in the browser (CSS-in-JS): each component's
 * first render computes its style objects, serialises them and inserts a <style>, about 0.7 s of
 * a dashboard's load on this machine. Here every Ant Design component the app imports
 * (src/**: `import { ... } from "antd"`) and the parts they show (a table's pagination and
 * sorters, a form's items, a layout's header) are rendered once on the server side with
 * `THEME` (react-dom/server) and their styles taken from @ant-design/cssinjs's cache
 * (`extractStyle`). The stylesheet ends with the list of the styles it holds (a rule on
 * `.data-ant-cssinjs-cache-path`), which @ant-design/cssinjs reads in the browser: a style found
 * there is neither computed nor inserted again. A style not in it (a component no page imported
 * when this was built) is made in the browser as before. The stylesheet is a file of the app's
 * own (`style-src 'self'`), so the page's Content-Security-Policy is unchanged. */
function antdStyles(): Plugin {
  const id = "virtual:antd.css";
  const resolved = "\0virtual:antd.css";
  return {
    name: "fourflow-antd-styles",
    resolveId: (source) => (source === id ? resolved : undefined),
    load: (loading) => (loading === resolved ? antdStylesheet() : undefined),
  };
}

type Module = Record<string, unknown>;
type Component = unknown;
type Element = (type: Component, props?: Record<string, unknown> | null, ...children: unknown[]) => unknown;

async function commonjs(name: string): Promise<Module> {
  const loaded = (await import(/* @vite-ignore */ name)) as Module;
  return (loaded.default ?? loaded) as Module;
}

/** The names the app imports from "antd" (`App as AntApp` counts as App). */
async function antdImports(): Promise<Set<string>> {
  const fs = (await import("node:fs/promises" as string)) as {
    readdir(path: string, options: { recursive: true }): Promise<string[]>;
    readFile(path: string, encoding: "utf8"): Promise<string>;
  };
  const src = new URL("./src/", import.meta.url).pathname;
  const names = new Set<string>();
  for (const file of await fs.readdir(src, { recursive: true })) {
    if (!/\.tsx?$/.test(file) || /\.test\.tsx?$/.test(file)) continue;
    const text = await fs.readFile(src + file, "utf8");
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"antd"/g)) {
      for (const part of m[1].split(",")) {
        const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0];
        if (/^[A-Z]/.test(name) && !part.trim().startsWith("type ")) names.add(name);
      }
    }
  }
  return names;
}

async function antdStylesheet(): Promise<string> {
  const React = await commonjs("react");
  const server = await commonjs("react-dom/server");
  const antd = await commonjs("antd");
  const cssinjs = await commonjs("@ant-design/cssinjs");
  const h = React.createElement as Element;
  const renderToString = server.renderToString as (node: unknown) => string;
  const { createCache, extractStyle, StyleProvider } = cssinjs as {
    createCache: () => unknown;
    extractStyle: (cache: unknown, options: { plain: boolean }) => string;
    StyleProvider: Component;
  };
  const C = (name: string) => antd[name] as Record<string, Component>;
  const shown = [...(await antdImports())].filter((name) => typeof antd[name] === "function" || typeof antd[name] === "object");
  // components that render nothing of their own without props or children (their styles are
  // registered by the specimens below); the rest rendered bare
  const bare = new Set(["ConfigProvider", "Grid", "Menu", "Tree", "Dropdown", "Form", "Table", "Layout", "Tooltip", "Popconfirm", "Popover", "Modal", "Drawer"]);
  const items = [{ key: "a", label: "a", children: [{ key: "b", label: "b" }] }];
  const columns = [
    { title: "a", dataIndex: "a", key: "a", sorter: true, filters: [{ text: "x", value: "x" }], ellipsis: true },
    { title: "b", dataIndex: "b", key: "b", fixed: "right" },
  ];
  const specimens = [
    ...shown.filter((name) => !bare.has(name)).map((name) => h(C(name), { key: name })),
    h(C("Menu"), { key: "menu", items, mode: "inline" }),
    h(C("Menu"), { key: "menu-h", items, mode: "horizontal" }),
    h(C("Tree"), { key: "tree", treeData: [{ key: "a", title: "a", children: [{ key: "b", title: "b" }] }] }),
    h(C("Dropdown"), { key: "dropdown", menu: { items } }, h("span")),
    h(C("Tooltip"), { key: "tooltip", title: "a" }, h("span")),
    h(C("Popover"), { key: "popover", title: "a" }, h("span")),
    h(C("Popconfirm"), { key: "popconfirm", title: "a" }, h("span")),
    h(C("Modal"), { key: "modal", open: false }),
    h(C("Drawer"), { key: "drawer", open: false }),
    h(C("Form"), { key: "form", layout: "vertical" }, h(C("Form").Item, { label: "a", name: "a", help: "a" }, h(C("Input")))),
    h(C("Form"), { key: "form-h", layout: "inline" }, h(C("Form").Item, { label: "a" }, h(C("Select")))),
    h(C("Table"), {
      key: "table", columns, size: "small", rowKey: "a", scroll: { x: 100 },
      dataSource: [{ a: "1", b: "2" }], rowSelection: {}, expandable: { expandedRowRender: () => "a" },
      pagination: { total: 100, pageSize: 10, showSizeChanger: true },
    }),
    h(C("Table"), { key: "table-empty", columns, dataSource: [], loading: true }),
    h(C("Layout"), { key: "layout" }, h(C("Layout").Header), h(C("Layout").Sider), h(C("Layout").Content), h(C("Layout").Footer)),
    h(C("Input").Password, { key: "password" }), h(C("Input").Search, { key: "search" }), h(C("Input").TextArea, { key: "textarea" }),
    h(C("Typography").Title, { key: "title" }), h(C("Typography").Text, { key: "text" }), h(C("Typography").Paragraph, { key: "p" }),
    h(C("Pagination"), { key: "pagination", total: 100 }), h(C("Empty"), { key: "empty" }),
    h(C("Checkbox"), { key: "checkbox" }), h(C("Radio").Group, { key: "radio", options: ["a"], optionType: "button" }),
    h(C("Space").Compact, { key: "compact" }, h(C("Input")), h(C("Button"))),
    h(C("Badge"), { key: "badge", count: 1 }, h("span")), h(C("Badge"), { key: "status", status: "success", text: "a" }),
    h(C("Card"), { key: "card", title: "a", extra: "b", size: "small" }, "c"),
    h(C("Descriptions"), { key: "descriptions", bordered: true, items: [{ key: "a", label: "a", children: "b" }] }),
    h(C("List"), { key: "list", dataSource: ["a"], renderItem: (a: string) => h(C("List").Item, null, a) }),
    h(C("Upload").Dragger, { key: "dragger" }),
    h(C("DatePicker").RangePicker, { key: "range" }),
  ];
  const cache = createCache();
  renderToString(h(StyleProvider, { cache }, h(C("ConfigProvider"), { theme: THEME }, h(C("App"), null, ...specimens))));
  return extractStyle(cache, { plain: true });
}
