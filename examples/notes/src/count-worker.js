// Counts the words of a note's body off the main thread (worker_threads).
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, text }) => {
  const words = text.split(/\s+/).filter(Boolean).length;
  parentPort.postMessage({ id, words });
});
