import { BeaconResolver, type BeaconResolverOptions } from '../../core/beacon/resolver.js';
import type { SiteRepository } from '../db/site-repository.js';

/**
 * One {@link BeaconResolver} built from every site's beacons (so that a beacon of another site is
 * recognised as such, and an id two sites produce is ambiguous), rebuilt when the sites change.
 * The site revision is read on each use: one primary-key read, and it also notices writes made by
 * another dashboard process sharing the database.
 */
export class BeaconResolvers {
  #cached: { revision: number; resolver: BeaconResolver } | undefined;
  #builds = 0;

  constructor(
    private readonly sites: SiteRepository,
    private readonly options: BeaconResolverOptions = {},
  ) {}

  async current(): Promise<BeaconResolver> {
    const revision = await this.sites.revision();
    if (this.#cached?.revision === revision) return this.#cached.resolver;
    const all = await this.sites.allBeacons();
    const resolver = new BeaconResolver(all.beacons, this.options);
    this.#builds++;
    this.#cached = { revision: all.revision, resolver };
    return resolver;
  }

  /** How many resolvers were built so far (tests, health). */
  get builds(): number {
    return this.#builds;
  }
}
