import { afterAll, describe, expect, it } from 'vitest';
import { createSchemaRegistryClient, valueSubject } from '../../src/clients/schema-registry.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { StatusSnapshot } from '../../src/status/snapshot.ts';
import { streamTopics } from '../../src/stream/topics.ts';
import { jsonOf, runCli } from './cli.ts';
import { runId } from './connector-fixture.ts';
import { testConfig, testWorkdir } from './test-env.ts';

/**
 * The schema registry on the test stack: a fifth service of `dev up`, reported by `dev status`
 * and `status`, and `phase run infrastructure` registering one JSON Schema per CDC and output
 * topic with BACKWARD compatibility, idempotently. Subjects are unique to the run (topic prefixes).
 */
const { config } = testConfig();
const id = `sr${runId()}`;
const cwd = testWorkdir(id, { connector: { topicPrefix: `it${id}` }, processor: { topicPrefix: `it${id}-` } });
const mine = loadConfig({ cwd }).config;
const registry = createSchemaRegistryClient(config.schemaRegistry);
const topics = streamTopics(mine);
const subjects = [topics.orders, topics.customers, topics.products, topics.processedOrders, topics.orderSummaries, topics.fraudAlerts].map(valueSubject);

interface DevStatus {
  services: { name: string; healthy: boolean; endpoint: string; detail: string; pid: number | null }[];
}
interface RunJson {
  status: string;
  steps: { name: string; status: string; detail: string }[];
}
interface PlanJson {
  changes: { resource: string; action: string; diff: string; step: string }[];
}

afterAll(async () => {
  // Soft then hard delete: the ccompat API needs both to forget a subject.
  for (const subject of subjects) {
    for (const permanent of ['', '?permanent=true']) {
      await fetch(`${config.schemaRegistry.url}/apis/ccompat/v7/subjects/${encodeURIComponent(subject)}${permanent}`, { method: 'DELETE' }).catch(() => undefined);
    }
  }
});

describe('the schema registry', () => {
  it('is a service of the local stack: `dev status --json` lists schema-registry healthy on its own port', async () => {
    const run = await runCli(['dev', 'status', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const registryStatus = jsonOf<DevStatus>(run).services.find((s) => s.name === 'schema-registry');
    expect(registryStatus).toMatchObject({ healthy: true, endpoint: `http://127.0.0.1:${config.dev.ports.schemaRegistry}` });
    expect(registryStatus?.detail).toMatch(/^Apicurio Registry 3\.\d+\.\d+ \(Confluent-compatible API\)/);
    expect(registryStatus?.pid).toBeGreaterThan(0);
    // The management interface is moved off Quarkus' default 9000 to its own key.
    const health = await fetch(`http://127.0.0.1:${config.dev.ports.schemaRegistryManagement}/health/ready`);
    expect(health.status).toBe(200);
  });

  it('`status --json` shows it UP beside the other services', async () => {
    const run = await runCli(['status', '--json'], { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const snapshot = jsonOf<StatusSnapshot>(run);
    const services = 'services' in snapshot.services ? snapshot.services.services : [];
    expect(services.find((s) => s.name === 'schema-registry')).toMatchObject({ state: 'UP', endpoint: `http://127.0.0.1:${config.dev.ports.schemaRegistry}` });
  });

  it('`phase run infrastructure` registers a schema per CDC and output topic, BACKWARD, and a second run adds no version', async () => {
    const plan = jsonOf<PlanJson>(await runCli(['phase', 'plan', 'infrastructure', '--json'], { cwd }));
    const planned = plan.changes.filter((c) => c.step === 'schema-registry');
    expect(planned.map((c) => [c.resource, c.action])).toEqual(subjects.map((s) => [`schema ${s}`, 'create']));

    const run = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd, timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const step = jsonOf<RunJson>(run).steps.find((s) => s.name === 'schema-registry');
    expect(step?.status).toBe('succeeded');
    expect(step?.detail).toContain('schemas: 6 registered');

    for (const subject of subjects) {
      expect(await registry.versions(subject), subject).toEqual([1]);
      expect(await registry.compatibility(subject), subject).toBe('BACKWARD');
    }
    const orders = JSON.parse((await registry.latest(valueSubject(topics.orders)))?.schema ?? '{}') as { properties: Record<string, { type?: unknown; 'x-source'?: { type: string } }> };
    expect(orders.properties.amount).toMatchObject({ type: ['string', 'null'], 'x-source': { type: 'numeric(12,2)' } });
    expect(orders.properties.__op).toBeDefined();
    const processed = JSON.parse((await registry.latest(valueSubject(topics.processedOrders)))?.schema ?? '{}') as { required: string[] };
    expect(processed.required).toContain('final_amount');

    const again = await runCli(['phase', 'run', 'infrastructure', '--json'], { cwd, timeoutMs: 180_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(jsonOf<RunJson>(again).steps.find((s) => s.name === 'schema-registry')?.detail).toMatch(/^up to date; 6 subjects registered/);
    for (const subject of subjects) expect(await registry.versions(subject), subject).toEqual([1]);
  }, 300_000);

  it('an unreachable registry makes `phase plan infrastructure` fail with exit 3 naming it', async () => {
    const elsewhere = testWorkdir(`${id}x`, { schemaRegistry: { url: 'http://127.0.0.1:1' } });
    const run = await runCli(['phase', 'plan', 'infrastructure'], { cwd: elsewhere, timeoutMs: 120_000 });
    expect(run.exitCode).toBe(3);
    expect(run.stdout + run.stderr).toMatch(/schema registry at http:\/\/127\.0\.0\.1:1 is unreachable/);
  }, 180_000);
});
