// Version and build information. build.mjs replaces the __SIGWARD_BUILD__
// placeholder at bundle time; from sources it reports "source".

declare const __SIGWARD_BUILD__: { commit: string; date: string; bundled: boolean } | undefined;

export const VERSION = '0.1.0';

export interface BuildInfo {
  version: string;
  commit: string;
  date: string;
  bundled: boolean;
  node: string;
  platform: string;
  runtime: string;
}

export function getBuildInfo(): BuildInfo {
  const b = typeof __SIGWARD_BUILD__ === 'undefined' ? undefined : __SIGWARD_BUILD__;
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  return {
    version: VERSION,
    commit: b?.commit ?? 'source',
    date: b?.date ?? 'source',
    bundled: b?.bundled ?? false,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    runtime: deno?.version?.deno ? `deno ${deno.version.deno}` : 'node',
  };
}
