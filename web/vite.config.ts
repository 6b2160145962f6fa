/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into build/webui; `make web` then moves it into the package (src/fourflow/webui) in one
// rename, where `fourflow serve` answers it at / (docs/web.md): a build in progress or a
// failed one never leaves the served directory empty.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../build/webui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      output: {
        manualChunks: {
          react: ["react", "react-dom", "react-router-dom"],
          antd: ["antd", "@ant-design/icons"],
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
