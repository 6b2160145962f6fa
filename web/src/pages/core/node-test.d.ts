// The few Node built-ins ownKey.test.ts uses (Vitest runs in Node; the app has no Node types).
declare module "node:child_process" {
  export function execFileSync(file: string, args: string[], options: { cwd: string; encoding: "utf8"; timeout: number }): string;
}
declare module "node:fs" {
  export function existsSync(path: string): boolean;
}
