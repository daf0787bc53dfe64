import { describe, expect, it } from 'vitest';
import { CLK_TCK, engineOf, threadSplit, threadSplitText } from '../../bench/cpu.js';

describe('threadSplit (server CPU per message by thread, from /proc ticks)', () => {
  it('splits the main thread, the busiest other thread and the rest, each with its system part', () => {
    const t = (all: number, sys: number) => ({ all, sys });
    const before = new Map([['100', t(1000, 100)], ['101', t(500, 50)], ['102', t(10, 0)], ['103', t(0, 0)]]);
    // 1000 messages; one tick is 1/CLK_TCK s.
    const after = new Map([['100', t(1000 + 3 * CLK_TCK / 100, 100 + CLK_TCK / 100)], ['101', t(500 + CLK_TCK / 100, 50 + CLK_TCK / 200)], ['102', t(10 + CLK_TCK / 500, 0)], ['103', t(CLK_TCK / 1000, 0)], ['104', t(CLK_TCK / 1000, 0)]]);
    const split = threadSplit(100, before, after, 1000).serverCpuUsPerMsgByThread!;
    // 30 ms of the main thread over 1000 messages: 30 µs each, 10 of them in the kernel.
    expect(split).toEqual({ eventLoop: 30, eventLoopSys: 10, busiestOther: 10, busiestOtherSys: 5, rest: 4 });
    expect(threadSplitText(split)).toBe('loop 30 (sys 10), next thread 10 (sys 5), rest 4');
  });

  it('says nothing without /proc or messages', () => {
    expect(threadSplit(undefined, new Map(), new Map(), 10)).toEqual({});
    expect(threadSplit(100, new Map([['100', { all: 1, sys: 0 }]]), new Map([['100', { all: 2, sys: 0 }]]), 0)).toEqual({});
  });
});

describe('engineOf (which co-located engine a process is)', () => {
  it('knows each engine of the scale-out deployment by its command line, OpenSearch included', () => {
    // Command lines as /proc shows them for the engines scripts/services/up.sh starts.
    expect(engineOf('redis-server 127.0.0.1:6390 ')).toBe('redis');
    expect(engineOf('java -Xms512m -Xmx512m -cp /root/.cache/chat-services/kafka-4.1.1/* kafka.Kafka /work/main/.services/kafka/node.properties ')).toBe('kafka');
    expect(engineOf('/root/.cache/chat-services/ferretdb-v1.24.2-1a2bd7f57bb3/ferretdb -listen 127.0.0.1:27027 ')).toBe('ferretdb');
    expect(engineOf('postgres: chat ferretdb 127.0.0.1(51234) idle ')).toBe('postgres');
    expect(engineOf('/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xms256m -Xmx256m -cp /var/cache/chat-services/opensearch-2.19.1/lib/* org.opensearch.bootstrap.OpenSearch -d -p x.pid ')).toBe('opensearch');
  });

  it('counts any other process as competing work, a JVM or a node process included', () => {
    expect(engineOf('java -jar /opt/other/app.jar ')).toBeUndefined();
    expect(engineOf('/usr/bin/node /work/main/bench/loadgen.ts ')).toBeUndefined();
    expect(engineOf('/usr/bin/node /tmp/opensearch-notes/server.js ')).toBeUndefined();
  });
});
