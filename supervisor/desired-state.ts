import type { Handle } from '../shared/handle.ts';
import type { ProfileStore } from '../shared/profile-store.ts';

export interface DesiredState {
  /** Profiles that should each have a running worker (valid, and in `PROFILES` when set). */
  handles: Handle[];
  /** The profile the guide's unprefixed `/api/…` goes to; `null` in first-run mode. */
  current: Handle | null;
}

/** Reads the desired set from the files: cheap (two directory listings and last_profile.json). */
export async function readDesiredState(store: ProfileStore, shard: Handle[] | undefined, pinned: Handle | null): Promise<DesiredState> {
  const valid = await store.validHandles();
  const handles = shard ? valid.filter((h) => shard.includes(h)) : valid;
  let current: Handle | null = null;
  if (pinned && handles.includes(pinned)) current = pinned;
  else {
    const last = await store.readLastProfile();
    current = last && handles.includes(last) ? last : (handles[0] ?? null);
  }
  return { handles, current };
}
