import type { Message } from '../../../protocol/index.js';
import type { Broker, ChatServer } from '../../ports/index.js';
import { recordEvent } from '../../ports/broker.js';
import { assertLocalDelivery, emitLocally } from '../local-delivery.js';

/** One node: Socket.IO's own in-memory adapter reaches every socket, and there is nobody to notify. */
export class LocalBroker implements Broker {
  private io: ChatServer | null = null;

  async bind(io: ChatServer) {
    assertLocalDelivery(io);
    this.io = io;
  }

  publish(rooms: string[], except: string | null, message: Message) {
    emitLocally(this.io!, rooms, except, recordEvent(message), message);
  }

  async notify() {}

  onNotice() {}

  async close() {}
}
