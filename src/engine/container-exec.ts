import type Docker from 'dockerode';

/**
 * Runs `cmd` in a running container, as `docker exec` does, and gives its exit code; undefined
 * when it could not run (the container stopped meanwhile) or outlived `timeoutMs`.
 */
export async function execIn(
  docker: Docker,
  id: string,
  cmd: string[],
  timeoutMs: number,
): Promise<number | undefined> {
  try {
    const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const ended = new Promise<boolean>((resolve) => {
      stream.on('end', () => resolve(true));
      stream.on('error', () => resolve(false));
      stream.resume();
    });
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    if (!(await Promise.race([ended, timeout]))) {
      stream.destroy();
      return undefined;
    }
    return (await exec.inspect()).ExitCode ?? undefined;
  } catch {
    return undefined;
  }
}
