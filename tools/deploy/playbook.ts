import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repo } from "../lab/run.js";

export type Strategy = "rolling" | "canary" | "bluegreen";
export const STRATEGIES: readonly Strategy[] = ["rolling", "canary", "bluegreen"];

export interface DeployOptions {
  version: string;
  strategy: Strategy;
  /** Absolute path of the cluster's topology file. */
  topologyFile: string;
  inventory: string;
  /** More `-e name=value` for ansible-playbook, e.g. cabify_ready_timeout_seconds=20. */
  extraVars?: string[];
}

export interface PlaybookRun {
  exitCode: number;
  /** deploy.yml's last word: "deploy 0.2.0 (rolling) done: app-1=0.2.0 ..." (or "... ABORTED at ..."); "" if it never got there. */
  summary: string;
  /** host → the version it runs, as the playbook left it (empty if it never got there). */
  versions: Record<string, string>;
  /** What happened to which host, as the playbook said it, in order. */
  steps: { host: string; step: string }[];
}

/**
 * Tasks of deploy.yml whose "changed" on a host is a step worth a mark on a
 * timeline: the task name's start → the label. One place, so the playbook's
 * task names and the timeline's labels are kept together.
 */
const STEPS: [string, string][] = [
  ["Drain the instance", "drain"],
  ["Drain the old instance", "drain old"],
  ["cabify : Ensure the cabify container runs", "container started"],
  ["Give the canary its low weight", "canary weight"],
  ["Give the canary its normal weight back", "canary promoted"],
  ["Stop and remove the old instance", "old stopped"],
  ["End the drain", "drain ended"],
  ["Remove the new instance (", "new removed"],
];

/**
 * The step a line of ansible-playbook's output reports, given the task it
 * belongs to: a host's "changed" in one of STEPS' tasks.
 *
 * @example
 * stepOf("Drain the instance through Consul maintenance, ...", "changed: [app-1]") // { host: "app-1", step: "drain" }
 */
export function stepOf(task: string, line: string): { host: string; step: string } | undefined {
  const host = /^changed: \[([^\]]+)\]/.exec(line)?.[1];
  const step = host === undefined ? undefined : STEPS.find(([prefix]) => task.startsWith(prefix))?.[1];
  return host !== undefined && step !== undefined ? { host, step } : undefined;
}

/**
 * Runs ansible/deploy.yml, streaming its output to ours and calling `onStep`
 * as each step of STEPS happens on a host, so a caller can mark it on a
 * timeline. Resolves with the exit code (0 deployed, 2 stopped at a failed
 * batch), the playbook's one-line summary and each host's version.
 *
 * @example
 * const run = await runDeployPlaybook({ version: "0.2.0", strategy: "rolling", topologyFile, inventory }, (host, step) => mark(`${host} ${step}`));
 */
export function runDeployPlaybook(options: DeployOptions, onStep: (host: string, step: string) => void = () => undefined): Promise<PlaybookRun> {
  const summaryDir = mkdtempSync(join(tmpdir(), "cabify-deploy-"));
  const summaryFile = join(summaryDir, "summary.json");
  const args = ["-e", `deploy_summary_file=${summaryFile}`, "-i", options.inventory, "ansible/deploy.yml", "-e", `version=${options.version}`, "-e", `deploy_strategy=${options.strategy}`, "-e", `topology_file=${options.topologyFile}`];
  for (const extra of options.extraVars ?? []) args.push("-e", extra);
  const child = spawn("ansible-playbook", args, { cwd: repo, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ANSIBLE_CONFIG: join(repo, "ansible/ansible.cfg") } });
  const steps: PlaybookRun["steps"] = [];
  let task = "";
  createInterface({ input: child.stdout }).on("line", (line) => {
    process.stdout.write(`${line}\n`);
    task = /^TASK \[(.*)\]/.exec(line)?.[1] ?? task;
    const step = stepOf(task, line);
    if (step) {
      steps.push(step);
      onStep(step.host, step.step);
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", (err) => reject(new Error(`ansible-playbook: ${err.message}`)));
    child.on("close", (code) => {
      const written = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, "utf8")) as { summary: string; versions: Record<string, string> }) : { summary: "", versions: {} };
      rmSync(summaryDir, { recursive: true, force: true });
      resolve({ exitCode: code ?? 1, summary: written.summary, versions: written.versions, steps });
    });
  });
}
