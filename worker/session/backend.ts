import { ApiError } from '../../shared/http/api-error.ts';

/** Persistent JSON key/value storage of one profile's session (README, "Configuration", `SESSION_BACKEND`). */
export interface SessionBackend {
  readonly name: 'file' | 'redis' | 'memory';
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  keys(): Promise<string[]>;
  /** Deletes every key `belongs` says is the caller's (one namespace), in one go; how many went. */
  clear(belongs: (key: string) => boolean): Promise<number>;
  close(): Promise<void>;
  /** For stores that may be unreachable when the worker starts (Redis): resolves at this process's first
   *  successful connection. Stores that are always there (file, memory) leave it out. */
  firstConnection?(): Promise<void>;
}

/** The backend cannot be reached right now (Redis down): the request gets 503 `session_unavailable`. */
export class SessionUnavailableError extends ApiError {
  constructor(message: string) {
    super(503, 'session_unavailable', message);
  }
}
