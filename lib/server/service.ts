// The running webhook: policies loaded into a snapshot, the verification
// cache, bounded concurrency, the HTTPS server, hot reload of policies and of
// the serving certificate, an optional plain metrics port, and an orderly
// stop (readiness off, optional delay for endpoint removal, drain).

import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SigwardError, toSigwardError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type BoundedResultCache, createResultCache } from '../engine/cache.ts';
import { formatDiagnostic } from '../policy/index.ts';
import type { OciStore, RepositoryRef } from '../oci/types.ts';
import type { Trust } from '../trust/index.ts';
import { type RecordKeys, toRecordKey } from '../admission/record.ts';
import { createMetrics, type WebhookMetrics } from './metrics.ts';
import {
  createPolicySnapshot,
  type EngineDeps,
  getPolicyFilesFingerprint,
  loadPolicySnapshot,
  type PolicySnapshot,
} from './policy-set.ts';
import { TrustedRoot as TrustedRootCodec } from '@sigstore/protobuf-specs';
import { createSemaphore } from '../semaphore.ts';
import { getUnsupportedSelectors } from './select.ts';
import {
  createMetricsServer,
  createWebhookServer,
  type Readiness,
  type TlsMaterial,
  type WebhookServer,
} from './server.ts';
import { type FileWatch, watchFiles } from './watch.ts';
import { createAdmissionHandler, isCacheWritable } from './webhook.ts';

export interface WebhookServiceOptions {
  policyPaths: string[];
  tlsCertPath: string;
  tlsKeyPath: string;
  port: number;
  address: string;
  /** plain HTTP port for /metrics, /healthz, /readyz (undefined or 0: none) */
  metricsPort?: number;
  trust: Trust;
  stores: (repo: RepositoryRef) => OciStore;
  /** stores with a policy entry's own registry access (imageRegistryCredentials) */
  storesFor?: EngineDeps['storesFor'];
  log: Logger;
  /** an existing metrics set (its registry also receives registry latency) */
  metrics?: WebhookMetrics;
  defaultTimeoutSeconds?: number;
  defaultRegistry?: string;
  maxConcurrent?: number;
  maxQueue?: number;
  /** evaluations at once for Pods of one registry host (default: maxConcurrent minus a quarter) */
  maxConcurrentPerRegistry?: number;
  /**
   * files whose contents seal the verification record (at least 32 bytes
   * each): the first seals, every one is accepted. Default: derived from the
   * serving key, which every replica shares.
   */
  recordKeyPaths?: string[];
  /** false: no verification cache (every request verifies) */
  cache?: boolean;
  cacheTtlMs?: number;
  resolveCacheTtlMs?: number;
  cacheMaxEntries?: number;
  /** polling period for policy and certificate changes, default 2000 ms */
  reloadIntervalMs?: number;
  /** fetches the trust root again (serve --tuf-mirror); with trustRefreshIntervalMs > 0 it runs on that period */
  refreshTrust?: () => Promise<Trust>;
  trustRefreshIntervalMs?: number;
  maxBodyBytes?: number;
}

export interface WebhookService {
  address: AddressInfo;
  metricsAddress?: AddressInfo;
  metrics: WebhookMetrics;
  readonly snapshot: PolicySnapshot;
  readiness(): Readiness;
  /** checks policy and certificate files now (tests; the watchers do it on their own) */
  checkReload(): Promise<void>;
  /** the trust root requests are verified against now */
  readonly trust: Trust;
  /** readiness off; requests are still served */
  beginShutdown(): void;
  /** stops accepting connections, drains in-flight requests, releases everything */
  close(drainMs?: number): Promise<void>;
}

function readTls(certPath: string, keyPath: string): TlsMaterial {
  const read = (p: string, what: string) => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `cannot read TLS ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  };
  return { cert: read(certPath, 'certificate'), key: read(keyPath, 'key') };
}

/** The record keys from their files (or the serving key): the first seals, all verify. */
function readRecordKeys(o: Pick<WebhookServiceOptions, 'recordKeyPaths' | 'tlsKeyPath'>): KeyObject[] {
  const paths = o.recordKeyPaths?.length ? o.recordKeyPaths : [o.tlsKeyPath];
  return paths.map((p) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch (e) {
      throw new SigwardError(
        'CONFIG_INVALID',
        `cannot read record key ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
    return toRecordKey(bytes, o.recordKeyPaths?.length ? `record key ${p}` : `serving key ${p} (record key)`);
  });
}

/** New keys in force; the previous sealing key still verifies (records sealed a moment ago, replicas not yet reloaded). */
function rotateRecordKeys(prev: RecordKeys, next: KeyObject[]): RecordKeys {
  const verify = [...next];
  if (!verify.some((k) => k.equals(prev.seal))) verify.push(prev.seal);
  return { seal: next[0]!, verify };
}

