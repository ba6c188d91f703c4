import type { SchemaRegistryClient } from '../../clients/schema-registry.ts';
import { valueSubject } from '../../clients/schema-registry.ts';
import { CheckFailedError } from '../../core/errors.ts';
import { readCatalog } from '../../schemas/catalog.ts';
import type { SourceColumn } from '../../schemas/columns.ts';
import { classifyChanges, diffColumns, remedy, type ClassifiedChange } from '../../schemas/drift.ts';
import { cdcValueSchema, registeredColumns, type RegisteredColumn } from '../../schemas/json-schema.ts';
import { openStateStore } from '../../state/state-store.ts';
import type { PhaseContext, PhaseStep, PlannedChange } from '../phase.ts';
import { cdcTopic } from './connector-config.ts';
import type { SqlClient } from './sql.ts';

interface TableDrift {
  readonly table: string;
  readonly subject: string;
  readonly columns: readonly SourceColumn[];
  /** Undefined when the subject has no version yet. */
  readonly registered: readonly RegisteredColumn[] | undefined;
  readonly changes: readonly ClassifiedChange[];
  readonly compatibilityOk: boolean;
}

/**
 * Source schema drift, before it breaks anything: each captured table's columns (source catalog)
 * against the latest version registered for its CDC topic. `plan` lists each change with a verdict
 * per consumer; `apply` registers compatible changes as a new version and refuses breaking ones
 * (exit 1, with the reason and what to do) unless `--accept-breaking`, which is audited.
 */
export function sourceSchemaStep(ctx: PhaseContext, sql: SqlClient, registry: SchemaRegistryClient): PhaseStep {
  const config = ctx.config;
  const level = config.schemaRegistry.compatibility;

  const inspect = async (): Promise<readonly TableDrift[]> => {
    const catalog = await readCatalog(sql, config.connector.tables);
    const out: TableDrift[] = [];
    for (const table of config.connector.tables) {
      const columns = catalog.get(table);
      if (!columns) throw new CheckFailedError(`${table} is not in the source catalog; create it or remove it from connector.tables`);
      const subject = valueSubject(cdcTopic(config.connector, table));
      const latest = await registry.latest(subject);
      const registered = latest ? registeredColumns(latest.schema) : undefined;
      if (latest && !registered) {
        throw new CheckFailedError(`schema registry subject ${subject} holds a schema stream-migrate did not write; register the table's JSON Schema with x-source annotations or delete the subject`);
      }
      const changes = registered ? classifyChanges(table, diffColumns(registered, columns)) : [];
      const compatibilityOk = (await registry.compatibility(subject)) === level;
      out.push({ table, subject, columns, registered, changes, compatibilityOk });
    }
    return out;
  };

  return {
    name: 'source-schema',
    async plan(): Promise<readonly PlannedChange[]> {
      const planned: PlannedChange[] = [];
      for (const t of await inspect()) {
        if (!t.registered) {
          planned.push({ resource: `schema ${t.subject}`, action: 'create', diff: `+ version 1 from the source catalog: ${t.columns.map((c) => `${c.name} ${c.type}`).join(', ')} (compatibility ${level})` });
        } else if (t.changes.length > 0) {
          planned.push({ resource: `schema ${t.subject}`, action: 'update', diff: t.changes.map(renderChange).join('\n') });
        } else if (!t.compatibilityOk) {
          planned.push({ resource: `schema ${t.subject}`, action: 'update', diff: `~ compatibility → ${level}` });
        }
      }
      return planned;
    },
    async apply() {
      const drift = await inspect();
      const breaking = drift.flatMap((t) => t.changes.filter((c) => c.verdict === 'breaking'));
      if (breaking.length > 0 && ctx.options.acceptBreaking !== true) {
        const what = breaking.map((c) => `${c.summary}: breaks ${breakingConsumers(c)} (${firstReason(c)}); to fix: ${remedy(c.change)}`).join(' | ');
        throw new CheckFailedError(
          `source schema drift would break the pipeline, nothing registered: ${what}; or run \`stream-migrate phase run ingestion --accept-breaking\` to register it anyway (audited)`,
          { details: { breaking: breaking.map((c) => ({ table: c.table, change: c.change, consumers: c.consumers.filter((v) => v.verdict === 'breaking') })) } },
        );
      }
      const done: string[] = [];
      for (const t of drift) {
        if (!t.compatibilityOk) await registry.setCompatibility(t.subject, level);
        if (t.registered && t.changes.length === 0) continue;
        const schema = cdcValueSchema(t.table, t.columns, t.registered ?? []);
        const accepted = t.changes.filter((c) => c.verdict === 'breaking');
        if (accepted.length > 0 && !(await registry.compatible(t.subject, schema, 'JSON')).compatible) {
          // Accepted on purpose: the registry's own rule would refuse it, so it is lifted for this one version.
          await registry.setCompatibility(t.subject, 'NONE');
          try {
            await registry.register(t.subject, schema, 'JSON');
          } finally {
            await registry.setCompatibility(t.subject, level);
          }
        } else {
          await registry.register(t.subject, schema, 'JSON');
        }
        if (accepted.length > 0) await auditAccepted(ctx, t.subject, accepted);
        done.push(t.registered ? `${t.subject}: ${t.changes.length} change${t.changes.length === 1 ? '' : 's'} registered${accepted.length > 0 ? ` (${accepted.length} breaking, accepted)` : ''}` : `${t.subject}: version 1`);
      }
      return done.length > 0 ? `schemas: ${done.join('; ')}` : 'schemas unchanged';
    },
    async verify() {
      const drift = await inspect();
      const stale = drift.filter((t) => !t.registered || t.changes.length > 0 || !t.compatibilityOk);
      if (stale.length > 0) {
        throw new CheckFailedError(`the registered schemas of ${stale.map((t) => t.table).join(', ')} differ from the source catalog; see \`stream-migrate phase plan ingestion\``);
      }
      return `${drift.length} captured tables match their registered schemas (${level})`;
    },
  };
}

