import type { ProfileServices } from './profile-services.ts';

/** The profile's services, loaded on first use: a worker whose people never connect Google or automate
 *  the MIS never loads that code (start-up time and memory of every idle worker). */
export class LazyProfile {
  readonly #load: () => Promise<ProfileServices>;
  #promise: Promise<ProfileServices> | null = null;
  #value: ProfileServices | null = null;

  constructor(load: () => Promise<ProfileServices>) {
    this.#load = load;
  }

  get(): Promise<ProfileServices> {
    this.#promise ??= this.#load().then((value) => (this.#value = value));
    return this.#promise;
  }

  /** The services if something has used them already, without loading them. */
  get loaded(): ProfileServices | null {
    return this.#value;
  }
}
