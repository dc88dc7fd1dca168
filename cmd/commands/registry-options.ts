// Registry access options shared by every command that reads images.

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { SigwardError } from '../../lib/errors.ts';
import { openStore, chainCredentials, dockerConfigCredentials, kubernetesSecretCredentials } from '../../lib/oci/index.ts';
import type { RegistryClientOptions } from '../../lib/oci/registry.ts';
import type { StoreFactory } from '../../lib/cosign/image.ts';
import type { Context } from '../cli.ts';

export function addRegistryOptions(y: Argv): Argv {
  return y
    .option('allow-http-registry', { type: 'boolean', default: false, describe: 'allow plain HTTP registries (loopback registries are always allowed)' })
    .option('allow-insecure-registry', { type: 'boolean', default: false, describe: 'allow HTTP and registries with unverified TLS certificates' })
    .option('insecure-registry', { type: 'array', string: true, describe: 'host[:port] allowed HTTP / unverified TLS (repeatable)' })
    .option('registry-ca', { type: 'array', string: true, describe: 'PEM file of extra CA certificates for registries (repeatable)' })
    .option('registry-secret', { type: 'array', string: true, describe: 'Kubernetes dockerconfigjson Secret file with registry credentials (repeatable)' })
    .option('docker-config', { type: 'string', describe: 'Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker)' })
    .option('registry-timeout', { type: 'number', default: 10, describe: 'seconds per registry request' })
    .option('timeout', { type: 'number', default: 60, describe: 'overall deadline in seconds' });
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
    timeoutMs: Number(args['registry-timeout'] ?? 10) * 1000,
    deadline: Date.now() + Number(args.timeout ?? 60) * 1000,
    logger: ctx.log,
  };
}

export function storeFactoryFromArgs(args: Record<string, unknown>, ctx: Context): StoreFactory {
  const opts = registryOptionsFromArgs(args, ctx);
  return (repo) => openStore(repo, opts);
}
