"""A supervisor agent that hands work to three worker agents, under one step budget.

The supervisor is offered three delegation tools (ask_researcher, ask_analyst, ask_writer);
calling one runs that worker agent with the given task. Workers have their own tools:
researcher -> search_documents, analyst -> calculator and word_count, writer -> none.
A step is one LLM turn by any agent; when the run's budget is spent, the run stops with
outcome "step_limit" and returns the last text any agent produced.

Telemetry: `invoke_agent {name}` spans (nested: supervisor > execute_tool ask_x > worker),
`execute_tool {tool}` spans, llmapp_agent_duration_seconds per agent invocation,
llmapp_agent_tool_calls_total per real tool call, llmapp_agent_steps per run.

With an MCP client (MCP_TOOLS_URL), the workers' tools run on the MCP tool server
(demo_app/mcp_tools): the arguments are checked here as for in-process tools, then sent as one
`tools/call`, whose client span is a child of `execute_tool {tool}` (demo_app/app/mcp_client.py).
A tool error or an unreachable server is a failed tool call the model is told about.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Status, StatusCode

from demo_app.app.llm import ChatResult, LLMClient, LLMError, ToolCall
from demo_app.app.mcp_client import McpToolClient
from demo_app.app.tools import TOOL_SPECS, Tool, ToolError
from demo_app.telemetry import Telemetry, get_logger, set_attributes

__all__ = ["AgentRun", "AgentRunner", "StepLimitReached", "WORKERS"]

_log = get_logger()

_SUPERVISOR_PROMPT = (
    "You are the supervisor of a small team answering questions about the Nimbus help center. "
    "Delegate: ask the researcher to find the facts, the analyst to compute numbers or count "
    "words, and the writer to write the final answer. Then reply to the user with the answer."
)


@dataclass(frozen=True)
class _Worker:
    name: str
    prompt: str
    tools: tuple[str, ...]
    description: str


WORKERS: dict[str, _Worker] = {
    w.name: w
    for w in (
        _Worker(
            "researcher",
            "You are the researcher. Search the help center with search_documents and report the "
            "relevant facts briefly, citing document ids in square brackets.",
            ("search_documents",),
            "Finds facts in the Nimbus help center.",
        ),
        _Worker(
            "analyst",
            "You are the analyst. Use calculator for any arithmetic and word_count to count words, "
            "then report the results in one or two sentences.",
            ("calculator", "word_count"),
            "Does arithmetic and counts words.",
        ),
        _Worker(
            "writer",
            "You are the writer. Write a short, clear final answer for the user from the task and "
            "the notes you are given. Keep exact numbers and document ids.",
            (),
            "Writes the final answer from notes.",
        ),
    )
}


def _delegation_spec(worker: _Worker) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": f"ask_{worker.name}",
            "description": worker.description,
            "parameters": {
                "type": "object",
                "properties": {"task": {"type": "string", "description": f"What the {worker.name} should do."}},
                "required": ["task"],
                "additionalProperties": False,
            },
        },
    }


class StepLimitReached(Exception):
    """The run's step budget is spent; unwinds every agent of the run."""


@dataclass
class AgentRun:
    """State shared by every agent of one /v1/agent request."""

    max_steps: int
    user_tier: str
    team: str = "_other"  # the `team` label its LLM calls are billed to
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worker reports, handed to the writer
    last_text: str = ""
    model: str = ""

    def take_step(self) -> None:
        if self.steps >= self.max_steps:
            raise StepLimitReached
        self.steps += 1

    def add(self, result: ChatResult) -> None:
        self.input_tokens += result.input_tokens
        self.output_tokens += result.output_tokens
        self.cost_usd += result.cost_usd
        self.model = result.model
        if result.text:
            self.last_text = result.text


