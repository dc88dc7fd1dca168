// Registry access options shared by every command that reads images.

import type { Argv } from 'yargs';
import { SigwardError } from '../../lib/errors.ts';
import {
  chainCredentials,
  dockerConfigCredentials,
  type EntryRegistryAccess,
  kubernetesSecretCredentials,
  openStore,
  storesForOptions,
} from '../../lib/oci/index.ts';
import type { RegistryClientOptions } from '../../lib/oci/registry.ts';
import type { Credential, CredentialProvider } from '../../lib/oci/credentials.ts';
import type { ClientTls } from '../../lib/oci/transport.ts';
import type { StoreFactory } from '../../lib/cosign/image.ts';
import type { Context } from './types.ts';
import { duration, logsAt, repeatable, toSeconds } from '../flags.ts';
import { readFlagFile } from '../files.ts';

export function addRegistryOptions(y: Argv): Argv {
  return y
    .option('allow-http-registry', {
      type: 'boolean',
      default: false,
      describe: 'allow plain HTTP registries (loopback registries are always allowed)',
    })
    .option('allow-insecure-registry', {
      type: 'boolean',
      default: false,
      describe: 'allow HTTP and registries with unverified TLS certificates',
    })
    .option('insecure-registry', repeatable({ describe: 'host[:port] allowed HTTP / unverified TLS (repeatable)' }))
    .option('registry-ca', repeatable({ describe: 'PEM file of extra CA certificates for registries (repeatable)' }))
    .option(
      'registry-secret',
      repeatable({ describe: 'Kubernetes dockerconfigjson Secret file with registry credentials (repeatable)' }),
    )
    .option('registry-cacert', {
      type: 'string',
      requiresArg: true,
      describe: "PEM CA certificate file for registries (cosign's name; like --registry-ca)",
    })
    .option('registry-username', {
      type: 'string',
      requiresArg: true,
      describe: 'registry basic-auth user name (every registry, as cosign)',
    })
    .option('registry-password', { type: 'string', requiresArg: true, describe: 'registry basic-auth password' })
    .option('registry-token', {
      type: 'string',
      requiresArg: true,
      describe: 'registry bearer token (every registry, as cosign)',
    })
    .option('registry-client-cert', {
      type: 'string',
      requiresArg: true,
      describe: 'PEM client certificate for mutual TLS with registries',
    })
    .option('registry-client-key', {
      type: 'string',
      requiresArg: true,
      describe: 'PEM private key of --registry-client-cert',
    })
    .option('registry-server-name', {
      type: 'string',
      requiresArg: true,
      describe: "name the registry's TLS certificate must be valid for (SNI), instead of its host",
    })
    .option('docker-config', {
      type: 'string',
      describe: 'Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker)',
    })
    .option('registry-timeout', duration('timeout of each registry request', 10, 'registry-timeout'))
    .option('timeout', { alias: 't', ...duration('overall deadline', 60, 'timeout') });
}

export function registryOptionsFromArgs(args: Record<string, unknown>, ctx: Context): RegistryClientOptions {
  const caFiles = [
    ...((args['registry-ca'] as string[] | undefined) ?? []),
    ...(typeof args['registry-cacert'] === 'string' ? [args['registry-cacert']] : []),
  ];
  const caCerts = caFiles.map((f) => readFlagFile(f, 'registry CA file'));
  const secrets = (args['registry-secret'] as string[] | undefined) ?? [];
  return {
    allowHttp: Boolean(args['allow-http-registry']),
    allowInsecure: Boolean(args['allow-insecure-registry']),
    insecureRegistries: (args['insecure-registry'] as string[] | undefined) ?? [],
    caCerts,
    clientTls: clientTlsFromArgs(args),
    credentials: chainCredentials(
      flagCredentials(args),
      secrets.length ? kubernetesSecretCredentials(secrets) : undefined,
      dockerConfigCredentials({ path: args['docker-config'] as string | undefined, env: ctx.env }),
    ),
    timeoutMs: toSeconds(args['registry-timeout'] ?? 10, 'registry-timeout') * 1000,
    deadline: Date.now() + toSeconds(args.timeout ?? 60, 'timeout') * 1000,
    // the registry client logs at debug level only: below it, the logging library need not be loaded (pino, 2-3 ms)
    ...(logsAt(args, 'debug') ? { logger: ctx.log } : {}),
  };
}

export function storeFactoryFromArgs(args: Record<string, unknown>, ctx: Context): StoreFactory {
  const opts = registryOptionsFromArgs(args, ctx);
  return (repo) => openStore(repo, opts);
}

/** Stores for a policy entry's own registry access (imageRegistryCredentials), on top of the flags; one client per distinct access. */
export function storesForFromArgs(
  args: Record<string, unknown>,
  ctx: Context,
): (access: EntryRegistryAccess) => StoreFactory {
  return storesForOptions(registryOptionsFromArgs(args, ctx));
}

/** cosign's --registry-username/--registry-password/--registry-token: one credential for every registry. */
function flagCredentials(args: Record<string, unknown>): CredentialProvider | undefined {
  const user = args['registry-username'] as string | undefined;
  const pass = args['registry-password'] as string | undefined;
  const token = args['registry-token'] as string | undefined;
  if (token !== undefined && (user !== undefined || pass !== undefined)) {
    throw new SigwardError(
      'CONFIG_INVALID',
      '--registry-token cannot be combined with --registry-username/--registry-password',
    );
  }
  if ((user === undefined) !== (pass === undefined)) {
    throw new SigwardError('CONFIG_INVALID', '--registry-username and --registry-password go together');
  }
  let cred: Credential | undefined;
  if (token !== undefined) cred = { registryToken: token };
  else if (user !== undefined) cred = { username: user, password: pass! };
  return cred ? async () => cred : undefined;
}

function clientTlsFromArgs(args: Record<string, unknown>): ClientTls | undefined {
  const certFile = args['registry-client-cert'] as string | undefined;
  const keyFile = args['registry-client-key'] as string | undefined;
  const serverName = args['registry-server-name'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new SigwardError('CONFIG_INVALID', '--registry-client-cert and --registry-client-key go together');
  }
  if (certFile === undefined && serverName === undefined) return undefined;
  return {
    ...(certFile
      ? {
        cert: readFlagFile(certFile, 'registry client certificate'),
        key: readFlagFile(keyFile!, 'registry client key'),
      }
      : {}),
    ...(serverName ? { serverName } : {}),
  };
}
