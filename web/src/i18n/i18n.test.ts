import { describe, expect, it } from "vitest";
import { CATALOGUES, DEFAULT_LOCALE, storedLocale, translate, translateOr, type MessageKey } from "./index";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("message catalogues", () => {
  it("Chinese is the default", () => {
    expect(DEFAULT_LOCALE).toBe("zh");
    expect(storedLocale(undefined)).toBe("zh");
    expect(storedLocale({ getItem: () => null })).toBe("zh");
    expect(storedLocale({ getItem: () => "fr" })).toBe("zh");
    expect(storedLocale({ getItem: () => "en" })).toBe("en");
  });

  it("zh and en have the same keys, none empty, with the same placeholders", () => {
    const zh = Object.keys(CATALOGUES.zh).sort();
    expect(Object.keys(CATALOGUES.en).sort()).toEqual(zh);
    for (const key of zh as MessageKey[]) {
      expect(CATALOGUES.zh[key].trim(), key).not.toBe("");
      expect(CATALOGUES.en[key].trim(), key).not.toBe("");
      expect(placeholders(CATALOGUES.en[key]), key).toEqual(placeholders(CATALOGUES.zh[key]));
    }
  });

  it("Chinese messages are in Chinese and English ones are not", () => {
    const han = /\p{Script=Han}/u;
    expect(han.test(translate("zh", "signIn.title"))).toBe(true);
    for (const [key, text] of Object.entries(CATALOGUES.en)) {
      if (key === "lang.switch") continue; // names the other language in its own script
      expect(han.test(text), key).toBe(false);
    }
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    expect(translate("en", "upload.summary", { total: 4, accepted: 2, duplicate: 1, rejected: 1 })).toBe(
      "4 files: 2 accepted, 1 duplicate, 1 rejected",
    );
    expect(translate("zh", "admissions.admitted", { name: "苏州精密" })).toBe("苏州精密 已准予入驻");
    expect(translate("en", "admissions.admitted")).toBe("{name} admitted");
  });

  it("an enum value from the API without a message shows as itself", () => {
    expect(translateOr("en", "orgType.bank", "bank")).toBe("Bank");
    expect(translateOr("zh", "orgType.bank", "bank")).toBe("银行");
    expect(translateOr("en", "orgType.new_kind", "new_kind")).toBe("new_kind");
  });
});
