// `sigward serve`: the Kubernetes admission webhook (mutate and validate), a
// drop-in for Kyverno's verifyImages. Runs until SIGTERM/SIGINT, then stops
// answering /readyz, waits --shutdown-delay, drains requests in flight and
// exits 0. With --tuf-mirror the trust root is fetched again every
// --tuf-refresh-interval seconds.

import { SigwardError, toSigwardError } from '../../lib/errors.ts';
import { openStore, RegistryClient, storesForOptions } from '../../lib/oci/index.ts';
import type { OciStore, RepositoryRef } from '../../lib/oci/types.ts';
import { createMetrics, startWebhookService, type WebhookMetrics } from '../../lib/server/index.ts';
import type { Logger } from '../../lib/log.ts';
import { reportError } from '../output.ts';
import type { SigwardCommand } from './types.ts';
import { addRegistryOptions, registryOptionsFromArgs } from './registry-options.ts';
import { addTrustOptions, trustFromArgs } from './trust-options.ts';
import { repeatable } from '../flags.ts';
import { DEFAULT_REGISTRY_FLAG } from './policy-options.ts';

/** Registry request log lines feed the registry latency histogram. */
function registryLogger(log: Logger, metrics: WebhookMetrics) {
  return {
    debug(obj: Record<string, unknown>, msg?: string) {
      if (msg === 'registry request' && typeof obj.ms === 'number') {
        metrics.registryDuration.observe(
          { method: String(obj.method ?? ''), status: String(obj.status ?? '') },
          obj.ms / 1000,
        );
      }
      log.debug(obj, msg);
    },
  };
}

function positive(args: Record<string, unknown>, name: string, min = 0): number {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min) {
    throw new SigwardError('CONFIG_INVALID', `--${name} must be a number >= ${min} (got ${String(args[name])})`);
  }
  return v;
}

