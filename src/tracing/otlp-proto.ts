// The subset of the OpenTelemetry protocol (opentelemetry-proto, Apache-2.0) that trace export
// needs, declared here with protobufjs reflection because the OTLP .proto files are not in our
// build-time proto set (the Envoy API package does not ship them). Field numbers follow
// opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto. Loaded lazily by the
// OTLP exporter only (control side / exporter path, never per request).
import protobuf from 'protobufjs';

let root: protobuf.Root | undefined;

export const OTLP_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export function otlpRoot(): protobuf.Root {
  if (root) return root;
  root = protobuf.Root.fromJSON({
    nested: {
      opentelemetry: {
        nested: {
          proto: {
            nested: {
              common: { nested: { v1: { nested: {
                AnyValue: { oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue'] } }, fields: { stringValue: { type: 'string', id: 1 }, boolValue: { type: 'bool', id: 2 }, intValue: { type: 'int64', id: 3 }, doubleValue: { type: 'double', id: 4 } } },
                KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
                InstrumentationScope: { fields: { name: { type: 'string', id: 1 }, version: { type: 'string', id: 2 } } },
              } } } },
              resource: { nested: { v1: { nested: {
                Resource: { fields: { attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 1 }, droppedAttributesCount: { type: 'uint32', id: 2 } } },
              } } } },
              trace: { nested: { v1: { nested: {
                ResourceSpans: { fields: { resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 }, scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 }, schemaUrl: { type: 'string', id: 3 } } },
                ScopeSpans: { fields: { scope: { type: 'opentelemetry.proto.common.v1.InstrumentationScope', id: 1 }, spans: { rule: 'repeated', type: 'Span', id: 2 }, schemaUrl: { type: 'string', id: 3 } } },
                Span: {
                  fields: {
                    traceId: { type: 'bytes', id: 1 },
                    spanId: { type: 'bytes', id: 2 },
                    traceState: { type: 'string', id: 3 },
                    parentSpanId: { type: 'bytes', id: 4 },
                    name: { type: 'string', id: 5 },
                    kind: { type: 'int32', id: 6 },
                    startTimeUnixNano: { type: 'fixed64', id: 7 },
                    endTimeUnixNano: { type: 'fixed64', id: 8 },
                    attributes: { rule: 'repeated', type: 'opentelemetry.proto.common.v1.KeyValue', id: 9 },
                    status: { type: 'Status', id: 15 },
                  },
                },
                Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
              } } } },
              collector: { nested: { trace: { nested: { v1: { nested: {
                ExportTraceServiceRequest: { fields: { resourceSpans: { rule: 'repeated', type: 'opentelemetry.proto.trace.v1.ResourceSpans', id: 1 } } },
                ExportTracePartialSuccess: { fields: { rejectedSpans: { type: 'int64', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
                ExportTraceServiceResponse: { fields: { partialSuccess: { type: 'ExportTracePartialSuccess', id: 1 } } },
              } } } } } },
            },
          },
        },
      },
    },
  });
  root.resolveAll();
  return root;
}
