// Protobuf well-known types whose proto3 JSON form is not an object of their fields. Shared by
// the config reader (config/bootstrap/proto-json.ts) and the config_dump writer
// (admin/proto-json-writer.ts), so both agree on what is special. Any is handled by each apart.

export const WRAPPER_TYPES: ReadonlySet<string> = new Set([
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

/** Wrappers plus Duration, Timestamp, FieldMask, Struct, Value and ListValue. */
export const SPECIAL_JSON_TYPES: ReadonlySet<string> = new Set([...WRAPPER_TYPES, 'google.protobuf.Duration', 'google.protobuf.Timestamp', 'google.protobuf.FieldMask', 'google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);
