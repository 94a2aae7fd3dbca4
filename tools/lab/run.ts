import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const repo = resolve(import.meta.dirname, "../..");

/** Progress lines the whole lab prints: one prefix, easy to follow in CI logs. */
export const say = (line: string) => process.stdout.write(`[lab] ${line}\n`);

/**
 * Runs a command with its output streamed to ours (installs, image builds and
 * Ansible are long: the user should watch them happen). Rejects on failure
 * with the command named.
 */
export function stream(command: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: repo, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    child.on("error", (err) => fail(new Error(`${command}: ${err.message}`)));
    child.on("close", (code) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}
