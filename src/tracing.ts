// OpenTelemetry tracing through `@opentelemetry/api` alone: spans are made only when the
// application registered an SDK (a tracer provider). Without one every tracer is the API's
// no-op, `isRecording()` is false, and each helper here takes its plain path at once.
import {
  type Attributes,
  context,
  type Context as OtelContext,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'

/** W3C trace context headers (`traceparent`, `tracestate`) of a span, as the propagator wrote them. */
export type TraceCarrier = Readonly<Record<string, string>>

const tracer = trace.getTracer('switchboard')

export { SpanKind }

/**
 * Starts a span as a child of `parent` (default: the active context). Returns null, having
 * made nothing that lasts, when no SDK records it.
 */
export function startSpan(
  name: string,
  kind: SpanKind,
  parent: OtelContext = context.active(),
): Span | null {
  const span = tracer.startSpan(name, { kind }, parent)
  if (span.isRecording()) return span
  span.end()
  return null
}

/** Runs `fn` with `span` active, so spans started inside (and carriers injected) descend from it. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn)
}

/** Ends `span` as failed with `error`. */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error))
  span.setStatus({ code: SpanStatusCode.ERROR })
  span.end()
}

/**
 * Runs `fn` in a span named `name` when something records it (a child of the active span),
 * ending it when the returned promise settles. Without an SDK it only calls `fn`.
 */
export async function traced<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const span = startSpan(name, kind)
  if (span === null) return fn()
  span.setAttributes(attributes)
  try {
    const out = await withSpan(span, fn)
    span.end()
    return out
  } catch (err) {
    failSpan(span, err)
    throw err
  }
}

/** The trace context of the active span for a message that leaves the process, or undefined
 * when nothing traces (no SDK, or no valid span). */
export function currentCarrier(): TraceCarrier | undefined {
  const active = context.active()
  const spanContext = trace.getSpanContext(active)
  if (spanContext === undefined) return undefined
  const carrier: Record<string, string> = {}
  propagation.inject(active, carrier)
  for (const _ in carrier) return carrier
  return undefined
}

/** The context a carrier names (the remote parent of a span made from a received message). */
export function contextOf(carrier: TraceCarrier | Readonly<Record<string, unknown>>): OtelContext {
  return propagation.extract(ROOT_CONTEXT, carrier)
}
