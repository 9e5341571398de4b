import pkg from '../../package.json';

/** Krill's own version, from package.json. */
export const KRILL_VERSION: string = pkg.version;
