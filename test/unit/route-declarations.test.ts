// Every route of both apps declares who may use it, next to its definition; one that declares nothing is
// refused to everyone; the worker routes that name a profile are the ones the supervisor decides on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { allow, routesOf, strictRouter, useRoutes, type RouteJudge } from '../../shared/http/route-access.ts';
import { NAMED_PROFILE_ROUTES } from '../../shared/access/profile-routes.ts';
import { namedRouteOf } from '../../supervisor/access/named-routes.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { request } from '../helpers/http.ts';
import { supervisorApp, workerApp } from '../helpers/apps.ts';

test('every route of the supervisor and of a worker declares its access', async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  t.after(() => config.remove());
  for (const [name, app] of [
    ['supervisor', await supervisorApp(config.dir)],
    ['worker', await workerApp(config.dir, 'a')],
    ['setup worker', await workerApp(config.dir, null)],
  ] as const) {
    const routes = routesOf(app);
    assert.ok(routes.length > 15, `${name}: ${routes.length} routes found`);
    const undeclared = routes.filter((r) => !r.access).map((r) => `${r.methods.join(',')} ${r.path}`);
    assert.deepEqual(undeclared, [], `${name}: routes without a declaration`);
    // besides the routers, only the listed infrastructure runs before a route (no handler hides elsewhere)
    const infrastructure = ['jsonAsText', 'errorPages', 'jsonErrors', 'noSniffing', 'sameOriginOnly', 'whoIsAsking', 'judgeOfThisApp', 'wrongMethod'];
    const others = app.middleware.filter((m) => !(m as { router?: unknown }).router).map((m) => m.name);
    assert.deepEqual(others.filter((other) => !infrastructure.includes(other)), [], `${name}: middleware that is neither infrastructure nor a route`);
  }
});

test('the worker defines the routes that name a profile from the table the supervisor decides on', async (t) => {
  const config = await makeConfigDir({ profiles: ['a'] });
  t.after(() => config.remove());
  const routes = routesOf(await workerApp(config.dir, 'a'));
  for (const [name, route] of Object.entries(NAMED_PROFILE_ROUTES)) {
    const defined = routes.find((r) => r.path === route.path && r.methods.includes(route.method));
    assert.ok(defined, `${name}: ${route.method} ${route.path} is a route of the worker`);
    assert.equal(defined.access, route.access, `${name}: declared with the table's own access`);
    assert.equal(namedRouteOf(route.method, route.path.replace(':handle', 'x.y'))?.name, name);
  }
  // the supervisor reads the path as the worker's Koa does: the query and a fragment are not part of it
  assert.equal(namedRouteOf('POST', '/api/profile/delete?x=1')?.name, 'delete');
  assert.equal(namedRouteOf('POST', '/api/profile/delete#x')?.name, 'delete');
  assert.equal(namedRouteOf('GET', '/api/profile/check-credentials/%6Eick.tat')?.params.handle, 'nick.tat');
  for (const other of ['/api/profile/Delete', '/api/profile/delete/', '/api/profile//delete', '/api/profile/%64elete', '/api/profile/delete;x', '/api/profile/./delete', '/API/profile/delete']) {
    assert.equal(namedRouteOf('POST', other), null, `${other} is no route of the worker either`);
  }
});

test('a route that declares nothing is refused to everyone; a declared one asks the judge', async (t) => {
  const asked: string[] = [];
  const judge: RouteJudge = {
    admit: (ctx, access) => {
      asked.push(`${ctx.path} ${access.action}`);
      return true;
    },
    audited: (_ctx, next) => next(),
    refuse: (ctx, refusal) => {
      ctx.status = refusal.status;
      ctx.body = { error: refusal.code };
    },
  };
  const router = strictRouter();
  router.get('/open', allow({ action: 'public' }), (ctx) => (ctx.body = 'open'));
  router.get('/forgotten', (ctx) => (ctx.body = 'should never be seen'));
  const app = new Koa();
  useRoutes(app, judge, [router]);
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const get = async (path: string) => {
    const res = await request(port, 'GET', path);
    return { status: res.status, text: res.text };
  };
  assert.deepEqual(await get('/open'), { status: 200, text: 'open' });
  const forgotten = await get('/forgotten');
  assert.equal(forgotten.status, 403);
  assert.doesNotMatch(forgotten.text, /never be seen/);
  assert.equal((await get('/OPEN')).status, 404, 'case-sensitive');
  assert.equal((await get('/open/')).status, 404, 'strict about a trailing slash');
  assert.deepEqual(asked, ['/open public']);
  assert.deepEqual(routesOf(app).map((r) => [r.path, r.access?.action]), [['/open', 'public'], ['/forgotten', undefined]]);
});
