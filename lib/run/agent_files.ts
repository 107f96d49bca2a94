/**
 * Agents saved to files and loaded from them (Deno only): the bytes of `BaseAgent.save`,
 * written crash-safely (a temporary file renamed into place, never through a symbolic link).
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { type Agent, type AgentClass, agentStateFromBytes, BaseAgent } from "../rl/agent.ts";
import type { AgentState } from "../rl/state.ts";

/**
 * Writes an agent's whole state to a file in the checkpoint format, atomically: the file is
 * either the old one or the new one, whatever happens to the process.
 *
 * @param agent The agent.
 * @param path The file to create or replace; its folder must exist.
 * @throws {FileError} When `path` is a symbolic link or not a regular file.
 *
 * @example
 * ```ts
 * import { CartPole, DQN } from "@rnnrl/rnnrl";
 * import { loadAgent, saveAgent } from "@rnnrl/rnnrl/run";
 * const dir = await Deno.makeTempDir();
 * const agent = new DQN(new CartPole(), { hiddenSizes: [8], seed: 4 });
 * await agent.learn(new CartPole({ seed: 1 }), { steps: 300 });
 * await saveAgent(agent, `${dir}/dqn.bin`);
 * const copy = await loadAgent(DQN, `${dir}/dqn.bin`);
 * if (copy.steps !== 300 || copy.options.seed !== 4) throw new Error("the whole state");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveAgent(agent: Agent, path: string): Promise<void> {
  await writeFileAtomic(path, await agent.save());
}

/**
 * Reads an agent state from a file written by {@linkcode saveAgent}.
 *
 * @param path The file.
 * @returns The state, for `fromState` of the agent's class.
 * @throws {CheckpointError} When the file is damaged; the message names it.
 */
export async function readAgentState(path: string): Promise<AgentState> {
  return agentStateFromBytes(await Deno.readFile(path), path);
}

/**
 * Reads a file written by {@linkcode saveAgent} into a new agent of class `type`; its options and
 * sizes come from the file.
 *
 * @param type The agent's class (`DQN`, `A2C`, …).
 * @param path The file.
 * @param backend The backend to build the agent on (default: the CPU).
 * @throws {CheckpointError} When the file is damaged; the message names it.
 * @throws {TypeError} When it holds another kind of agent.
 */
export async function loadAgent<A extends BaseAgent<object>>(
  type: AgentClass<A>,
  path: string,
  backend?: Backend,
): Promise<A> {
  const fromState: (this: AgentClass<A>, state: AgentState, backend?: Backend) => A =
    BaseAgent.fromState;
  return fromState.call(type, await readAgentState(path), backend);
}
