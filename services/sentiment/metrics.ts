// Sentiment's own Prometheus metrics: what the analyzer sees, by label and signal, never by conversation.
import { Counter, type Registry } from 'prom-client';
import { Author, EscalationSignal, type Sentiment, SentimentLabel } from '../../gen/pulse/common/v1/conversation_pb.js';

export class SentimentMetrics {
  private readonly analyzed: Counter<'author' | 'label'>;
  private readonly signals: Counter<'signal'>;

  constructor(registry: Registry) {
    this.analyzed = new Counter({
      name: 'pulse_sentiment_messages_analyzed_total',
      help: 'Chat messages analysed, by author and label',
      labelNames: ['author', 'label'],
      registers: [registry],
    });
    this.signals = new Counter({
      name: 'pulse_sentiment_signals_total',
      help: 'Escalation signals found in customer messages, by signal',
      labelNames: ['signal'],
      registers: [registry],
    });
  }

  observe(author: Author, sentiment: Sentiment): void {
    this.analyzed.inc({ author: (Author[author] ?? 'UNKNOWN').toLowerCase(), label: SentimentLabel[sentiment.label].toLowerCase() });
    if (author !== Author.CUSTOMER) return;
    for (const signal of sentiment.signals) this.signals.inc({ signal: EscalationSignal[signal].toLowerCase() });
  }
}
