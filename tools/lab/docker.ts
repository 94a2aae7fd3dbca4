import { spawn } from "node:child_process";

/**
 * Runs `docker ARGS` (with `input` on stdin and `env` added to ours, if given) and returns stdout;
 * the error names the command and docker's own message.
 */
export function docker(args: string[], input = "", env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new Error(`docker ${args.join(" ")}: ${e.message}`)));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`docker ${args.join(" ")} failed: ${err.trim() || `exit ${code}`}`))));
    // docker may exit before it reads stdin (a failed command, or one that reads
    // none): the EPIPE that follows is not an error of ours; its exit code tells.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

/** `docker exec CONTAINER sh -c SCRIPT`, for the few reads the lab makes inside hosts. */
export function dockerExec(container: string, script: string, input?: string): Promise<string> {
  return docker(input === undefined ? ["exec", container, "sh", "-c", script] : ["exec", "-i", container, "sh", "-c", script], input);
}

/** Names of the containers carrying `label` (running or not). */
export async function containersWithLabel(label: string): Promise<string[]> {
  return (await docker(["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"])).split("\n").filter(Boolean);
}
