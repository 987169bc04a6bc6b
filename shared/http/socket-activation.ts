/** systemd's socket activation (`sd_listen_fds(3)`): when systemd holds the listening socket
 *  (`deploy/tat-mis.socket`) it passes it as fd 3 with `LISTEN_FDS` and `LISTEN_PID` naming this process;
 *  the socket then outlives every restart of the process, and connections that arrive between two wait in its
 *  queue instead of being refused. The variables are taken out of the environment either way: they are meant
 *  for this process alone, never for what it starts. */
export function activatedSocket(env: NodeJS.ProcessEnv = process.env): { fd: number } | null {
  const { LISTEN_PID: pid, LISTEN_FDS: fds } = env;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return pid === String(process.pid) && Number(fds) >= 1 ? { fd: 3 } : null;
}
