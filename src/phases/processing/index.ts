import type { KafkaAdmin } from '../../clients/kafka.ts';
import { CheckFailedError } from '../../core/errors.ts';
import { sleep } from '../../core/time.ts';
import { stackPaths } from '../../local-stack/paths.ts';
import { ensureWorkers, readDesired, readEffective, stopWorkers, supervisorPid, supervisorStartsSources, workerAnswers, workerStatus, type DesiredWorkers, type WorkerStatus } from '../../local-stack/workers.ts';
import { checkStreamTopology, copartitionedTopics, streamTopics } from '../../stream/topics.ts';
import type { Phase, PhaseContext, PhaseStep } from '../phase.ts';
import { groupHealth } from './group-health.ts';

/** The stream's topics exist and are co-partitioned, so partition p of each belongs to task p. */
function topologyStep(ctx: PhaseContext, admin: KafkaAdmin): PhaseStep {
  return {
    name: 'stream-topology',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const topics = streamTopics(ctx.config);
      const tasks = await checkStreamTopology(admin, topics);
      return `${copartitionedTopics(topics).length} co-partitioned topics, ${tasks} tasks`;
    },
  };
}

/** On the local stack: a supervisor keeps N processor workers and a sink running. */
function workersStep(ctx: PhaseContext): PhaseStep {
  const paths = stackPaths(ctx.config, ctx.cwd);
  const sources = [...ctx.config.sources.http, ...ctx.config.sources.files].map((s) => s.name);
  const desired: DesiredWorkers = { processors: ctx.options.workers ?? ctx.config.processor.workers, sink: true, ...(sources.length > 0 ? { sources } : {}), configFile: ctx.configFile };
  return {
    name: 'workers',
    async plan() {
      if (ctx.config.processor.deploy === 'external') return [];
      const current = readDesired(paths);
      const running = supervisorPid(paths) !== undefined;
      const canStartSources = (desired.sources?.length ?? 0) === 0 || readEffective(paths)?.kinds?.includes('source') === true;
      if (running && canStartSources && current?.processors === desired.processors && current.sink === desired.sink && (current.sources ?? []).join() === (desired.sources ?? []).join() && current.configFile === desired.configFile) return [{ resource: 'workers/local', action: 'none', diff: '' }];
      const diff = running ? `processor workers: ${current?.processors ?? 0} → ${desired.processors}` : `start a supervisor with ${desired.processors} processor worker(s) and 1 sink`;
      return [{ resource: 'workers/local', action: running ? 'update' : 'create', diff }];
    },
    async apply() {
      const { started, pid } = await ensureWorkers(paths, desired, ctx.cwd);
      if (!started && (desired.sources?.length ?? 0) > 0 && !(await supervisorStartsSources(paths))) {
        // Started by an earlier build, it cannot start source workers: replaced (its workers stop with it).
        await stopWorkers(paths, 'replaced by a newer build');
        const replaced = await ensureWorkers(paths, desired, ctx.cwd);
        return `supervisor (pid ${pid}) of an earlier build replaced by pid ${replaced.pid}`;
      }
      return started ? `supervisor started (pid ${pid})` : `supervisor (pid ${pid}) reloaded`;
    },
    async verify() {
      if (ctx.config.processor.deploy === 'external') return 'deploy: external; workers are not managed here';
      // Workers take a few seconds to start, and one that cannot start is alive for a moment at
      // each attempt: a worker counts as up once its own /metrics answers; stop waiting when one was given up on.
      const deadline = Date.now() + 90_000;
      const answers = (list: readonly WorkerStatus[]) => Promise.all(list.map((w) => (w.pid === null ? false : workerAnswers(ctx.config, w.name))));
      let status = workerStatus(paths);
      let answering = await answers(status);
      while (!answering.every(Boolean) && !status.some((w) => w.failed) && Date.now() < deadline) {
        await sleep(500);
        status = workerStatus(paths);
        answering = await answers(status);
      }
      const hopeless = status.filter((w) => w.failed);
      if (hopeless.length > 0) {
        throw new CheckFailedError(`workers that cannot start (the supervisor stopped retrying them): ${hopeless.map((w) => `${w.name}: ${w.failed} (see ${w.logFile})`).join('; ')}`);
      }
      const down = status.filter((_, i) => !answering[i]);
      if (status.length === 0 || down.length > 0) {
        throw new CheckFailedError(`workers not running: ${down.map((w) => `${w.name} (see ${w.logFile})`).join(', ') || 'none configured'}`);
      }
      return status.map((w) => `${w.name} pid ${w.pid}`).join(', ');
    },
  };
}

function groupsStep(ctx: PhaseContext, admin: KafkaAdmin): PhaseStep {
  return {
    name: 'consumer-groups',
    plan: async () => [],
    apply: async () => 'nothing to change',
    async verify() {
      const processor = await groupHealth(admin, ctx.config.processor.groupId, ctx.config.cutover.maxConsumerLag);
      const sink = await groupHealth(admin, ctx.config.sink.groupId, ctx.config.cutover.maxConsumerLag);
      return `processor: ${processor}; sink: ${sink}`;
    },
  };
}

/** Stream processor and sink started (or, with deploy: external, verified) and keeping up. */
export const processingPhase: Phase = {
  name: 'processing',
  description: 'stream processor and sink workers started and verified',
  async steps(ctx) {
    const { createKafkaAdmin } = await import('../../clients/kafka.ts');
    const admin = createKafkaAdmin(ctx.config.kafka, 'processing', { retries: 2 });
    return { steps: [topologyStep(ctx, admin), workersStep(ctx), groupsStep(ctx, admin)], close: () => admin.close() };
  },
};
