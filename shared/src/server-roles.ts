/**
 * What a server offers to sites: `http` (a web server serves platforms and sites there), `db` (a
 * database server holds sites' databases there).
 */
export type ServerRole = 'http' | 'db';

export const SERVER_ROLES: readonly ServerRole[] = ['http', 'db'];

/** The roles a server's running services give it: what an agent offers unless told otherwise. */
export function rolesOfServices(services: ReadonlyArray<{ kind: string; running: boolean }>): ServerRole[] {
  return SERVER_ROLES.filter((role) => services.some((service) => service.kind === role && service.running));
}

/** Parses a comma-separated list of roles (`http,db`); the unknown ones in `unknown`. */
export function parseRoles(text: string): { roles: ServerRole[]; unknown: string[] } {
  const words = text
    .split(',')
    .map((word) => word.trim())
    .filter(Boolean);
  return {
    roles: SERVER_ROLES.filter((role) => words.includes(role)),
    unknown: words.filter((word) => !(SERVER_ROLES as readonly string[]).includes(word)),
  };
}
