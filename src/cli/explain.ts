import path from 'node:path';
import { CONFIG_FILE } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { processCommand, processEnvironment, symbolicPeers } from '../engine/process.js';
import type { Peer } from '../engine/rewrite-env.js';
import { portString } from '../stack/ports.js';
import { readinessRule } from '../stack/probe.js';
import type { StackSpec } from '../stack/spec.js';
import { runnerEnvironment } from '../testing/test-env.js';
import { hidePassword } from '../util/net.js';
import { table } from './format.js';

/** Who named the compose files: realstack's variable or config, COMPOSE_FILE, or compose's defaults. */
const filesFrom = (config: ToolkitConfig) =>
  config.composeFilesFrom === 'compose.files'
    ? `${CONFIG_FILE}'s compose.files`
    : (config.composeFilesFrom ?? "compose's default names");

/**
 * `realstack config --explain`: per service, what realstack reads of it, what it inferred and
 * changed (and the setting that changes it back), and every environment rewrite the process
 * engine makes, with `<service:port>` for host ports chosen when a run starts.
 */
export function explainStack(stack: StackSpec, config: ToolkitConfig): string {
  const peers = symbolicPeers(stack);
  const out: string[] = [`compose files: ${stack.files.join(', ')} (${filesFrom(config)})`];
  if (stack.inactive.length > 0)
    out.push(
      `left out by profiles: ${stack.inactive.map((i) => `${i.name} (${i.profiles.join(', ')})`).join(', ')}`,
    );
  for (const svc of stack.services) {
    out.push('', `${svc.name}`);
    const line = (k: string, v: string | undefined) => v !== undefined && out.push(`  ${k.padEnd(13)} ${v}`);
    line('role', svc.role);
    line('image', svc.image);
    line('build', svc.build && `${svc.build.context} (${svc.build.dockerfile})`);
    line('command', svc.command?.join(' '));
    line('source root', svc.sourceRoot && `${svc.sourceRoot.container} = ${svc.sourceRoot.host}`);
    line('entry', svc.entry?.join(', '));
    line('ports', svc.ports.length ? svc.ports.map(portString).join(', ') : undefined);
    line(
      'ready when',
      svc.healthcheck
        ? `its health check passes (docker); ${readinessRule(svc)} (process)`
        : readinessRule(svc),
    );
    line(
      'depends on',
      svc.dependsOn.length ? svc.dependsOn.map((d) => `${d.service} (${d.condition})`).join(', ') : undefined,
    );
    line(
      'coverage',
      svc.role === 'node' ? (svc.coverage ? 'instrumented by the spy' : 'not instrumented') : undefined,
    );
    line(
      'test data',
      svc.testData
        ? `its test-data API at ${svc.testData.path} (${svc.testData.tokenVariable})`
        : svc.sqlCleanup?.length
          ? `SQL: ${svc.sqlCleanup.map((c) => `${c.table}.${c.column}`).join(', ')}`
          : undefined,
    );
    for (const n of svc.notes) out.push(`  ${n.kind.padEnd(13)} ${n.text}`);
    if (svc.role === 'node') {
      const { rewrites, unresolved } = processEnvironment(stack, svc, peers, peers.get(svc.name));
      if (rewrites.length > 0) {
        out.push('  process engine environment:');
        for (const r of rewrites)
          out.push(
            `    ${r.variable}: ${r.from === undefined ? '(added)' : hidePassword(r.from)} → ${hidePassword(r.to)}`,
          );
      }
      const command = processCommand(stack, svc, peers);
      if (command.rewrites.length > 0)
        out.push(`  process engine command: ${hidePassword(command.command.join(' '))}`);
      for (const u of unresolved) out.push(`  unresolved    ${u}`);
    }
  }
  out.push('', ...testsGet(stack, config, peers));
  return out.join('\n');
}

const SECRET = /PASSWORD|SECRET|TOKEN|KEY/i;

/** What a test run gives the tests (src/testing/test-env.ts), with `<service:port>` for host ports. */
function testsGet(stack: StackSpec, config: ToolkitConfig, peers: Map<string, Peer>): string[] {
  const out = [
    'tests get',
    `  ${'REALSTACK_<SERVICE>_URL'.padEnd(24)} each service's URL, and REALSTACK_RUN_ID`,
  ];
  const { testEnv, testEnvFrom } = config.project;
  if (testEnvFrom && testEnvFrom in (stack.model.services as object))
    for (const [k, v] of Object.entries(runnerEnvironment(stack, testEnvFrom, peers, config.env)))
      out.push(
        `  ${k.padEnd(24)} ${SECRET.test(k) ? '***' : hidePassword(v)} (from ${testEnvFrom}, testEnvFrom)`,
      );
  for (const [k, v] of Object.entries(testEnv)) out.push(`  ${k.padEnd(24)} ${v} (testEnv)`);
  return out;
}

/** `realstack config`: where the settings come from, and one line per service. */
export function configSummary(config: ToolkitConfig, stack: StackSpec): string {
  const rows = [
    ['SERVICE', 'ROLE', 'SOURCE ROOT', 'ENTRY', 'READY WHEN'],
    ...stack.services.map((s) => [
      s.name,
      s.role,
      s.sourceRoot
        ? `${s.sourceRoot.container}=${path.relative(config.projectDir, s.sourceRoot.host) || '.'}`
        : '-',
      s.entry?.join(',') ?? '-',
      s.healthcheck ? `health check | ${readinessRule(s)}` : readinessRule(s),
    ]),
  ];
  return [
    `config:        ${config.project.file ? path.relative(config.projectDir, config.project.file) : `none (${CONFIG_FILE} not found; everything is inferred)`}`,
    `compose files: ${config.composeFiles.map((f) => path.relative(config.projectDir, f)).join(', ')} (${filesFrom(config)})`,
    `profiles:      ${config.profiles.join(', ') || '(none)'}`,
    `engine:        ${config.engine}`,
    '',
    table(rows),
    '',
    '`npx realstack config --explain` shows why, and what the process engine rewrites.',
  ].join('\n');
}
