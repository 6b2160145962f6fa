// The two Node modules report.test.ts reads the font with (Vitest runs in Node; the app's
// TypeScript has no Node types).
declare module "node:fs" {
  export function readFileSync(path: string): Uint8Array<ArrayBuffer>;
}
declare module "node:url" {
  export function fileURLToPath(url: URL): string;
}
