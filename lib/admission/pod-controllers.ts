// Kubernetes pod controllers: the one table of the kinds that carry a pod
// template, where their pod spec lives, and the resource name Kyverno's
// ImageValidatingPolicy autogen uses for them. Used by ClusterPolicy autogen
// (lib/policy/autogen.ts), image extraction (images.ts) and
// ImageValidatingPolicy matching (lib/engine/ivpol.ts).

interface PodController {
  /** JSON pointer of the pod spec in the object */
  podSpec: string;
  /** plural resource name; undefined when ImageValidatingPolicy autogen does not cover the kind */
  ivpolResource?: string;
}

const TEMPLATE = '/spec/template/spec';

const TABLE: Readonly<Record<string, PodController>> = {
  DaemonSet: { podSpec: TEMPLATE, ivpolResource: 'daemonsets' },
  Deployment: { podSpec: TEMPLATE, ivpolResource: 'deployments' },
  Job: { podSpec: TEMPLATE, ivpolResource: 'jobs' },
  StatefulSet: { podSpec: TEMPLATE, ivpolResource: 'statefulsets' },
  ReplicaSet: { podSpec: TEMPLATE, ivpolResource: 'replicasets' },
  ReplicationController: { podSpec: TEMPLATE },
  CronJob: { podSpec: '/spec/jobTemplate/spec/template/spec', ivpolResource: 'cronjobs' },
};

/** Kyverno's pod controllers (ClusterPolicy autogen), in its order. */
export const POD_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
] as const;

/** Kinds with built-in image extractors and where their pod spec lives. */
export const POD_SPEC_PATHS: Readonly<Record<string, string>> = {
  Pod: '/spec',
  ...Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v.podSpec])),
};

/** The ImageValidatingPolicy `autogenControllers` resource name of a kind, or undefined. */
export function getIvpolControllerResource(kind: string): string | undefined {
  return Object.hasOwn(TABLE, kind) ? TABLE[kind]!.ivpolResource : undefined;
}

/** ImageValidatingPolicy autogen's default controllers. */
export const IVPOL_DEFAULT_CONTROLLERS: readonly string[] = [
  'daemonsets',
  'deployments',
  'replicasets',
  'statefulsets',
  'jobs',
  'cronjobs',
];

/** `object.spec` of a pod as a CEL path inside a controller of `kind`. */
export function toCelPodSpecPath(kind: string): string {
  return (POD_SPEC_PATHS[kind] ?? '/spec').slice(1).replaceAll('/', '.');
}
