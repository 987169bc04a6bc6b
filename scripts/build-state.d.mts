export declare const STATE_FILE: string;
export declare function sourcesFingerprint(root: string): string;
export declare function buildState(root: string): { fresh: true } | { fresh: false; reason: string };
export declare function writeBuildState(root: string, fingerprint: string): void;
