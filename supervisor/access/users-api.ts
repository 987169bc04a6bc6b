import type { Router } from '../../shared/runtime/cjs-imports.ts';
import { z } from 'zod';
import { ApiError } from '../../shared/http/api-error.ts';
import { HandleSchema } from '../../shared/profiles/handle.ts';
import { readJson, requireHandle } from '../../shared/http/json-body.ts';
import { allow, strictRouter } from '../../shared/http/route-access.ts';
import { UserError, UserNameSchema, viewOf, type UserStore } from '../../shared/access/users.ts';

const NewUser = z.object({ name: UserNameSchema, password: z.string().max(1024), admin: z.boolean().optional(), profiles: z.array(HandleSchema).optional() });
const Password = z.object({ password: z.string().max(1024) });
const Grant = z.object({ handle: z.unknown() });
const NewToken = z.object({ label: z.string().max(64).optional() });

/** The admin page's API (admins only, by the access policy): people, passwords, grants, API tokens. A token
 *  is shown once, when it is made; no answer ever holds a password or a hash. */
export function usersApi(users: UserStore): Router {
  const router = strictRouter();
  const base = '/supervisor/api/users';
  const admins = allow({ action: 'admin' });
  const nameOf = (raw: string | undefined) => {
    const parsed = UserNameSchema.safeParse(raw);
    if (!parsed.success) throw new ApiError(400, 'invalid_body', parsed.error.issues[0]!.message);
    return parsed.data;
  };
  const run = async <T>(task: () => Promise<T>): Promise<T> => {
    try {
      return await task();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      const status = error.code === 'user_not_found' || error.code === 'token_not_found' ? 404 : error.code === 'user_exists' ? 409 : error.code === 'corrupt_file' ? 500 : 400;
      throw new ApiError(status, error.code === 'token_not_found' ? 'not_found' : error.code === 'corrupt_file' ? 'corrupt_file' : error.code, error.message);
    }
  };

  router.get(base, admins, (ctx) => {
    if (users.problem) throw new ApiError(500, 'corrupt_file', users.problem);
    ctx.body = { success: true, users: users.list().map(viewOf) };
  });
  router.post(base, admins, async (ctx) => {
    const body = await readJson(ctx, NewUser);
    const user = await run(() => users.add(body.name, { password: body.password, admin: body.admin ?? false, profiles: body.profiles ?? [] }));
    ctx.status = 201;
    ctx.body = { success: true, user: viewOf(user) };
  });
  router.delete(`${base}/:name`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    await run(() => users.remove(name));
    ctx.body = { success: true, name };
  });
  router.post(`${base}/:name/password`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    const { password } = await readJson(ctx, Password);
    await run(() => users.setPassword(name, password));
    ctx.body = { success: true, name, message: `password of "${name}" changed; its sign-ins have ended` };
  });
  router.post(`${base}/:name/profiles`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    const handle = requireHandle((await readJson(ctx, Grant)).handle);
    await run(() => users.grant(name, handle));
    ctx.body = { success: true, user: viewOf(users.find(name)!) };
  });
  router.delete(`${base}/:name/profiles/:handle`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    const handle = requireHandle(ctx.params.handle);
    await run(() => users.revoke(name, handle));
    ctx.body = { success: true, user: viewOf(users.find(name)!) };
  });
  router.post(`${base}/:name/tokens`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    const { label } = await readJson(ctx, NewToken);
    const { id, token } = await run(() => users.createToken(name, label ?? 'token'));
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = { success: true, id, token, message: 'shown once: keep it now; use it as "Authorization: Bearer <token>"' };
  });
  router.delete(`${base}/:name/tokens/:id`, admins, async (ctx) => {
    const name = nameOf(ctx.params.name);
    await run(() => users.revokeToken(name, String(ctx.params.id)));
    ctx.body = { success: true, name, id: ctx.params.id };
  });
  return router;
}
