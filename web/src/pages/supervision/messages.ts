// The supervision screens' messages (issue 17 item 5), spread into i18n/zh.ts and i18n/en.ts.

export const supervisionZh = {
  "nav.supervision": "监管看板",
} as const;

export const supervisionEn: { readonly [K in keyof typeof supervisionZh]: string } = {
  "nav.supervision": "Supervision",
};
