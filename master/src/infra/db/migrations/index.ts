import { InitialRegistry1763769600000 } from './1763769600000-initial-registry.js';

/** The committed migrations, oldest first. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const MIGRATIONS: Function[] = [InitialRegistry1763769600000];
