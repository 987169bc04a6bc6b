// Preloaded into what runs unlinked (a worker started from the sources takes it with `--import`; the `npm start`
// launcher imports it before `npm run user` and `npm run stop`), before any module of the process loads: zod's
// entry points import all 64 of its locales (for its `locales` namespace), while our processes only ever speak
// English, the locale zod configures by itself. Loading the other 63 cost each start ~28 ms of CPU (a tenth of
// it) and ~3 MB (docs/benchmarks.md). The linked supervisor and worker have the same done when they are linked
// (scripts/link.mjs). A process started without either loads them all and works the same; nothing here may use
// `z.locales` beyond `en` (a test holds the sources to that).
import module from 'node:module';
import { ENGLISH_LOCALE, importsEveryLocale } from './zod-locale-rule.ts';

// registerHooks is Node ≥ 22.15: an older Node simply loads every locale.
module.registerHooks?.({
  resolve(specifier, context, nextResolve) {
    if (importsEveryLocale(specifier, context.parentURL)) return { url: ENGLISH_LOCALE.href, format: 'module', shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
