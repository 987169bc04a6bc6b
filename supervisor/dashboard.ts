import Router from '@koa/router';
import type { Supervisor } from './supervisor.ts';

/** `GET /`: a plain status page until the dashboard issue gives it actions and live updates. */
export function dashboardRoutes(supervisor: Supervisor): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    const rows = supervisor
      .list()
      .map((w) => {
        const name = w.handle ?? '(setup)';
        const link = w.handle ? `<a href="/p/${w.handle}/">${name}</a>` : name;
        return `<tr><td>${link}${w.is_current ? ' ★' : ''}</td><td>${w.state}</td><td>${w.pid ?? ''}</td><td>${w.port || ''}</td><td>${w.restarts}</td></tr>`;
      })
      .join('');
    ctx.type = 'html';
    ctx.body = `<!doctype html><meta charset="utf-8"><title>TAT-MIS supervisor</title>
<h1>TAT-MIS profiles</h1>${supervisor.firstRun ? '<p>No profile yet: register one with <code>POST /api/profile/register</code>.</p>' : ''}
<table><thead><tr><th>profile</th><th>state</th><th>pid</th><th>port</th><th>restarts</th></tr></thead><tbody>${rows}</tbody></table>`;
  });
  return router;
}
