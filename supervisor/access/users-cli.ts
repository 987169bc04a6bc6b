// `npm run user -- <command>`: the people of AUTH=local (and the grants of AUTH=proxy), in users.json. The
// supervisor picks up every change within a second, without a restart.
//   add <name> [--admin] [--profile <h>]…   (password from standard input, one line)
//   passwd <name>                           (likewise)
//   remove <name> · grant <name> <h> · revoke <name> <h> · token <name> [--label <l>] · list
import readline from 'node:readline';
import { parseHandle, HANDLE_RULES, type Handle } from '../../shared/profiles/handle.ts';
import { configPaths, resolveConfigDir } from '../../shared/profiles/paths.ts';
import { MIN_PASSWORD_LENGTH, USER_NAME_RULES, UserError, UserNameSchema, UserStore } from '../../shared/access/users.ts';

const USAGE = `usage: npm run user -- add <name> [--admin] [--profile <handle>]…
       npm run user -- passwd <name>
       npm run user -- remove <name>
       npm run user -- grant <name> <handle>
       npm run user -- revoke <name> <handle>
       npm run user -- token <name> [--label <label>]
       npm run user -- list
(add and passwd read the password from standard input: one line, at least ${MIN_PASSWORD_LENGTH} characters)`;

function exit(code: number, message: string): never {
  (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
  process.exit(code);
}

const [command, ...rest] = process.argv.slice(2);
const store = new UserStore(configPaths(resolveConfigDir()).users);

function nameArg(): string {
  const name = rest[0];
  if (!name) exit(64, USAGE);
  const parsed = UserNameSchema.safeParse(name);
  if (!parsed.success) exit(64, `"${name}" is not a valid user name: ${USER_NAME_RULES}`);
  return parsed.data;
}

function handleArg(raw: string | undefined): Handle {
  const handle = parseHandle(raw ?? '');
  if (!handle) exit(64, `"${raw ?? ''}" is not a valid profile handle: ${HANDLE_RULES}`);
  return handle;
}

function option(name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rest.length; i++) if (rest[i] === name && rest[i + 1] !== undefined) values.push(rest[++i]!);
  return values;
}

/** One line from standard input (a terminal or a pipe), without the line end. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password: ');
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line.replace(/\r$/, '');
  }
  return '';
}

try {
  switch (command) {
    case 'add': {
      const name = nameArg();
      const profiles = option('--profile').map(handleArg);
      const password = await readPassword();
      await store.add(name, { admin: rest.includes('--admin'), profiles, password });
      exit(0, `added "${name}"${rest.includes('--admin') ? ' (admin)' : ''}${profiles.length ? ` with ${profiles.join(', ')}` : ''}`);
    }
    case 'passwd': {
      const name = nameArg();
      await store.setPassword(name, await readPassword());
      exit(0, `password of "${name}" changed; its sign-ins have ended`);
    }
    case 'remove': {
      const name = nameArg();
      await store.remove(name);
      exit(0, `removed "${name}"; its sign-ins and tokens no longer work`);
    }
    case 'grant':
    case 'revoke': {
      const name = nameArg();
      const handle = handleArg(rest[1]);
      await (command === 'grant' ? store.grant(name, handle) : store.revoke(name, handle));
      exit(0, command === 'grant' ? `"${name}" may now use ${handle}` : `"${name}" may no longer use ${handle}`);
    }
    case 'token': {
      const name = nameArg();
      const { id, token } = await store.createToken(name, option('--label')[0] ?? 'token');
      exit(0, `${token}\n(token ${id} of "${name}": shown once, keep it; use it as "Authorization: Bearer <token>")`);
    }
    case 'list': {
      if (store.problem) exit(1, store.problem);
      const users = store.list();
      if (users.length === 0) exit(0, 'no users yet: npm run user -- add <name> --admin');
      exit(0, users.map((u) => `${u.name}${u.admin ? ' (admin)' : ''}\tprofiles: ${u.profiles.join(', ') || '–'}\ttokens: ${u.tokens.map((t) => `${t.id} ${t.label}`).join(', ') || '–'}`).join('\n'));
    }
    default:
      exit(64, USAGE);
  }
} catch (error) {
  if (error instanceof UserError) exit(1, error.message);
  throw error;
}
