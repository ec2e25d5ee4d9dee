import type { Role, SqlCleanup } from '../config/project.js';
import type { PortSpec } from './ports.js';

export interface Note {
  /**
   * inferred: a guess, with the setting that overrides it; changed: the run differs from the
   * file; missing: not known; warning: something in the file that will go wrong.
   */
  kind: 'inferred' | 'changed' | 'missing' | 'warning';
  text: string;
}

/**
 * A restart policy that restarts (compose's `restart`, or `deploy.restart_policy`, which wins in
 * compose v2), as Docker takes it: `maxRetries` only for `on-failure`, none meaning no limit.
 */
export interface RestartPolicy {
  name: 'always' | 'unless-stopped' | 'on-failure';
  maxRetries?: number;
}

export type Condition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

/** What the toolkit needs to know of one service: the compose file, labels, realstack.json and inference. */
export interface ServiceSpec {
  name: string;
  role: Role;
  image?: string;
  /** For services built from source: absolute build context and Dockerfile, build args, and the stage built (build.target). */
  build?: { context: string; dockerfile: string; args: Record<string, string>; target?: string };
  /** How the process engine runs it: entrypoint and command, from compose or its Dockerfile. */
  command?: string[];
  workingDir?: string;
  /** env_file and environment, interpolated; variables without a value taken from the environment. */
  environment: Record<string, string>;
  /**
   * The ENV its Dockerfile gives the image (dockerfile.ts), where it can be known without the
   * image and means the same outside a container (not PATH or HOME). Docker sets it from the image;
   * realstack reads it where it runs the service itself or adds to a variable (NODE_OPTIONS).
   */
  imageEnvironment?: Record<string, string>;
  ports: PortSpec[];
  /** The port it listens on inside its container: the first published or exposed one. */
  containerPort?: number;
  /** Fixed host port of that port, or undefined for an ephemeral one. */
  hostPort?: number;
  /**
   * The variable that sets the host port of a service that must know its own public URL (an
   * OAuth issuer): the toolkit chooses a free port and sets it before anything starts.
   */
  knownPortVar?: string;
  healthPath?: string;
  /** The compose file (or image) gives it a health check of its own. */
  healthcheck: boolean;
  /**
   * What that check fetches over HTTP on the container's loopback (`curl -f
   * http://localhost:3000/health`): the health path its author chose, and the port (80 when the
   * URL names none).
   */
  checkFetches?: { port: number; path: string };
  /** Container path and the host path it holds: for remapping coverage and the process engine. */
  sourceRoot?: { container: string; host: string };
  /** The scripts, relative to the source root, that are the service (the spy leaves out the rest). */
  entry?: string[];
  /**
   * What its Dockerfile copies from the build context (a file or a folder's contents), with where
   * the image has it: where the process engine finds `/usr/local/bin/docker-entrypoint.sh`.
   */
  imageFiles?: { container: string; host: string }[];
  /** Bind mounts of host paths, absolute on both sides. */
  binds: { container: string; host: string; readOnly?: boolean }[];
  /** Secrets and configs with a file on the host: where the container sees each, and the file. */
  fileMounts: FileMount[];
  stopGraceSeconds: number;
  /** compose's `stop_signal` (`SIGINT`), when it is not SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** When Docker starts it again after it exits; the process engine's runner does the same. */
  restart?: RestartPolicy;
  /** `required: false`: compose starts the service without it when it does not run. */
  dependsOn: { service: string; condition: Condition; required?: false }[];
  tty: boolean;
  /** How many instances compose starts (`deploy.replicas` or `scale`), when not one; `--scale` wins. */
  replicas?: number;
  /** Host names added to its /etc/hosts on the docker engine ("name:address"): the chaos proxy's. */
  extraHosts?: string[];
  /** Instrumented by the coverage spy under `test-coverage`. */
  coverage: boolean;
  testData?: { path: string; tokenVariable: string };
  sqlCleanup?: SqlCleanup[];
  hostModules?: string;
  /** What realstack inferred, changed or could not tell, and why: `config --explain`. */
  notes: Note[];
}

/** What a service's processes see: its image's environment, under the compose file's. */
export function environmentOf(svc: ServiceSpec): Record<string, string> {
  return svc.imageEnvironment ? { ...svc.imageEnvironment, ...svc.environment } : svc.environment;
}

export type ComposeModel = Record<string, unknown>;

/**
 * A secret's or config's file where the service sees it, and where it is here. One whose text
 * the compose file gives (`environment: VAR`, a config's `content:`) has `inline` (its
 * top-level key, `secrets.token`) and `text`: an engine writes it into the run and sets `host`.
 */
export interface FileMount {
  container: string;
  host: string;
  inline?: string;
  text?: string;
}

export interface StackSpec {
  /** The compose files, absolute, in the order given. */
  files: string[];
  projectDir: string;
  /** The active services (profiles applied), in file order. */
  services: ServiceSpec[];
  /** Services left out by their profiles. */
  inactive: { name: string; profiles: string[] }[];
  /** Top-level named volumes and networks: the run creates each of its own, an `external` one too. */
  volumes: string[];
  networks: string[];
  /** The merged, interpolated compose model: what the docker engine's run file is made from. */
  model: ComposeModel;
}