/** One change and its verdict per consumer, as the plan shows it. */
function renderChange(c: ClassifiedChange): string {
  const head = `${c.verdict === 'breaking' ? '! BREAKING' : '~ compatible'}: ${c.summary}`;
  const lines = c.consumers.map((v) => `    ${v.consumer.padEnd(10)} ${v.verdict.padEnd(10)} ${v.reason}`);
  const fix = c.verdict === 'breaking' ? [`    to fix: ${remedy(c.change)}; or \`phase run ingestion --accept-breaking\` (audited)`] : [];
  return [head, ...lines, ...fix].join('\n');
}

function breakingConsumers(c: ClassifiedChange): string {
  return c.consumers.filter((v) => v.verdict === 'breaking').map((v) => v.consumer).join(', ');
}

function firstReason(c: ClassifiedChange): string {
  return c.consumers.find((v) => v.verdict === 'breaking')?.reason ?? '';
}

async function auditAccepted(ctx: PhaseContext, subject: string, accepted: readonly ClassifiedChange[]): Promise<void> {
  const store = await openStateStore(ctx.config.warehouse);
  try {
    await store.audit.append({
      actor: ctx.actor ?? 'unknown',
      command: 'phase run ingestion --accept-breaking',
      target: `schema ${subject}`,
      outcome: 'succeeded',
      detail: { accepted: accepted.map((c) => ({ change: c.summary, breaks: c.consumers.filter((v) => v.verdict === 'breaking').map((v) => `${v.consumer}: ${v.reason}`) })) },
    });
  } finally {
    await store.close();
  }
  ctx.logger.warn(`accepted breaking source schema changes on ${subject}: ${accepted.map((c) => `${c.summary} (breaks ${breakingConsumers(c)})`).join('; ')}`);
}
