// Which import gives zod's `locales` namespace all 64 of its locales, and what our processes take instead: one
// rule, applied by the module hook of what runs unlinked (zod-english-only.ts) and by the link step
// (scripts/link.mjs, which loads the compiled copy of this file).

/** zod's modules that import the namespace of every locale (a file URL or a path). */
const LOCALE_INDEX_IMPORTER = /[\\/]node_modules[\\/]zod[\\/]v4[\\/](?:core|classic|mini)[\\/][^\\/]+\.js$/;

/** Whether `specifier`, imported by `importer`, is zod's import of every locale. */
export function importsEveryLocale(specifier: string, importer: string | undefined): boolean {
  return specifier === '../locales/index.js' && importer !== undefined && LOCALE_INDEX_IMPORTER.test(importer);
}

/** What stands for it: the English locale alone (zod-english-locale.ts, or its compiled copy beside this one). */
export const ENGLISH_LOCALE = new URL(`./zod-english-locale.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
