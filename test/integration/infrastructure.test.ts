import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaAdmin, type KafkaAdmin } from '../../src/clients/kafka.ts';
import { jsonOf, runCli } from './cli.ts';
import { testConfig, writeTestConfig } from './test-env.ts';

const { config } = testConfig();
const suffix = `${process.pid}-${Date.now()}`;
const compacted = `stream-migrate.it-${suffix}-compacted`;
const events = `stream-migrate.it-${suffix}-events`;

interface PlanJson {
  phase: string;
  changes: { resource: string; action: string; diff: string }[];
}
interface RunJson {
  phase: string;
  status: string;
  steps: { name: string; status: string; detail: string }[];
}

/** A working directory whose configuration declares two extra topics of this test run. */
function workspace(partitions: number): string {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-infra-'));
  writeTestConfig(
    cwd,
    [
      'topics:',
      `  ${compacted}: { partitions: ${partitions}, replicationFactor: 1, configs: { cleanup.policy: compact, min.compaction.lag.ms: "60000" } }`,
      `  ${events}: { partitions: 2, replicationFactor: 1, configs: { retention.ms: "3600000" } }`,
      '',
    ].join('\n'),
  );
  return cwd;
}

describe('phase infrastructure', () => {
  let admin: KafkaAdmin;
  beforeAll(() => {
    admin = createKafkaAdmin(config.kafka, 'it-infra');
  });
  afterAll(async () => {
    await admin.deleteTopics([compacted, events]);
    await admin.close();
  });

  it('plans the missing topics, creates them, and a second run changes nothing', async () => {
    const cwd = workspace(3);
    const plan = jsonOf<PlanJson>(await runCli(['phase', 'plan', 'infrastructure', '--json'], { cwd }));
    expect(plan.changes).toContainEqual({ resource: `topic/${compacted}`, action: 'create', diff: 'partitions 3, replication factor 1, cleanup.policy=compact, min.compaction.lag.ms=60000', step: 'topics' });
    expect(plan.changes.map((c) => c.resource)).toContain(`topic/${events}`);

    const dry = await runCli(['phase', 'run', 'infrastructure', '--dry-run'], { cwd });
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    expect(await admin.describeTopics([compacted])).toEqual([]);

    const run = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd });
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<RunJson>(run);
    expect(result.status).toBe('succeeded');
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['kafka-cluster', 'succeeded'],
      ['topics', 'succeeded'],
      ['connect-cluster', 'succeeded'],
      ['schema-registry', 'succeeded'],
      ['monitoring', 'succeeded'],
    ]);
    const [described] = await admin.describeTopics([compacted]);
    expect(described).toMatchObject({ partitions: 3, replicationFactor: 1 });
    expect(described?.configs['cleanup.policy']).toBe('compact');

    const again = await runCli(['phase', 'plan', 'infrastructure', '--fail-on-changes'], { cwd });
    expect(again.exitCode, again.stdout).toBe(0);
    expect(again.stdout).toContain('no changes');
  });

  it('shows out-of-band config drift in plan and corrects it with run', async () => {
    const cwd = workspace(3);
    await admin.alterTopicConfigs(compacted, { 'cleanup.policy': 'delete' });
    const drift = await runCli(['phase', 'plan', 'infrastructure', '--fail-on-changes', '--json'], { cwd });
    expect(drift.exitCode).toBe(1);
    expect(jsonOf<PlanJson>(drift).changes).toContainEqual({ resource: `topic/${compacted}`, action: 'update', diff: 'cleanup.policy: delete → compact', step: 'topics' });

    expect((await runCli(['phase', 'run', 'infrastructure'], { cwd })).exitCode).toBe(0);
    const [described] = await admin.describeTopics([compacted]);
    expect(described?.configs['cleanup.policy']).toBe('compact');
  });

  it('grows partitions but refuses to shrink them, with exit 1 naming the topic', async () => {
    expect((await runCli(['phase', 'run', 'infrastructure'], { cwd: workspace(4) })).exitCode).toBe(0);
    expect((await admin.describeTopics([compacted]))[0]?.partitions).toBe(4);

    const shrink = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd: workspace(2) });
    expect(shrink.exitCode).toBe(1);
    const topics = jsonOf<RunJson>(shrink).steps.find((s) => s.name === 'topics');
    expect(topics?.status).toBe('failed');
    expect(topics?.detail).toContain(`topic ${compacted}: partitions cannot decrease from 4 to 2`);
    expect((await admin.describeTopics([compacted]))[0]?.partitions).toBe(4);
  });

  it('records runs in the state store: phase list and the audit log', async () => {
    const list = jsonOf<{ phases: { name: string; status: string; lastRunAt: string | null }[] }>(await runCli(['phase', 'list', '--json']));
    expect(list.phases.map((p) => p.name)).toEqual(['infrastructure', 'ingestion', 'processing', 'output']);
    expect(list.phases[0]?.status).toMatch(/succeeded|failed/);
    const audit = jsonOf<{ entries: { command: string; target: string }[] }>(await runCli(['audit', '--json', '--command', 'phase run', '-n', '5']));
    expect(audit.entries[0]).toMatchObject({ command: 'phase run', target: 'infrastructure' });
  });

  it('gives exit 3 when Kafka Connect is unreachable', async () => {
    const cwd = workspace(4);
    fs.appendFileSync(path.join(cwd, 'stream-migrate.yaml'), 'connect:\n  url: http://127.0.0.1:1\n');
    const run = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd });
    expect(run.exitCode).toBe(3);
    expect(jsonOf<RunJson>(run).steps.find((s) => s.name === 'connect-cluster')?.detail).toMatch(/Kafka Connect at http:\/\/127\.0\.0\.1:1 is unreachable/);
  });

  it('refuses a new partition count for a keyed stream topic, with the reason and the safe procedure', async () => {
    const prefix = `it-${suffix}-`;
    const processed = `${prefix}processed-orders`;
    const declare = (partitions: number) => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-infra-keyed-'));
      writeTestConfig(cwd, `processor: { topicPrefix: ${prefix} }\ntopics:\n  ${processed}: { partitions: ${partitions}, replicationFactor: 1, configs: { cleanup.policy: compact } }\n`);
      return cwd;
    };
    try {
      const created = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd: declare(3) });
      expect(created.exitCode, created.stderr).toBe(0);
      const plan = await runCli(['phase', 'plan', 'infrastructure'], { cwd: declare(6) });
      expect(plan.exitCode).toBe(1);
      expect(plan.stderr).toContain(`topic ${processed}: partitions cannot change from 3 to 6 in place: it is co-partitioned with the stream state`);
      expect(plan.stderr).toContain('Safe procedure: stop the workers');
      const run = await runCli(['phase', 'run', 'infrastructure'], { cwd: declare(6) });
      expect(run.exitCode).toBe(1);
      const [described] = await admin.describeTopics([processed]);
      expect(described?.partitions).toBe(3);
    } finally {
      await admin.deleteTopics([processed]);
    }
  });
});

