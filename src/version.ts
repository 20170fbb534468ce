// Owns Salvo's own version: what `salvo --version` prints, what results documents record and
// what cached bundles are keyed by. Kept equal to package.json's "version" (a test checks).

export const SALVO_VERSION = '0.1.0';
