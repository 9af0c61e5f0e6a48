// Traces (OpenTelemetry). The gateway writes spans through the API; the SDK is set up only when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test registers its own provider), so without it every
// span is the API's no-op and costs next to nothing.
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

export const TRACER_NAME = 'profile-gateway';

export const tracer = () => trace.getTracer(TRACER_NAME);

/** Whether the active context is in a recorded trace (children are worth creating). */
export function recording(): boolean {
  return trace.getSpan(context.active())?.isRecording() === true;
}

/**
 * Runs fn inside a child span of the active one; the span ends when fn settles, with an error
 * status if it threw. Outside a recorded trace fn just runs: no span, no context switch.
 */
export async function traced<T>(name: string, attributes: Attributes, fn: (span: Span | null) => Promise<T>): Promise<T> {
  if (!recording()) return fn(null);
  return tracer().startActiveSpan(name, { attributes, kind: SpanKind.INTERNAL }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** What a webhook delivery's span says about it: ids, names and codes only, never a URL's query or a body. */
export interface WebhookDeliveryAttributes {
  /** The webhook (subscription) id. */
  webhookId: string;
  /** The event delivered, e.g. user.updated. */
  event: string;
  /** 1 for the first try. */
  attempt: number;
}

/** What a delivery reports back to its span: the receiver's HTTP status, when it answered. */
export interface WebhookDeliveryResult {
  status?: number;
}

/**
 * The hook for webhook deliveries (#18): runs `deliver` inside a `webhook.deliver` span (kind
 * CLIENT). Deliveries run in the background, outside any request, so this starts a trace of its
 * own when there is no active one (a delivery made inside a request is a child of its span). A
 * thrown error, or an answered status of 400 or more, marks the span as failed. Without a tracer
 * provider (no OTEL_EXPORTER_OTLP_ENDPOINT) it is the API's no-op and costs next to nothing.
 */
export async function traceWebhookDelivery<T extends WebhookDeliveryResult>(
  attrs: WebhookDeliveryAttributes,
  deliver: () => Promise<T>,
): Promise<T> {
  const attributes: Attributes = { 'webhook.id': attrs.webhookId, 'webhook.event': attrs.event, 'webhook.attempt': attrs.attempt };
  return tracer().startActiveSpan('webhook.deliver', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const result = await deliver();
      if (result.status !== undefined) {
        span.setAttribute('http.response.status_code', result.status);
        if (result.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: String(result.status) });
      }
      return result;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The context a request continues: its W3C `traceparent` (and `tracestate`), when it sent one. */
export function contextFromHeaders(headers: Record<string, string | string[] | undefined>) {
  return propagation.extract(ROOT_CONTEXT, headers);
}

export { context, SpanKind, SpanStatusCode, trace };

export interface TracingHandle {
  shutdown(): Promise<void>;
}

/**
 * Sets up the SDK with an OTLP/HTTP (JSON) exporter to `endpoint` (the traces URL) when given;
 * returns null otherwise. The SDK modules are loaded only then. The exporter reads the other
 * OTEL_EXPORTER_OTLP_* variables (headers, timeout) from the environment.
 */
export async function startTracing(opts: { endpoint: string | null; serviceName: string; instance: string }): Promise<TracingHandle | null> {
  if (!opts.endpoint) return null;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.instance.id': opts.instance }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.endpoint }))],
  });
  // Registers the async-hooks context manager and the W3C trace-context propagator as well.
  provider.register();
  return {
    async shutdown() {
      await provider.shutdown();
    },
  };
}