export const serveCommand: SigwardCommand = {
  builder: (y) =>
    addTrustOptions(
      addRegistryOptions(
        y
          .option(
            'policy',
            repeatable({
              alias: 'p',
              demandOption: true,
              describe: 'policy file or directory (repeatable; reloaded on change)',
            }),
          )
          .option('tls-cert', {
            type: 'string',
            demandOption: true,
            describe: 'serving certificate (PEM; reloaded on change)',
          })
          .option('tls-key', { type: 'string', demandOption: true, describe: 'serving key (PEM; reloaded on change)' })
          .option('port', { type: 'number', default: 9443, describe: 'HTTPS port' })
          .option('address', { type: 'string', default: '0.0.0.0', describe: 'listen address' })
          .option('metrics-port', {
            type: 'number',
            default: 0,
            describe: 'also serve /metrics, /healthz, /readyz over plain HTTP on this port (0: off)',
          })
          .option('webhook-timeout', {
            type: 'number',
            default: 10,
            describe:
              'seconds the API server waits, for policies without webhookTimeoutSeconds (Kyverno --webhookTimeout)',
          })
          .option('max-concurrent', { type: 'number', default: 32, describe: 'evaluations running at once' })
          .option('max-queue', {
            type: 'number',
            default: 256,
            describe: 'evaluations waiting for a slot; beyond, requests are answered by failurePolicy',
          })
          .option('max-concurrent-per-registry', {
            type: 'number',
            describe:
              'evaluations running at once for Pods of one registry host (default: --max-concurrent minus a quarter), so one registry that never answers cannot take every slot',
          })
          .option(
            'record-key',
            repeatable({
              describe:
                'file (at least 32 bytes, e.g. a Secret) whose content seals the kyverno.io/verify-images record; repeatable: the first seals, all are accepted (rotation); default: derived from --tls-key',
            }),
          )
          .option('cache', {
            type: 'boolean',
            default: true,
            describe: 'cache verification results (--no-cache: verify every request)',
          })
          .option('cache-ttl', { type: 'number', default: 3600, describe: 'seconds a verification result is cached' })
          .option('cache-size', { type: 'number', default: 1000, describe: 'most cached results' })
          .option('resolve-cache-ttl', {
            type: 'number',
            default: 30,
            describe: 'seconds a tag -> digest resolution is cached',
          })
          .option('reload-interval', {
            type: 'number',
            default: 2,
            describe: 'seconds between checks of policy and certificate files',
          })
          .option('shutdown-delay', {
            type: 'number',
            default: 0,
            describe: 'seconds to keep serving after SIGTERM with /readyz failing (endpoint removal)',
          })
          .option('drain-timeout', {
            type: 'number',
            default: 30,
            describe: 'seconds to wait for requests in flight at shutdown',
          })
          .option('default-registry', DEFAULT_REGISTRY_FLAG)
          .option('tuf-refresh-interval', {
            type: 'number',
            describe: 'with --tuf-mirror: seconds between trust root refreshes (default 3600; 0: only at start-up)',
          }),
      ).hide('timeout'), // each request has its own deadline (policy webhook timeouts)
    ),
  handler: async (args, ctx) => {
    const log = ctx.log;
    let client: RegistryClient | undefined;
    try {
      const metrics = createMetrics();
      // the CLI's overall --timeout deadline makes no sense for a server: each request has its own
      const regOpts = {
        ...registryOptionsFromArgs(args, ctx),
        deadline: undefined,
        logger: registryLogger(log, metrics),
      };
      const registry = new RegistryClient(regOpts);
      client = registry;
      const stores = (
        repo: RepositoryRef,
      ): OciStore => (repo.transport === 'registry' ? registry : openStore(repo, regOpts));
      const tuf = typeof args['tuf-mirror'] === 'string';
      if (args['tuf-refresh-interval'] !== undefined && !tuf) {
        throw new SigwardError('CONFIG_INVALID', '--tuf-refresh-interval needs --tuf-mirror');
      }
      const refreshSeconds = tuf
        ? (args['tuf-refresh-interval'] === undefined ? 3600 : positive(args, 'tuf-refresh-interval'))
        : 0;
      // degraded trust (TUF from the cache) is a log line, as everything else the server reports
      const trustCtx = { ...ctx, warn: (text: string) => log.warn({ warning: text }, 'trust root') };
      const trust = await trustFromArgs(args, trustCtx);
      const service = await startWebhookService({
        policyPaths: args.policy as string[],
        tlsCertPath: args['tls-cert'] as string,
        tlsKeyPath: args['tls-key'] as string,
        port: positive(args, 'port'),
        address: args.address as string,
        metricsPort: positive(args, 'metrics-port'),
        trust,
        stores,
        storesFor: storesForOptions(regOpts),
        log,
        metrics,
        defaultTimeoutSeconds: positive(args, 'webhook-timeout', 1),
        defaultRegistry: args['default-registry'] as string | undefined,
        maxConcurrent: positive(args, 'max-concurrent', 1),
        maxQueue: positive(args, 'max-queue'),
        ...(args['max-concurrent-per-registry'] !== undefined
          ? { maxConcurrentPerRegistry: positive(args, 'max-concurrent-per-registry', 1) }
          : {}),
        ...(Array.isArray(args['record-key']) && args['record-key'].length
          ? { recordKeyPaths: args['record-key'] as string[] }
          : {}),
        cache: args.cache !== false,
        cacheTtlMs: positive(args, 'cache-ttl') * 1000,
        resolveCacheTtlMs: positive(args, 'resolve-cache-ttl') * 1000,
        cacheMaxEntries: positive(args, 'cache-size', 1),
        reloadIntervalMs: positive(args, 'reload-interval', 0.1) * 1000,
        ...(tuf
          ? { refreshTrust: () => trustFromArgs(args, trustCtx), trustRefreshIntervalMs: refreshSeconds * 1000 }
          : {}),
      });
      const signal = await new Promise<string>((resolve) => {
        const on = (s: string) => () => resolve(s);
        process.once('SIGTERM', on('SIGTERM'));
        process.once('SIGINT', on('SIGINT'));
      });
      log.info({ signal }, 'shutting down: draining requests');
      service.beginShutdown();
      const delay = positive(args, 'shutdown-delay') * 1000;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      await service.close(positive(args, 'drain-timeout') * 1000);
      registry.close();
      log.info('stopped');
      return 0;
    } catch (e) {
      client?.close();
      return reportError(ctx.io, args.output === 'json' ? 'json' : 'text', toSigwardError(e), 'sigward.serve/v1');
    }
  },
};
