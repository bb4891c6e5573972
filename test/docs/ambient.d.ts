// What the documentation's examples assume exists around them: the application's own functions.
// Anything from onlyone itself is checked against dist/index.d.ts, not declared here.
declare function backup(options: { signal: AbortSignal }): Promise<void>;
declare function buildReport(options: { signal: AbortSignal; fence: string | undefined }): Promise<void>;
declare function openWindow(file: string): void;
declare function startEditor(files: string[]): void;
declare function shutdown(): void;
declare function transcode(file: string, options: { signal: AbortSignal }): Promise<void>;
declare const file: string;
declare function build(options: { signal: AbortSignal; fence: bigint }): Promise<void>;
