/** Entry point of a worker process: runs one Locrit task at a time for the parent. */
import { toErrorReport } from '../errors.js';
import type { WorkerReply, WorkerRequest } from '../runner/protocol.js';
import { TASKS } from './tasks.js';

const send = (reply: WorkerReply): void => {
  process.send!(reply);
};

// The parent is gone (killed): stop at once rather than work for nobody in a run folder that was removed.
process.on('disconnect', () => process.exit(0));

process.on('message', async (request: WorkerRequest) => {
  if (request.type === 'exit') {
    process.disconnect();
    return;
  }
  const { id } = request;
  try {
    const task = await TASKS[request.task]();
    const value = await task(request.target, request.payload as never, { progress: (phase) => send({ type: 'progress', id, phase }) });
    send({ type: 'done', id, value });
  } catch (error) {
    send({ type: 'failed', id, error: toErrorReport(error) });
  }
});
