// node:cluster worker script (see control/workers.ts).
import { runWorker } from './worker-main';

runWorker();
