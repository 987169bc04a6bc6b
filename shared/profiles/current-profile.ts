import type { Handle } from './handle.ts';

export type SelectionSource = 'BLAZE_PROFILE' | 'last_profile' | 'first_valid' | 'none';

export interface CurrentProfile {
  handle: Handle | null;
  source: SelectionSource;
}

/** The one rule for the current profile (README, "Files under the config dir"): `pinned` (BLAZE_PROFILE) if
 *  valid → `last` (last_profile.json) if valid → the first valid handle in sorted order → none (first-run
 *  mode). A worker run alone and the supervisor both decide with it; `valid` is what each may serve. */
export function chooseCurrent(valid: readonly Handle[], preferred: { pinned?: Handle | null; last?: Handle | null }): CurrentProfile {
  if (preferred.pinned && valid.includes(preferred.pinned)) return { handle: preferred.pinned, source: 'BLAZE_PROFILE' };
  if (preferred.last && valid.includes(preferred.last)) return { handle: preferred.last, source: 'last_profile' };
  const first = [...valid].sort()[0];
  return first ? { handle: first, source: 'first_valid' } : { handle: null, source: 'none' };
}
