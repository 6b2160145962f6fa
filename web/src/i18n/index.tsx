import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import type { Locale as AntdLocale } from "antd/es/locale";
import antdZh from "antd/locale/zh_CN";
import antdEn from "antd/locale/en_US";
import dayjs from "dayjs";
import "dayjs/locale/zh-cn";
import { zh } from "./zh";
import { en } from "./en";

export type MessageKey = keyof typeof zh;
export type Messages = { readonly [K in MessageKey]: string };
export type Locale = "zh" | "en";

export const CATALOGUES: Record<Locale, Messages> = { zh, en };
export const DEFAULT_LOCALE: Locale = "zh";
const STORAGE_KEY = "fourflow.locale";

/** The message of `key` in `locale` with `{name}` placeholders filled from `vars`. */
export function translate(
  locale: Locale,
  key: MessageKey,
  vars: Record<string, string | number | null | undefined> = {},
): string {
  const text = CATALOGUES[locale][key] ?? CATALOGUES[DEFAULT_LOCALE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = vars[name];
    return value === undefined || value === null ? whole : String(value);
  });
}

/** A key that may not exist (an enum value from the API): its message, or the raw value. */
export function translateOr(locale: Locale, key: string, fallback: string): string {
  return key in CATALOGUES[locale] ? CATALOGUES[locale][key as MessageKey] : fallback;
}

export function storedLocale(storage: Pick<Storage, "getItem"> | undefined): Locale {
  const found = storage?.getItem(STORAGE_KEY);
  return found === "en" || found === "zh" ? found : DEFAULT_LOCALE;
}

const ANTD: Record<Locale, AntdLocale> = { zh: antdZh, en: antdEn };
const HTML_LANG: Record<Locale, string> = { zh: "zh-CN", en: "en" };

interface I18n {
  locale: Locale;
  antd: AntdLocale;
  setLocale: (next: Locale) => void;
  t: (key: MessageKey, vars?: Record<string, string | number | null | undefined>) => string;
  tOr: (key: string, fallback: string) => string;
}

const Context = createContext<I18n | null>(null);

function apply(locale: Locale): void {
  document.documentElement.lang = HTML_LANG[locale];
  dayjs.locale(locale === "zh" ? "zh-cn" : "en");
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setState] = useState<Locale>(() => {
    const first = storedLocale(window.localStorage);
    apply(first);
    return first;
  });
  const setLocale = useCallback((next: Locale) => {
    window.localStorage.setItem(STORAGE_KEY, next);
    apply(next);
    setState(next);
  }, []);
  const value = useMemo<I18n>(
    () => ({
      locale,
      antd: ANTD[locale],
      setLocale,
      t: (key, vars) => translate(locale, key, vars),
      tOr: (key, fallback) => translateOr(locale, key, fallback),
    }),
    [locale, setLocale],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useI18n(): I18n {
  const found = useContext(Context);
  if (!found) throw new Error("useI18n outside I18nProvider");
  return found;
}