class AgentRunner:
    """Runs the supervisor and its workers against one LLM client and tool set."""

    def __init__(self, llm: LLMClient, tools: dict[str, Tool], tel: Telemetry, model: str, mcp: McpToolClient | None = None) -> None:
        self._llm = llm
        self._tools = tools
        self._mcp = mcp
        self._model = model
        self._tracer = tel.tracer("demo_app.app.agents")
        self._duration = tel.metric("llmapp_agent_duration_seconds")
        self._tool_calls = tel.metric("llmapp_agent_tool_calls_total")
        self._steps = tel.metric("llmapp_agent_steps")

    async def run(self, task: str, run: AgentRun) -> tuple[str, str]:
        """(answer, outcome) for `task`; outcome is "ok" or "step_limit" (LLM errors propagate)."""
        outcome = "error"  # until the supervisor answers: an LLM failure ends the run as an error
        try:
            specs = [_delegation_spec(w) for w in WORKERS.values()]
            answer = await self._invoke("supervisor", _SUPERVISOR_PROMPT, task, specs, run)
            outcome = "ok"
        except StepLimitReached:
            outcome, answer = "step_limit", run.last_text
        finally:
            self._steps.labels(outcome=outcome).observe(run.steps)
        return answer, outcome

    async def _invoke(self, agent: str, prompt: str, task: str, tool_specs: list[dict[str, Any]], run: AgentRun) -> str:
        """One agent's loop: LLM turn, run the tools it asked for, repeat until it answers in text."""
        with self._tracer.start_as_current_span(f"invoke_agent {agent}") as span:
            set_attributes(span, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent})
            started = time.perf_counter()
            outcome = "error"
            try:
                messages: list[dict[str, Any]] = [{"role": "system", "content": prompt}, {"role": "user", "content": task}]
                while True:
                    run.take_step()
                    result = await self._llm.chat(
                        messages, model=self._model, feature="agent", user_tier=run.user_tier, team=run.team, tools=tool_specs or None
                    )
                    run.add(result)
                    if not result.tool_calls:
                        outcome = "ok"
                        return result.text
                    messages.append(_assistant_message(result))
                    for call in result.tool_calls:
                        output = await self._execute(agent, call, run)
                        messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
            except StepLimitReached:
                outcome = "step_limit"
                raise
            except LLMError as exc:
                # The span's context manager records the exception event and ERROR status.
                set_attributes(span, {"error.type": exc.error_type})
                raise
            finally:
                self._duration.labels(gen_ai_agent_name=agent).observe(time.perf_counter() - started)
                set_attributes(span, {"app.agent.steps": run.steps, "app.agent.outcome": outcome})

    async def _execute(self, agent: str, call: ToolCall, run: AgentRun) -> str:
        """Run one tool call (a real tool, or a delegation to a worker) in its own span."""
        with self._tracer.start_as_current_span(f"execute_tool {call.name}") as span:
            set_attributes(
                span,
                {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name, "gen_ai.tool.call.id": call.id, "gen_ai.tool.type": "function"},
            )
            if call.name.startswith("ask_") and call.name[4:] in WORKERS and agent == "supervisor":
                return await self._delegate(WORKERS[call.name[4:]], call, run)
            tool = self._tools.get(call.name)
            outcome = "ok"
            try:
                if tool is None or call.name not in _worker_tools(agent):
                    raise ToolError(f"unknown tool {call.name!r}")
                output = await self._run_tool(tool, call.arguments)
            except ToolError as exc:
                outcome, output = "error", f"error: {exc}"
                set_attributes(span, {"error.type": "ToolError"})
                span.set_status(Status(StatusCode.ERROR, "ToolError"))
                # Caught here (the model gets the error as the tool's output), so the span's
                # context manager never sees it: record the `exception` event ourselves.
                span.record_exception(exc, escaped=False)
            run.tool_calls.append({"agent": agent, "tool": call.name, "outcome": outcome})
            if call.name in TOOL_SPECS:  # the metric's label set is the contract's tools only
                self._tool_calls.labels(gen_ai_tool_name=call.name, outcome=outcome).inc()
            # A failed tool call is handled (the run goes on): WARNING, never ERROR (log_levels).
            (_log.warning if outcome == "error" else _log.info)("tool call", agent=agent, tool=call.name, outcome=outcome)
            return output

    async def _run_tool(self, tool: Tool, arguments: str) -> str:
        if self._mcp is None:
            return tool.call(arguments)
        return await self._mcp.call(tool.name, {tool.param: tool.argument(arguments)})

    async def _delegate(self, worker: _Worker, call: ToolCall, run: AgentRun) -> str:
        try:
            task = Tool(call.name, "task", lambda t: t).call(call.arguments)
        except ToolError as exc:
            run.tool_calls.append({"agent": "supervisor", "tool": call.name, "outcome": "error"})
            return f"error: {exc}"
        if worker.name == "writer" and run.notes:
            task = f"{task}\n\nNotes from the team:\n" + "\n".join(run.notes)
        try:
            report = await self._invoke(worker.name, worker.prompt, task, [TOOL_SPECS[t] for t in worker.tools], run)
        except StepLimitReached:
            run.tool_calls.append({"agent": "supervisor", "tool": call.name, "outcome": "step_limit"})
            raise
        run.tool_calls.append({"agent": "supervisor", "tool": call.name, "outcome": "ok"})
        run.notes.append(f"{worker.name}: {report}")
        return report


def _worker_tools(agent: str) -> tuple[str, ...]:
    worker = WORKERS.get(agent)
    return worker.tools if worker else ()


def _assistant_message(result: ChatResult) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": result.text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in result.tool_calls
        ],
    }
