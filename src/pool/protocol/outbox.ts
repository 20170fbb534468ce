// The sending half both ends share: a bounded queue of sealed envelopes and the counters that
// stamp them (message id, sequence number, decision sequence, turn). Sans-I/O: it only queues.
import { sealEnvelope, type EnvelopeMeta, type PoolEnvelope, type PoolOp } from './envelope.js';
import { refused, type ChannelError } from './errors.js';
import { MAX_OUTBOX_MESSAGES, requireCount } from './limits.js';

const FIRST_SEQUENCE = 1;

export class EnvelopeOutbox {
  private envelopes: PoolEnvelope[] = [];
  private nextMessageId = FIRST_SEQUENCE;
  private nextSeqNo = FIRST_SEQUENCE;
  private nextDecisionSeq: number;
  private readonly seed: number;
  private readonly maxMessages: number;
  /** Worker session id stamped on every envelope (worker side), or undefined (main side). */
  private readonly workerId: string | undefined;
  turn = 0;

  constructor(options: {
    seed: number;
    /** Default MAX_OUTBOX_MESSAGES. */
    maxMessages?: number | undefined;
    firstDecisionSeq?: number | undefined;
    workerId?: string;
  }) {
    this.seed = requireCount('seed', options.seed);
    this.maxMessages = requireCount(
      'maxOutboxMessages',
      options.maxMessages ?? MAX_OUTBOX_MESSAGES,
    );
    this.nextDecisionSeq = requireCount(
      'firstDecisionSeq',
      options.firstDecisionSeq ?? FIRST_SEQUENCE,
    );
    this.workerId = options.workerId;
  }

  get length(): number {
    return this.envelopes.length;
  }

  /** The refusal to return when the queue is at its bound, or null when there is room. */
  full(): { readonly ok: false; readonly error: ChannelError } | null {
    return this.envelopes.length >= this.maxMessages
      ? refused({ kind: 'limit_exceeded', resource: 'outbox_messages', limit: this.maxMessages })
      : null;
  }

  /** Seals `op` with the next counters and queues it. The caller checks `full()` first. */
  push(op: PoolOp): PoolEnvelope {
    const meta: EnvelopeMeta = {
      messageId: this.nextMessageId++,
      seqNo: this.nextSeqNo++,
      decisionSeq: this.nextDecisionSeq++,
      seed: this.seed,
      turn: this.turn,
    };
    const envelope = sealEnvelope(meta, op, this.workerId);
    this.envelopes.push(envelope);
    return envelope;
  }

  /** Everything queued, oldest first; the queue is empty afterwards. */
  drain(): PoolEnvelope[] {
    const drained = this.envelopes;
    this.envelopes = [];
    return drained;
  }

  /** Drops everything queued (a superseded session's messages). */
  clear(): void {
    this.envelopes = [];
  }
}