function fileFingerprint(paths: string[]): string {
  return paths
    .map((p) => {
      try {
        return readFileSync(p).toString('base64');
      } catch {
        return '<missing>';
      }
    })
    .join('|');
}

export async function startWebhookService(o: WebhookServiceOptions): Promise<WebhookService> {
  const log = o.log;
  let cache: BoundedResultCache | undefined;
  const metrics = o.metrics ?? createMetrics();
  metrics.setCacheSizeSource(() => cache?.size ?? 0);
  if (o.cache !== false) {
    cache = createResultCache({
      ttlMs: o.cacheTtlMs,
      resolveTtlMs: o.resolveCacheTtlMs,
      maxEntries: o.cacheMaxEntries,
      accept: isCacheWritable,
      onLookup: (kind, outcome) => metrics.cacheLookups.inc({ kind, outcome }),
    });
  }
  const deps: EngineDeps = {
    stores: o.stores,
    storesFor: o.storesFor,
    trust: o.trust,
    cache,
    defaultRegistry: o.defaultRegistry,
  };

  const warnPolicies = (snap: PolicySnapshot) => {
    for (const w of snap.warnings) log.warn({ warning: formatDiagnostic(w) }, 'policy warning');
    for (const note of getUnsupportedSelectors(snap.engine.policies)) {
      log.warn(
        { warning: note },
        'rule selector sigward cannot evaluate: unknown namespace labels and roles are treated as absent',
      );
    }
  };
  let snapshot = loadPolicySnapshot(o.policyPaths, deps, 1);
  warnPolicies(snapshot);
  metrics.policiesLoaded.set(snapshot.policies.length);
  const tls = readTls(o.tlsCertPath, o.tlsKeyPath);

  let draining = false;
  const readiness = (): Readiness => {
    if (draining) return { ready: false, reason: 'shutting down' };
    if (!deps.trust) return { ready: false, reason: 'trust root not loaded' };
    if (!snapshot.policies.length) return { ready: false, reason: 'no policies loaded' };
    return { ready: true };
  };

  const initialKeys = readRecordKeys(o);
  let recordKeys: RecordKeys = { seal: initialKeys[0]!, verify: initialKeys };
  const semaphore = createSemaphore(
    o.maxConcurrent ?? 32,
    o.maxQueue ?? 256,
    o.maxConcurrentPerRegistry ? { keyLimit: o.maxConcurrentPerRegistry } : {},
  );
  const handler = createAdmissionHandler({
    getSnapshot: () => snapshot,
    semaphore,
    log,
    metrics,
    defaultTimeoutSeconds: o.defaultTimeoutSeconds,
    defaultRegistry: o.defaultRegistry,
    getRecordKeys: () => recordKeys,
  });
  const server: WebhookServer = createWebhookServer({
    handler,
    metrics,
    log,
    tls,
    readiness,
    maxBodyBytes: o.maxBodyBytes,
  });
  const address = await server.listen(o.port, o.address);

  let metricsServer: HttpServer | undefined;
  let metricsAddress: AddressInfo | undefined;
  if (o.metricsPort) {
    const ms = createMetricsServer(metrics, readiness, log);
    metricsServer = ms;
    metricsAddress = await new Promise<AddressInfo>((resolve, reject) => {
      ms.once(
        'error',
        (e) =>
          reject(
            new SigwardError('CONFIG_INVALID', `cannot listen on ${o.address}:${o.metricsPort}: ${e.message}`, {
              cause: e,
            }),
          ),
      );
      ms.listen(o.metricsPort, o.address, () => resolve(ms.address() as AddressInfo));
    }).catch(async (e: unknown) => {
      await server.close(0);
      throw e;
    });
  }

  const reloadPolicies = () => {
    try {
      const next = loadPolicySnapshot(o.policyPaths, deps, snapshot.generation + 1);
      warnPolicies(next);
      snapshot = next; // requests in flight keep the snapshot they started with
      metrics.policyReloads.inc({ result: 'ok' });
      metrics.policiesLoaded.set(next.policies.length);
      log.info({
        generation: next.generation,
        policies: next.policies.map((p) =>
          `${p.kind}/${p.metadata.namespace ? p.metadata.namespace + '/' : ''}${p.metadata.name}`
        ),
      }, 'policies reloaded');
    } catch (e) {
      const err = toSigwardError(e);
      metrics.policyReloads.inc({ result: 'error' });
      log.error(
        { err: err.message, code: err.code, generation: snapshot.generation },
        'policy reload failed: keeping the previous policies',
      );
    }
  };
  const reloadRecordKeys = () => {
    try {
      recordKeys = rotateRecordKeys(recordKeys, readRecordKeys(o));
    } catch (e) {
      log.error({ err: toSigwardError(e).message }, 'record key reload failed: keeping the previous keys');
    }
  };
  const reloadCertificate = () => {
    try {
      server.setCertificate(readTls(o.tlsCertPath, o.tlsKeyPath));
      metrics.certificateReloads.inc({ result: 'ok' });
      log.info({ cert: o.tlsCertPath }, 'serving certificate reloaded');
      if (!o.recordKeyPaths?.length) reloadRecordKeys();
    } catch (e) {
      metrics.certificateReloads.inc({ result: 'error' });
      log.error({ err: toSigwardError(e).message }, 'certificate reload failed: keeping the previous certificate');
    }
  };
  // A trust refresh (TUF) that brings another root replaces the engine under
  // the same policies and drops cached results verified under the old root.
  // A failed refresh keeps the root the service has (logged, counted): the
  // webhook goes on as it would with a trusted_root.json file.
  const rootText = (t: Trust) => JSON.stringify(TrustedRootCodec.toJSON(t.root));
  let refreshing: Promise<void> | undefined;
  const refreshTrust = () => (refreshing ??= (async () => {
    try {
      const next = await o.refreshTrust!();
      if (rootText(next) === rootText(deps.trust)) {
        metrics.trustRefreshes.inc({ result: 'unchanged' });
        log.debug({ sources: next.sources }, 'trust root refreshed: unchanged');
        return;
      }
      deps.trust = next;
      snapshot = createPolicySnapshot(snapshot.policies, deps, snapshot.generation + 1, {
        warnings: snapshot.warnings,
        fingerprint: snapshot.fingerprint,
      });
      cache?.clear();
      metrics.trustRefreshes.inc({ result: 'changed' });
      log.info(
        { sources: next.sources, generation: snapshot.generation },
        'trust root refreshed: new root in use, verification cache cleared',
      );
    } catch (e) {
      const err = toSigwardError(e);
      metrics.trustRefreshes.inc({ result: 'error' });
      log.error({ err: err.message, code: err.code }, 'trust root refresh failed: keeping the trust root in use');
    } finally {
      refreshing = undefined;
    }
  })());
  const trustTimer = o.refreshTrust && (o.trustRefreshIntervalMs ?? 0) > 0
    ? setInterval(() => void refreshTrust(), o.trustRefreshIntervalMs)
    : undefined;
  trustTimer?.unref();

  const onWatchError = (e: unknown) =>
    log.debug({ err: e instanceof Error ? e.message : String(e) }, 'file watch problem (polling continues)');
  const watches: FileWatch[] = [
    watchFiles({
      paths: o.policyPaths,
      fingerprint: () => getPolicyFilesFingerprint(o.policyPaths),
      onChange: reloadPolicies,
      intervalMs: o.reloadIntervalMs,
      onError: onWatchError,
    }),
    watchFiles({
      paths: [o.tlsCertPath, o.tlsKeyPath],
      fingerprint: () => fileFingerprint([o.tlsCertPath, o.tlsKeyPath]),
      onChange: reloadCertificate,
      intervalMs: o.reloadIntervalMs,
      onError: onWatchError,
    }),
  ];
  const keyPaths = o.recordKeyPaths ?? [];
  if (keyPaths.length) {
    const onKeys = () => {
      reloadRecordKeys();
      log.info({ keys: keyPaths }, 'record keys reloaded');
    };
    watches.push(
      watchFiles({
        paths: keyPaths,
        fingerprint: () => fileFingerprint(keyPaths),
        onChange: onKeys,
        intervalMs: o.reloadIntervalMs,
        onError: onWatchError,
      }),
    );
  }

  log.info({
    address: `${address.address}:${address.port}`,
    ...(metricsAddress ? { metrics: `${metricsAddress.address}:${metricsAddress.port}` } : {}),
    policies: snapshot.policies.length,
    cache: o.cache !== false,
  }, 'sigward webhook listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    ...(metricsAddress ? { metricsAddress } : {}),
    metrics,
    get snapshot() {
      return snapshot;
    },
    readiness,
    async checkReload() {
      await Promise.all([...watches.map((w) => w.check()), ...(o.refreshTrust ? [refreshTrust()] : [])]);
    },
    get trust() {
      return deps.trust;
    },
    beginShutdown() {
      draining = true;
    },
    close(drainMs = 30_000) {
      return (closing ??= (async () => {
        draining = true;
        for (const w of watches) w.close();
        if (trustTimer) clearInterval(trustTimer);
        await server.close(drainMs);
        if (metricsServer) {
          const ms = metricsServer;
          await new Promise<void>((r) => ms.close(() => r()));
          ms.closeAllConnections();
        }
        cache?.clear();
      })());
    },
  };
}
