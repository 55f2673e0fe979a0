// The proxy's version, as reported by --version, /server_info and the node's user agent.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = (require('../../package.json') as { version: string }).version;
