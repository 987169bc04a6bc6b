// The vocabulary of access: what a route lets someone do. The decisions are shared/access/access-rules.ts.

/** What a route lets someone do. Each route of both apps declares one, next to its definition.
 *  - `public`: anyone (the sign-in page and what it loads, health)
 *  - `signed-in`: anyone who is someone (the dashboard, one's own lists)
 *  - `admin`: the people and tokens pages, the global current profile
 *  - `metrics`: admins, METRICS_TOKEN, or a client on this machine itself
 *  - `use`: a profile's page and API
 *  - `operate`: restart, stop, start a profile's worker
 *  - `switch`: make a profile the one `/api/…` goes to
 *  - `delete`: delete a profile
 *  - `register`: register a handle (nobody else's), or see whether its credentials file is there */
export type Action = 'public' | 'signed-in' | 'admin' | 'metrics' | 'use' | 'operate' | 'switch' | 'delete' | 'register';
