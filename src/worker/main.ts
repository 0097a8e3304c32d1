/** Entry point of a worker process: runs one Locrit task at a time for the parent. */
import { toErrorReport } from '../errors.js';
import { WORKER_TASK_ENV, type WorkerReply, type WorkerRequest } from '../runner/protocol.js';
import { testPointFor } from '../testKnobs.js';
import { preloadTask, runTask } from './tasks.js';

const send = (reply: WorkerReply): void => {
  process.send!(reply);
};

let parentAskedToExit = false;

// The parent is gone (killed): die as hard as it did, at once. A normal exit would run Kuzu's
// destructors under a query still in flight (they can hang), and an orphan still holding the
// Locrit's run lock and database would make the next run refuse to start.
process.on('disconnect', () => {
  if (parentAskedToExit) process.exit(0);
  process.kill(process.pid, 'SIGKILL');
});

process.on('message', async (request: WorkerRequest) => {
  if (request.type === 'exit') {
    parentAskedToExit = true;
    process.disconnect();
    return;
  }
  const { id } = request;
  try {
    const context = {
      progress: (phase: string) => send({ type: 'progress', id, phase }), knobs: request.knobs, testPoint: testPointFor(request.knobs, request.target.name), prepared: request.prepared,
    };
    const value = await runTask(request.task, request.target, request.payload, context);
    send({ type: 'done', id, value });
  } catch (error) {
    send({ type: 'failed', id, error: toErrorReport(error) });
  }
});

// The parent is preparing the first Locrit (a private copy) meanwhile: load what the task needs now.
const expectedTask = process.env[WORKER_TASK_ENV];
if (expectedTask) void preloadTask(expectedTask);
