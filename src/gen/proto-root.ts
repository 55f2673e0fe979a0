// The protobuf reflection root built at build time by scripts/gen-protos.mjs (buf image of
// Envoy's v3 APIs from the pinned npm package plus our proto/ files, stored as
// build/proto-root.json). Loaded once, lazily, on the control side only: workers never load it.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import protobuf from 'protobufjs';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

let root: protobuf.Root | undefined;

/** Path of the generated root; works from src/gen (tests) and dist/gen (built). */
export function protoRootPath(): string {
  return join(resolve(__dirname, '..', '..'), 'build', 'proto-root.json');
}

export function protoRoot(): protobuf.Root {
  if (!root) {
    let text: string;
    try {
      text = readFileSync(protoRootPath(), 'utf8');
    } catch (err) {
      throw new Error(`proto root missing at ${protoRootPath()} (run \`make build\`): ${(err as Error).message}`);
    }
    root = protobuf.Root.fromJSON(JSON.parse(text));
    root.resolveAll();
  }
  return root;
}

/** Looks up a message type by full name (without the type URL prefix). Throws if unknown. */
export function lookupType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/** Message type for a type URL, or undefined when the root does not know it. */
export function typeForUrl(typeUrl: string): protobuf.Type | undefined {
  const slash = typeUrl.lastIndexOf('/');
  const name = slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
  try {
    return protoRoot().lookupType(name);
  } catch {
    return undefined;
  }
}
