import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

/**
 * Runs `cmd` in a running container, as `docker exec` does: its exit code and output (stdout
 * and stderr together); undefined when it could not run (the container stopped meanwhile) or
 * outlived `timeoutMs`.
 */
export async function execIn(
  docker: Docker,
  id: string,
  cmd: string[],
  timeoutMs: number,
): Promise<{ exitCode: number | undefined; output: string } | undefined> {
  try {
    const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let output = '';
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    docker.modem.demuxStream(stream, sink, sink);
    const ended = new Promise<boolean>((resolve) => {
      stream.on('end', () => resolve(true));
      stream.on('error', () => resolve(false));
    });
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    if (!(await Promise.race([ended, timeout]))) {
      stream.destroy();
      return undefined;
    }
    return { exitCode: (await exec.inspect()).ExitCode ?? undefined, output };
  } catch {
    return undefined;
  }
}
