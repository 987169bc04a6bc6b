import type { Logger } from '../../shared/runtime/logger.ts';
import { PROTOCOL } from '../../shared/runtime/control-protocol.ts';
import { AdoptedProcess } from './adopted-process.ts';
import type { ProcessHooks, RunningProcess } from './linked-process.ts';
import { descendants, killAll } from './process-tree.ts';
import type { Linked } from './worker-links.ts';
import type { WorkerLinks } from './worker-links.ts';
import { isSameProcess, type WorkerRecord, type WorkerRecords } from './worker-records.ts';

/** A worker process an earlier supervisor started and this one may take back (docs/architecture.md,
 *  "Workers outlive the supervisor"): what it was started for, and how to take or release it. */
export interface Adoptable {
  name: string;
  port: number;
  config: string;
  files: string;
  restarts: number;
  /** The process, around the hooks of the lifecycle that takes it. */
  take(hooks: ProcessHooks): RunningProcess;
  /** Nobody wants it (its profile was deleted meanwhile): a graceful stop. */
  release(): Promise<void>;
}

export interface AdoptionOptions {
  records: WorkerRecords;
  links: WorkerLinks;
  log: Logger;
  /** How long the recorded workers have to dial this supervisor (they dial every 200 ms). */
  waitMs: number;
  /** How long an incompatible or silent worker has to stop before it is killed. */
  stopTimeoutMs: number;
  /** The secret this supervisor's requests carry, which an adopted worker is told. */
  requestSecret: string;
  /** Starts listening on the control socket: once every recorded worker is expected. */
  listen(): Promise<void>;
}

const NO_HOOKS: ProcessHooks = { onEvent() {}, onLine() {} };

/** Finds the workers an earlier supervisor left running (docs/architecture.md, "Workers outlive the
 *  supervisor"). Each record names a process (pid and start time) and the secret only that worker holds: a
 *  record whose process is gone (or whose pid now belongs to another process) is dropped, with the Chrome it
 *  names; a recorded process that does not dial and prove itself within `waitMs` is stopped; one that speaks
 *  another protocol is asked to stop. What is left is handed to the supervisor's first pass. */
export async function findRecordedWorkers(o: AdoptionOptions): Promise<Adoptable[]> {
  const records = await o.records.list();
  const waiting: Promise<{ record: WorkerRecord; link: Linked | null; relink: (take: (link: Linked) => void) => void; forget: () => void }>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let deadlineStarts: () => void = () => {};
  const deadline = new Promise<null>((resolve) => {
    deadlineStarts = () => (timer = setTimeout(() => resolve(null), o.waitMs));
  });
  for (const record of records) {
    if (!isSameProcess(record.pid, record.proc_start)) {
      o.log.info({ name: record.name, worker_pid: record.pid }, 'a worker of the earlier supervisor exited while none ran');
      if (record.browser && isSameProcess(record.browser.pid, record.browser.proc_start)) killAll([record.browser.pid]);
      await o.records.remove(record.name, record.pid);
      continue;
    }
    let later: (link: Linked) => void = () => {};
    let first: ((link: Linked) => void) | null = null;
    const linked = new Promise<Linked>((resolve) => (first = resolve));
    const forget = o.links.expectRecorded(record, (link) => {
      if (first) {
        first(link);
        first = null;
      } else later(link); // it dialled again later (its link broke): the same process, linked anew
    });
    waiting.push(
      Promise.race([linked, deadline]).then((link) => ({ record, link, forget, relink: (take) => (later = take) })),
    );
  }
  await o.listen();
  deadlineStarts();
  const found = await Promise.all(waiting);
  clearTimeout(timer);
  const adoptables: Adoptable[] = [];
  const stops: Promise<void>[] = [];
  for (const { record, link, forget, relink } of found) {
    if (!link) {
      forget();
      o.log.warn({ name: record.name, worker_pid: record.pid }, `a worker of the earlier supervisor did not answer within ${o.waitMs} ms; stopping it`);
      stops.push(stopSilent(record, o));
      continue;
    }
    const adopt = (hooks: ProcessHooks) => {
      const proc = new AdoptedProcess(record, link, hooks, o.requestSecret);
      relink((again) => proc.attach(again, o.requestSecret));
      void proc.exited.then(() => {
        forget();
        return o.records.remove(record.name, record.pid);
      });
      return proc;
    };
    if (link.hello.protocol !== PROTOCOL) {
      o.log.warn({ name: record.name, worker_pid: record.pid, protocol: link.hello.protocol, ours: PROTOCOL }, 'a worker of the earlier supervisor speaks another control protocol; stopping it gracefully, a new one starts');
      stops.push(adopt(NO_HOOKS).stop(o.stopTimeoutMs).then(() => {}));
      continue;
    }
    adoptables.push({
      name: record.name,
      port: record.port,
      config: record.config,
      files: record.files,
      restarts: record.restarts,
      take: (hooks) => adopt(hooks),
      release: () => adopt(NO_HOOKS).stop(o.stopTimeoutMs).then(() => {}),
    });
  }
  await Promise.all(stops);
  return adoptables;
}

/** A recorded process that did not dial: SIGTERM, then after the stop timeout SIGKILL of it, what it
 *  started, and its Chrome — each only while it is still the very process the record names. */
async function stopSilent(record: WorkerRecord, o: AdoptionOptions): Promise<void> {
  const alive = () => isSameProcess(record.pid, record.proc_start);
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    // gone already
  }
  const deadline = performance.now() + o.stopTimeoutMs;
  while (alive() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) killAll([record.pid, ...descendants(record.pid)]);
  if (record.browser && isSameProcess(record.browser.pid, record.browser.proc_start)) killAll([record.browser.pid]);
  await o.records.remove(record.name, record.pid);
}
