export declare const STATE_FILE: string;
export interface SourcesRecord {
  sources: string;
  stat: string;
}
export declare function sourcesFingerprint(root: string): string;
export declare function sourcesStat(root: string): string;
export declare function sourcesRecord(root: string): SourcesRecord;
export declare function buildState(root: string): { fresh: true; sources: string } | { fresh: false; reason: string };
export declare function writeBuildState(root: string, record: SourcesRecord): void;
