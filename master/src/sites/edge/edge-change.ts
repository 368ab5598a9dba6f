import { PLAIN_EDGE, type SiteEdge } from '../../../../shared/src/site-edge.js';
import type { EdgeChange } from '../../../../shared/src/tasks.js';

/** A site has at most this many other names (a vhost step takes at most 50 of each kind). */
export const MAX_NAMES = 50;

/**
 * The edge a change gives: pure, so the service checks it before queuing and the task applies the
 * same to the edge it finds when it runs. Throws an Error whose message is for people.
 */
export function applyEdgeChange(domain: string, current: SiteEdge | undefined, change: EdgeChange): SiteEdge {
  const edge = structuredClone(current ?? PLAIN_EDGE);
  switch (change.kind) {
    case 'alias-add': {
      if (change.name === domain) throw new Error(`${change.name} is the site's own domain`);
      const served = edge.aliases.includes(change.name);
      const redirected = edge.redirects.includes(change.name);
      if ((served && !change.redirect) || (redirected && change.redirect))
        throw new Error(`${change.name} is ${served ? 'served' : 'redirected'} by ${domain} already`);
      // Added again the other way: it moves from one list to the other.
      edge.aliases = edge.aliases.filter((name) => name !== change.name);
      edge.redirects = edge.redirects.filter((name) => name !== change.name);
      if (change.redirect) edge.redirects.push(change.name);
      else edge.aliases.push(change.name);
      if (edge.aliases.length > MAX_NAMES || edge.redirects.length > MAX_NAMES)
        throw new Error(`${domain} has ${MAX_NAMES} other names of that kind already: that is the most`);
      return edge;
    }
    case 'alias-remove': {
      if (!edge.aliases.includes(change.name) && !edge.redirects.includes(change.name))
        throw new Error(`${change.name} is not a name of ${domain}`);
      edge.aliases = edge.aliases.filter((name) => name !== change.name);
      edge.redirects = edge.redirects.filter((name) => name !== change.name);
      return edge;
    }
    case 'https':
      edge.https = change.https;
      return edge;
    case 'php':
      if (!edge.pool)
        throw new Error(`${domain} has no PHP pool of its own yet: verify it first (berth site verify)`);
      edge.pool = { ...edge.pool, settings: change.settings };
      return edge;
  }
}
