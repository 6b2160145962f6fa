/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into the Python package, where `fourflow serve` answers it at / (docs/web.md).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/fourflow/webui",
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
