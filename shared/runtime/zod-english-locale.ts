// What zod's `locales` namespace is in our processes (shared/runtime/zod-english-only.ts): English, the one
// locale zod itself configures, and no other.
export { default as en } from 'zod/v4/locales/en.js';
