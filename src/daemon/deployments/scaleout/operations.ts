import type { Logger } from 'pino';
import type { Message } from '../../../protocol/index.js';
import type { Operations } from '../../ports/index.js';
import type { DlqIndex, FailedStore } from './failed-store.js';
import { consumerLag, createKafka, partitioner, topicSize, type KafkaSettings } from './kafka.js';
import { toRecord } from './kafka-publisher.js';
import type { ScaleOutLog } from './scaleout-log.js';

/** Failed publishes (Redis) and dead letters (Kafka, indexed in Redis): list, replay, purge, and the backlog. */
export function scaleOutOperations(settings: KafkaSettings, messageLog: ScaleOutLog, failed: FailedStore, dlq: DlqIndex, log: Logger): Omit<Operations, 'searchReindex'> {
  const adminKafka = createKafka(settings, log, 'admin');
  return {
    failedList: () => failed.all(),
    failedReplay: (ids) => messageLog.retryFailed(ids),
    async failedPurge(ids) {
      const all = await failed.all();
      const chosen = ids ? all.filter((e) => ids.includes(e.id)) : all;
      await failed.remove(chosen);
      return { purged: chosen.map((e) => e.id) };
    },
    dlqList: () => dlq.list(),
    async dlqReplay(ids) {
      const all = await dlq.list();
      const chosen = ids ? all.filter((e) => ids.includes(e.id)) : all;
      const producer = adminKafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: partitioner });
      await producer.connect();
      try {
        // Back to the message topic as it was; a record that is still invalid dead-letters again.
        for (const e of chosen) {
          let message: Message | undefined;
          try { message = JSON.parse(e.value) as Message; } catch { message = undefined; }
          const record = message && typeof message === 'object' && typeof message.conversationId === 'string' ? toRecord(message) : { key: e.key, value: e.value };
          await producer.send({ topic: settings.topic, acks: -1, messages: [record] });
          await dlq.remove([e.id]);
        }
      } finally {
        await producer.disconnect();
      }
      return { replayed: chosen.map((e) => e.id), remaining: await dlq.size() };
    },
    async status() {
      const [lag, failedSize, pending, total] = await Promise.all([
        consumerLag(adminKafka, settings.topic, settings.groupId).catch(() => null),
        failed.size().catch(() => null),
        dlq.size().catch(() => null),
        topicSize(adminKafka, settings.dlqTopic).catch(() => null),
      ]);
      return { consumerLag: lag, failedStore: failedSize, dlq: pending === null ? null : { pending, total: total ?? pending } };
    },
  };
}
