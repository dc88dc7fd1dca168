// Registry access options shared by every command that reads images.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { SigwardError } from '../../lib/errors.ts';
import { openStore, chainCredentials, dockerConfigCredentials, kubernetesSecretCredentials } from '../../lib/oci/index.ts';
import type { RegistryClientOptions } from '../../lib/oci/registry.ts';
import type { StoreFactory } from '../../lib/cosign/image.ts';
import type { Context } from '../cli.ts';
import { duration, repeatable, toSeconds } from '../flags.ts';

export function addRegistryOptions(y: Argv): Argv {
  return y
    .option('allow-http-registry', { type: 'boolean', default: false, describe: 'allow plain HTTP registries (loopback registries are always allowed)' })
    .option('allow-insecure-registry', { type: 'boolean', default: false, describe: 'allow HTTP and registries with unverified TLS certificates' })
    .option('insecure-registry', repeatable({ describe: 'host[:port] allowed HTTP / unverified TLS (repeatable)' }))
    .option('registry-ca', repeatable({ describe: 'PEM file of extra CA certificates for registries (repeatable)' }))
    .option('registry-secret', repeatable({ describe: 'Kubernetes dockerconfigjson Secret file with registry credentials (repeatable)' }))
    .option('docker-config', { type: 'string', describe: 'Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker)' })
    .option('registry-timeout', duration('timeout of each registry request', 10, 'registry-timeout'))
    .option('timeout', { alias: 't', ...duration('overall deadline', 60, 'timeout') });
}

export function registryOptionsFromArgs(args: Record<string, unknown>, ctx: Context): RegistryClientOptions {
  const caCerts = ((args['registry-ca'] as string[] | undefined) ?? []).map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new SigwardError('CONFIG_INVALID', `cannot read registry CA file ${f}`, { cause: e });
    }
  });
  const secrets = (args['registry-secret'] as string[] | undefined) ?? [];
  return {
    allowHttp: Boolean(args['allow-http-registry']),
    allowInsecure: Boolean(args['allow-insecure-registry']),
    insecureRegistries: (args['insecure-registry'] as string[] | undefined) ?? [],
    caCerts,
    credentials: chainCredentials(
      secrets.length ? kubernetesSecretCredentials(secrets) : undefined,
      dockerConfigCredentials({ path: args['docker-config'] as string | undefined, env: ctx.env }),
    ),
    timeoutMs: toSeconds(args['registry-timeout'] ?? 10, 'registry-timeout') * 1000,
    deadline: Date.now() + toSeconds(args.timeout ?? 60, 'timeout') * 1000,
    logger: ctx.log,
  };
}

export function storeFactoryFromArgs(args: Record<string, unknown>, ctx: Context): StoreFactory {
  const opts = registryOptionsFromArgs(args, ctx);
  return (repo) => openStore(repo, opts);
}
